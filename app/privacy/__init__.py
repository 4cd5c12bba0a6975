"""Personal data of requesters (UU 27/2022): export and erasure on request, anonymisation
after the retention period, and the audit of identity-number reads."""
