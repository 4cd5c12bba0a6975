"""Channels: email in (gateway and IMAP), and the delivery of the outbox by SMTP and
signed webhooks, through the worker. Sits above ``inquiries``."""
