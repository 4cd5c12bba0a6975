"""Inquiries: requests for information from the public."""
