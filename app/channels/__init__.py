"""The channels inquiries arrive by: email, web-chat and social-media direct messages."""
