"""Migrations make the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import app.models  # noqa: F401
from app.core.db import make_engine, metadata
from app.core.migrations import downgrade, head_revision, include_object, upgrade
from tests.conftest import DATABASES, Databases


@pytest.mark.parametrize("kind", DATABASES)
def test_upgrade_has_no_drift_and_downgrades_to_base(databases: Databases, kind: str) -> None:
    url = databases.new(kind)
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    "include_object": include_object,
                },
            )
            assert context.get_current_revision() == head_revision()
            diff = compare_metadata(context, metadata)
            assert diff == [], f"models and migrations disagree: {diff}"
            tables = set(inspect(connection).get_table_names())
        assert set(metadata.tables) <= tables
    finally:
        engine.dispose()

    downgrade(url, "base")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(url)
