"""Database tables of this package."""
