"""Every table model, imported so that the metadata (and Alembic) knows them all."""

from app.offices.models import Office

__all__ = ["Office"]
