"""Database engine, sessions and the column types every model shares.

SQLite is the embedded default and PostgreSQL the production database; the same
models, migrations and tests run on both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from app.core.config import get_settings
from app.core.errors import RETRY_SOON, DatabaseBusy
from app.core.gate import lock_deadline

# Stable constraint names, so that migrations can drop and alter them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware in Python and stored as UTC.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as
    UTC and given their zone back on the way out. Naive values are refused rather than
    guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: timestamps must carry an offset")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current instant, timezone-aware."""
    return datetime.now(UTC)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    busy_ms = get_settings().db_lock_timeout_ms
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers go on while one writer commits; the work queue reads a lot.
    cursor.execute("PRAGMA journal_mode=WAL")
    # Wait for a competing writer instead of failing at once with "database is locked".
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    # Safe with WAL (a crash may lose the last commits, never corrupt) and much faster.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin(conn: Any) -> None:
    # A deferred BEGIN lets two writers both read, then one fails to upgrade its lock
    # (SQLITE_BUSY, which busy_timeout cannot cure). Transactions that will write take
    # the write lock at BEGIN, so they queue instead; readers stay deferred (WAL never
    # blocks them).
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# Execution option marking a connection whose transactions will write.
WRITE_OPTION = "infodesk_writes"


def make_engine(url: str, *, echo: bool = False, timeouts: bool = True) -> Engine:
    """An engine for ``url`` configured for the service's needs on SQLite or PostgreSQL;
    ``timeouts=False`` for migrations, whose statements may rightly take long."""
    settings = get_settings()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        in_memory = database in ("", ":memory:")
        if not in_memory:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            # Statement parameters carry personal data; keep them out of errors and logs.
            hide_parameters=True,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.db_lock_timeout_ms / 1000,
            },
            poolclass=StaticPool if in_memory else None,
        )
        event.listen(engine, "connect", _configure_sqlite)

        # Let SQLAlchemy, not pysqlite, emit BEGIN so that it can be IMMEDIATE.
        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        event.listen(engine, "begin", _begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    options = ""
    if timeouts:
        # Server-side limits, so that a held lock or a runaway query frees the connection:
        # the request gets a 503 with Retry-After rather than waiting for ever.
        options = (
            f"-c lock_timeout={settings.db_lock_timeout_ms} "
            f"-c statement_timeout={settings.db_statement_timeout_ms}"
        )
    return create_engine(
        parsed,
        echo=echo,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={"options": options} if options else {},
    )


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    return make_engine(get_settings().database_url)


def writer(engine: Engine) -> Engine:
    """``engine`` for a transaction that will write (takes SQLite's lock at BEGIN)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def session_factory() -> Session:
    """A session of its own, for work outside a request's transaction (caches, CLI)."""
    return Session(get_engine(), expire_on_commit=False)


def insert_or_ignore(
    session: Session,
    table: Table,
    values: dict[str, Any],
    conflict_columns: Sequence[str],
) -> bool:
    """``INSERT ... ON CONFLICT (conflict_columns) DO NOTHING`` on SQLite or PostgreSQL;
    whether the row was inserted. On PostgreSQL a racing insert of the same key waits for
    the other transaction, then yields (or goes ahead if it rolled back). Other integrity
    errors (a foreign key) still raise ``IntegrityError``."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        module.insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(*table.primary_key.columns)
    )
    return session.execute(statement).first() is not None


def increment_counter(session: Session, table: Table, keys: dict[str, Any]) -> int:
    """The next value of the counter row ``keys`` of ``table`` (its ``last_value``): one
    upsert creates the row at 1 or advances it, and keeps it locked until the transaction
    ends (PostgreSQL; SQLite writers hold the database lock), so that numbers are gap-free
    and a rollback takes its increment with it. Never ``max() + 1``."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        module.insert(table)
        .values(**keys, last_value=1)
        .on_conflict_do_update(
            index_elements=list(keys), set_={"last_value": table.c.last_value + 1}
        )
        .returning(table.c.last_value)
    )
    return int(session.execute(statement).scalar_one())


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# SQLite admits one writer at a time. Requests of this process that will write queue on
# this lock instead of in SQLite's busy handler, which sleeps in growing steps (up to
# 100 ms) and so leaves the database idle while 32 writers wait. Measured with
# `python -m bench.bench_survey` (SQLite, 32 connections): survey submissions went from
# 451 req/s, p99 876 ms, to 540 req/s, p99 88 ms. Other processes still meet the busy
# timeout.
_SQLITE_WRITER = threading.Lock()


def get_session(request: Request) -> Iterator[Session]:
    """A session for one request: committed when the endpoint succeeds, else rolled back."""
    engine = get_engine()
    # A request that waited at a row gate (app.core.gate) may wait only the rest of its
    # lock budget for the database.
    deadline = lock_deadline(request)
    if request.method in _READ_METHODS:
        yield from _request_session(engine)
    elif engine.dialect.name == "sqlite":
        wait = get_settings().db_lock_timeout_ms / 1000
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
        if wait <= 0 or not _SQLITE_WRITER.acquire(timeout=wait):
            raise DatabaseBusy("the database is busy; try again shortly", headers=RETRY_SOON)
        try:
            yield from _request_session(writer(engine))
        finally:
            _SQLITE_WRITER.release()
    else:
        yield from _request_session(writer(engine), lock_deadline=deadline)


@contextmanager
def write_session() -> Iterator[Session]:
    """A short transaction of its own that writes, committed on leaving (for example to
    record a read while the request's own session only reads)."""
    engine = get_engine()
    lock = _SQLITE_WRITER if engine.dialect.name == "sqlite" else nullcontext()
    with lock:
        yield from _request_session(writer(engine))


def audit_session(request: Request, session: Session) -> AbstractContextManager[Session]:
    """Where a request records an audit entry: its own session, except a read on SQLite,
    whose session never takes the write lock (upgrading late can fail at once under
    concurrent writers): that gets a short transaction of its own, committed first."""
    if request.method in _READ_METHODS and session.get_bind().dialect.name == "sqlite":
        factory: Callable[[], AbstractContextManager[Session]] = request.app.state.write_session
        return factory()
    return nullcontext(session)


def _request_session(engine: Engine, lock_deadline: float | None = None) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        try:
            if lock_deadline is not None:
                remaining_ms = int((lock_deadline - time.monotonic()) * 1000)
                if remaining_ms <= 0:
                    raise DatabaseBusy(
                        "the database is busy; try again shortly", headers=RETRY_SOON
                    )
                # PostgreSQL: for this transaction only.
                session.connection().exec_driver_sql(f"SET LOCAL lock_timeout = {remaining_ms}")
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
