"""Evaluation of the service (the standard's component 8): the satisfaction survey (IKM),
complaints, and the SLA and officer reports. Sits above ``inquiries``."""
