"""Full-text search over answered inquiries, answer templates and knowledge articles."""
