"""Running Alembic migrations from the service and its command line."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from alembic import command

_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def _alembic_dir() -> Path:
    for candidate in (_SOURCE_ROOT / "alembic", Path.cwd() / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise RuntimeError("alembic/ (the migrations) not found beside the app or in the cwd")


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic configuration for the service's migrations and ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(_alembic_dir()))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration's revision id."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    """Migrate the database at ``database_url`` (default: the configured one) to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str | None = None, revision: str = "base") -> None:
    """Migrate the database down to ``revision``."""
    command.downgrade(alembic_config(database_url), revision)


# Made by raw SQL in their migration and unknown to the models: full-text search's FTS5
# table (and the tables FTS5 keeps it in) on SQLite, its document columns and their GIN
# index on PostgreSQL.
UNMODELLED_TABLE_PREFIX = "search_fts"
UNMODELLED_COLUMNS = frozenset(
    {("search_entry", "document"), ("search_entry", "question_document")}
)
UNMODELLED_INDEXES = frozenset({"ix_search_entry_document"})


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Whether autogenerate compares ``obj`` (Alembic's ``include_object`` hook)."""
    if not reflected or compare_to is not None:
        return True
    if type_ == "table":
        return not (name or "").startswith(UNMODELLED_TABLE_PREFIX)
    if type_ == "column":
        table = getattr(getattr(obj, "table", None), "name", None)
        return (table, name) not in UNMODELLED_COLUMNS
    if type_ == "index":
        return name not in UNMODELLED_INDEXES
    return True
