"""infodesk: the information-request service of a DJBC customs office."""
