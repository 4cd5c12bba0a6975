"""Reusable answers: answer templates with placeholders, and the knowledge base."""
