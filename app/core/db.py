"""Database engine, sessions and the column types every model shares.

SQLite is the embedded default and PostgreSQL the production database; the same
models, migrations and tests run on both.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Sequence
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager, nullcontext
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.compiler import Compiled
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.selectable import Select
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine
from starlette.concurrency import run_in_threadpool

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
T = TypeVar("T")


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

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name != "postgresql":
            return super().result_processor(dialect, coltype)
        # psycopg converts timestamptz itself; SQLAlchemy's wrapper around
        # process_result_value was two calls per value, five per row of the work queue.
        return self._on_postgresql

    @staticmethod
    def _on_postgresql(value: datetime | None) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # PostgreSQL's sessions are in UTC
            return value
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current instant, timezone-aware."""
    return datetime.now(UTC)


# Functions that SQLite triggers call, registered on every connection (the packages that
# own the triggers add theirs when their models are imported: app.search.models).
SQLITE_FUNCTIONS: dict[str, Callable[[str | None], object]] = {}


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    for name, function in SQLITE_FUNCTIONS.items():
        dbapi_connection.create_function(name, 1, function, deterministic=True)
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


# Execution option marking a connection whose transactions will write.
WRITE_OPTION = "infodesk_writes"
# Execution option with the instant (time.monotonic) by which a request that waited at a
# row gate (app.core.gate) must have its locks: the database waits only what is left.
DEADLINE_OPTION = "infodesk_lock_deadline"


def _lock_wait(conn: Any) -> float:
    """Seconds this transaction may wait for a lock; DatabaseBusy when none are left."""
    wait = get_settings().db_lock_timeout_ms / 1000
    deadline = conn.get_execution_options().get(DEADLINE_OPTION)
    if deadline is not None:
        wait = min(wait, deadline - time.monotonic())
    if wait <= 0:
        raise DatabaseBusy("the database is busy; try again shortly", headers=RETRY_SOON)
    return float(wait)


def _postgres_begin(conn: Any) -> None:
    # A gated request's transaction waits for row locks only what is left of its budget.
    if conn.get_execution_options().get(DEADLINE_OPTION) is not None:
        remaining_ms = max(1, int(_lock_wait(conn) * 1000))
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {remaining_ms}")


# Set in a pool entry's info while its connection holds the engine's writer lock.
_HOLDS_WRITER_LOCK = "infodesk_writer_lock"
# Each SQLite engine's writer lock (below).
_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def writer_lock(engine: Engine) -> threading.Lock | None:
    """The lock this process's writers to ``engine`` queue on (SQLite; None otherwise)."""
    return _WRITER_LOCKS.get(engine)


def _take_writer_lock(lock: threading.Lock, info: dict[str, Any] | None, wait: float) -> None:
    # The pool entry's own info outlives invalidation, so the lock is always given back;
    # a detached connection (none) never returns to the pool and does not take it.
    if info is not None and not info.get(_HOLDS_WRITER_LOCK):
        if not lock.acquire(timeout=wait):
            raise DatabaseBusy("the database is busy; try again shortly", headers=RETRY_SOON)
        info[_HOLDS_WRITER_LOCK] = True


def _sqlite_writer_lock(engine: Engine) -> None:
    """Queue this process's SQLite writers on a lock of the engine's own.

    SQLite admits one writer at a time. Transactions that will write take the lock just
    before ``BEGIN IMMEDIATE`` and give it back when their connection returns to the pool
    (after the commit or rollback), so that they queue here instead of in SQLite's busy
    handler, which sleeps in growing steps (up to 100 ms) and leaves the database idle
    while writers wait. Measured with `python -m bench.bench_survey` (SQLite, 32
    connections): survey submissions went from 451 req/s, p99 876 ms, to 540 req/s, p99
    88 ms. The wait is bounded (``INFODESK_DB_LOCK_TIMEOUT_MS``): then DatabaseBusy (503).
    Other processes still meet the busy timeout.
    """
    lock = threading.Lock()
    _WRITER_LOCKS[engine] = lock

    def begin(conn: Any) -> None:
        # A deferred BEGIN lets two writers both read, then one fails to upgrade its lock
        # (SQLITE_BUSY, which busy_timeout cannot cure). Transactions that will write
        # take the write lock at BEGIN, so they queue instead; readers stay deferred
        # (WAL never blocks them).
        if not conn.get_execution_options().get(WRITE_OPTION, False):
            conn.exec_driver_sql("BEGIN")
            return
        # The pool entry's own info outlives invalidation, so the lock is always given back;
        # a detached connection (none) never returns to the pool and does not take it.
        _take_writer_lock(lock, conn.connection.record_info, _lock_wait(conn))
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        if record.record_info.pop(_HOLDS_WRITER_LOCK, False):
            lock.release()

    event.listen(engine, "begin", begin)
    event.listen(engine, "checkin", checkin)


def _postgres_options() -> str:
    # Server-side limits, so that a held lock or a runaway query frees the connection:
    # the request gets a 503 with Retry-After rather than waiting for ever.
    # And UTC as the session's time zone, whatever the server's default: psycopg then
    # gives timestamps as datetime.UTC, which the UtcDateTime columns take as they are.
    settings = get_settings()
    return (
        f"-c lock_timeout={settings.db_lock_timeout_ms} "
        f"-c statement_timeout={settings.db_statement_timeout_ms} "
        "-c TimeZone=UTC"
    )


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
            # One open connection per request thread, kept: SQLAlchemy's default pool (5,
            # overflow 10) closed and reopened connections (PRAGMAs and all) under load.
            # `python -m bench.bench_survey`: server CPU per submission 1,449 -> 1,132 us.
            **(
                {}
                if in_memory
                else {
                    "pool_size": settings.request_threads,
                    "max_overflow": 0,
                    "pool_timeout": settings.db_pool_timeout_seconds,
                }
            ),
        )
        event.listen(engine, "connect", _configure_sqlite)

        # Let SQLAlchemy, not pysqlite, emit BEGIN so that it can be IMMEDIATE.
        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        _sqlite_writer_lock(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    options = _postgres_options() if timeouts else ""
    engine = create_engine(
        parsed,
        echo=echo,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={"options": options} if options else {},
    )
    event.listen(engine, "begin", _postgres_begin)
    return engine


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


@lru_cache(maxsize=8)
def _writer(engine: Engine) -> Engine:
    return writer(engine)


class SessionSlots:
    """How many request sessions may be open at once: as many as there are request
    threads, one pooled connection each.

    A request holds its connection, and on SQLite the writer lock, from its first
    statement until its transaction ends; and FastAPI validates the response of a
    synchronous endpoint in a request thread before the session's dependency commits.
    With more sessions open than threads, every thread could be taken by a request
    waiting for a connection, or for the lock, that a request waiting for a thread
    holds: nothing would move until the pool timeout, and each of them would get 503.
    With no more sessions than threads, a request that holds one always finds a thread.
    The wait for a slot is on the event loop, before the session exists, and is bounded
    by the pool timeout (then 503 ``database_busy`` with ``Retry-After``)."""

    def __init__(self, size: int, timeout: float) -> None:
        self.size = size
        self.timeout = timeout
        # The event loop served and its semaphore, made on the first request of a loop.
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def acquire(self) -> asyncio.Semaphore:
        """Wait for a slot; what to release it on."""
        loop = asyncio.get_running_loop()
        slots = self._slots
        if slots is None or slots[0] is not loop:  # a new event loop (tests run several)
            slots = self._slots = (loop, asyncio.Semaphore(self.size))
        free = slots[1]
        if not free.locked():
            await free.acquire()  # free: no wait, no timer
            return free
        try:
            async with asyncio.timeout(self.timeout):
                await free.acquire()
        except TimeoutError:
            raise DatabaseBusy(
                "the service is busy; try again shortly", headers=RETRY_SOON
            ) from None
        return free


@asynccontextmanager
async def request_session(request: Request) -> AsyncIterator[Session]:
    """A session for one request: committed when the block succeeds, else rolled back.

    The request first waits for a slot (``SessionSlots``). Opening a session does no
    I/O, so it is opened on the event loop; the database is first used by the endpoint
    (a synchronous one, in the thread pool), and the commit or rollback runs in the
    thread pool too, and only when a transaction was begun. ``get_session`` is the
    dependency; an endpoint that needs a session only on some of its paths opens one
    here, where it needs it."""
    slot = await request.app.state.session_slots.acquire()
    try:
        engine = get_engine()
        if request.method not in _READ_METHODS:
            engine = _writer(engine)
            deadline = lock_deadline(request)
            if deadline is not None:
                engine = engine.execution_options(**{DEADLINE_OPTION: deadline})
        session = Session(engine, expire_on_commit=False)
        try:
            yield session
        except BaseException:
            if session.in_transaction():
                await _end_in_thread(session, commit=False)
            else:
                session.close()
            raise
        if session.in_transaction():
            await _end_in_thread(session, commit=True)
        else:
            session.close()
    finally:
        slot.release()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session (``request_session``) as a dependency."""
    async with request_session(request) as session:
        yield session


async def _end_in_thread(session: Session, *, commit: bool) -> None:
    # Not on the request threads' limiter: they may all be taken by writers waiting for
    # the SQLite lock that this transaction holds until it ends (FastAPI runs a
    # dependency's exit the same way).
    await anyio.to_thread.run_sync(_end, session, commit, limiter=anyio.CapacityLimiter(1))


async def run_and_commit(session: Session, work: Callable[[], T]) -> T:
    """``work()``, then the commit of the request's transaction, in one call to the thread
    pool: for an ``async`` endpoint whose database work is short, one round trip to the
    pool instead of two (the endpoint's, then the session's commit), and on SQLite the
    writer lock is held for that one call only. When ``work`` raises, nothing is
    committed and the session's dependency rolls back, as for any endpoint."""

    def unit() -> T:
        result = work()
        session.commit()
        return result

    return await run_in_threadpool(unit)


class RawStatement:
    """One statement compiled once for ``engine``'s dialect, with its parameters'
    conversions, for ``run_raw``."""

    def __init__(self, statement: ClauseElement, engine: Engine, cache_key: Any = None) -> None:
        # With a cache key, as SQLAlchemy compiles for its cache: the parameters of a
        # statement of the same shape are then found by their place in the key.
        compiled: Compiled = statement.compile(dialect=engine.dialect, cache_key=cache_key)
        self.compiled = compiled
        self.sql = str(compiled)
        self.order = compiled.positiontup  # type: ignore[attr-defined]
        self.processors = {
            name: processor
            for name, bind in compiled.binds.items()  # type: ignore[attr-defined]
            # As the dialect adapts the type, as SQLAlchemy's own execution does.
            if (processor := bind.type.dialect_impl(engine.dialect).bind_processor(engine.dialect))
            is not None
        }

    def parameters(self, values: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        converted = {
            name: (processor(value) if (processor := self.processors.get(name)) else value)
            for name, value in (self.compiled.construct_params(values) or {}).items()
        }
        if self.order is not None:
            return tuple(converted[name] for name in self.order)
        return converted


class _CompiledRead(RawStatement):
    """A select compiled once per shape, with its columns' conversions and a row type that
    names them."""

    def __init__(self, statement: Select[Any], engine: Engine, key: Any) -> None:
        super().__init__(statement, engine, key)
        self.expanding = {
            name
            for name, bind in self.compiled.binds.items()  # type: ignore[attr-defined]
            if bind.expanding
        }
        columns = list(statement.selected_columns)
        self.row: Any = namedtuple("Row", [c.key for c in columns], rename=True)  # type: ignore[misc]
        self.conversions = [
            (i, processor)
            for i, c in enumerate(columns)
            # As the dialect adapts the type (SQLite's datetimes are text, for example).
            if (
                processor := c.type.dialect_impl(engine.dialect).result_processor(
                    engine.dialect, None
                )
            )
            is not None
        ]

    def statement(self, bound: Sequence[Any]) -> tuple[str, dict[str, Any] | tuple[Any, ...]]:
        """The SQL and its parameters for the values ``bound`` (the cache key's), as the
        driver takes them: by name, or in order where the dialect is positional (SQLite)."""
        values = self.compiled.construct_params(extracted_parameters=bound) or {}
        for name, processor in self.processors.items():
            if name in values:
                value = values[name]
                values[name] = (
                    [processor(v) for v in value] if name in self.expanding else processor(value)
                )
        if not self.expanding:
            if self.order is not None:
                return self.sql, tuple(values[name] for name in self.order)
            return self.sql, dict(values)
        # IN lists: one parameter per element, as SQLAlchemy's execution renders them.
        expanded = self.compiled._process_parameters_for_postcompile(values)  # type: ignore[attr-defined]
        if self.order is not None:
            return expanded.statement, tuple(expanded.positional_parameters)
        return expanded.statement, expanded.parameters

    def rows(self, fetched: list[tuple[Any, ...]]) -> list[Any]:
        make, conversions = self.row._make, self.conversions
        if not conversions:
            return [make(r) for r in fetched]
        out = []
        for r in fetched:
            values = list(r)
            for i, processor in conversions:
                values[i] = processor(values[i])
            out.append(make(values))
        return out


# Reads by the key of their shape (``compiled_read``), for each engine.
_READS: weakref.WeakKeyDictionary[Engine, dict[Any, _CompiledRead]] = weakref.WeakKeyDictionary()


def compiled_read(engine: Engine, statement: Select[Any]) -> tuple[_CompiledRead, Any] | None:
    """``statement`` compiled once per shape for ``engine`` (SQLAlchemy's cache key, as its
    own compiled cache does), with the key's parameters; None for a statement that has no
    cache key. A read built for each request then costs its cache key."""
    key = statement._generate_cache_key()
    if key is None:
        return None
    reads = _READS.get(engine)
    if reads is None:
        reads = _READS[engine] = {}
    read = reads.get(key.key)
    if read is None:
        if len(reads) > 500:
            reads.clear()
        read = reads[key.key] = _CompiledRead(statement, engine, key)
    return read, key.bindparams


# Reads sent recently, by the key their caller gave (``rows_at_once``'s ``same_as``):
# the compiled read, its SQL and its parameters as the driver takes them.
_SENT: weakref.WeakKeyDictionary[Engine, dict[Hashable, tuple[_CompiledRead, str, Any]]] = (
    weakref.WeakKeyDictionary()
)
_SENT_LIMIT = 1000


def _prepared_read(
    engine: Engine, statement: Select[Any] | Callable[[], Select[Any]], same_as: Hashable
) -> tuple[_CompiledRead, str, Any] | None:
    sent = _SENT.get(engine)
    if sent is None:
        sent = _SENT[engine] = {}
    if same_as is not None and (found := sent.get(same_as)) is not None:
        return found
    built = statement() if callable(statement) else statement
    compiled = compiled_read(engine, built)
    if compiled is None:
        return None
    read, bound = compiled
    prepared = (read, *read.statement(bound))
    if same_as is not None:
        if len(sent) >= _SENT_LIMIT:
            sent.clear()
        sent[same_as] = prepared
    return prepared


def read_in_session(session: Session, statements: Sequence[Select[Any]]) -> list[list[Any]]:
    """The rows of each of ``statements``, read in the session's transaction (flushed
    first) on its own connection, without SQLAlchemy's execution: rows with attributes
    named after the columns and the columns' own conversions, as ``rows_at_once`` gives
    them. On PostgreSQL the reads go in one pipeline: one round trip for all of them.
    A driver's error becomes SQLAlchemy's, so the usual problems (503) apply.

    Measured in-process (`python -m bench.inprocess assign`): an inquiry's detail read
    with four ``Session.execute`` calls cost about 1.6 ms of the 4.3-4.6 ms of CPU of an
    assign; docs/performance.md (*The detail in one round trip*)."""
    session.flush()
    connection = session.connection()
    dialect = connection.dialect
    reads = []
    for statement in statements:
        compiled = compiled_read(connection.engine, statement)
        if compiled is None:  # no cache key: SQLAlchemy's own execution
            return [list(session.execute(s)) for s in statements]
        read, bound = compiled
        reads.append((read, *read.statement(bound)))
    dbapi: Any = connection.connection.driver_connection
    pipeline = dbapi.pipeline() if dialect.name == "postgresql" else nullcontext()
    cursors: list[Any] = []
    sql = ""
    try:
        with pipeline:
            for _read, sql, parameters in reads:
                cursors.append(dbapi.cursor())
                cursors[-1].execute(sql, parameters)
        return [read.rows(c.fetchall()) for (read, _, _), c in zip(reads, cursors, strict=True)]
    except dialect.loaded_dbapi.Error as exc:
        if dialect.is_disconnect(exc, dbapi, cursors[-1] if cursors else None):
            connection.invalidate(exc)
        raise DBAPIError.instance(
            sql, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
        ) from exc
    finally:
        for cursor in cursors:
            cursor.close()


class RawWriter:
    """Runs single statements, each in a transaction of its own (``run_raw``), on the
    process's engine; each statement is compiled once per engine."""

    def __init__(self, engine: Callable[[], Engine] = lambda: get_engine()) -> None:
        self._engine = engine
        self._compiled: dict[tuple[Engine, ClauseElement], RawStatement] = {}
        # The event loop's connections (``first_at_once``): SQLite's one, PostgreSQL's
        # pool.
        self._own: tuple[Engine, Any] | None = None
        self._async_pool: Any = None

    def dialect_name(self) -> str:
        """The database's dialect: ``sqlite`` or ``postgresql``."""
        return self._engine().dialect.name

    def _statement(self, engine: Engine, statement: ClauseElement) -> RawStatement:
        compiled = self._compiled.get((engine, statement))
        if compiled is None:
            compiled = self._compiled[(engine, statement)] = RawStatement(statement, engine)
        return compiled

    def first(self, statement: ClauseElement, values: dict[str, Any]) -> Any:
        """The first row of ``statement``, committed; None (and rolled back) for none."""
        engine = self._engine()
        return run_raw(engine, self._statement(engine, statement), values)

    async def first_at_once(self, statement: ClauseElement, values: dict[str, Any]) -> Any:
        """``first`` on the event loop, when it needs no wait; None when it would wait,
        when the statement gives no row, or when it fails (``first`` then does the work
        in the thread pool, with the usual waits and errors).

        - SQLite (a file): when neither this process nor another one holds the write
          lock. The lock is only tried and the connection waits for no other process
          (busy_timeout 0), so the loop never waits on a lock.
        - PostgreSQL: on a small pool of its own of psycopg's asynchronous connections
          (``psycopg_pool``), in autocommit: the statement is its own transaction.

        Measured alone (one survey response recorded, SQLite, 375 runs, CPU): 112-140 us
        on the event loop, 261-279 us through ``run_in_threadpool``: the trip to the
        thread pool costs more than the write."""
        engine = self._engine()
        if engine.dialect.name == "postgresql":
            return await self._postgres_at_once(engine, statement, values)
        return self._sqlite_at_once(engine, statement, values)

    def _sqlite_at_once(
        self, engine: Engine, statement: ClauseElement, values: dict[str, Any]
    ) -> Any:
        lock = writer_lock(engine)
        if lock is None or engine.url.database in (None, "", ":memory:"):
            return None
        if not lock.acquire(blocking=False):
            return None
        try:
            connection = self._sqlite_connection(engine)
            try:
                connection.execute("BEGIN IMMEDIATE")
            except engine.dialect.loaded_dbapi.OperationalError:
                return None  # another process writes
            try:
                compiled = self._statement(engine, statement)
                row = connection.execute(compiled.sql, compiled.parameters(values)).fetchone()
                connection.execute("COMMIT" if row is not None else "ROLLBACK")
                return row
            except Exception:
                self._close_sqlite()  # the thread pool's path does it again, and reports
                return None
        finally:
            lock.release()

    def _sqlite_connection(self, engine: Engine) -> Any:
        if self._own is not None and self._own[0] is engine:
            return self._own[1]
        self._close_sqlite()
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        # Any thread may close it (the application's shutdown runs where it likes).
        connection = engine.dialect.connect(*cargs, **{**cparams, "check_same_thread": False})
        _configure_sqlite(connection, None)
        connection.isolation_level = None  # BEGIN is ours
        connection.execute("PRAGMA busy_timeout=0")
        self._own = (engine, connection)
        return connection

    def _close_sqlite(self) -> None:
        own, self._own = self._own, None
        if own is not None:
            own[1].close()

    async def _postgres_pool(self, engine: Engine) -> Any:
        from psycopg_pool import AsyncConnectionPool

        if self._async_pool is None:
            _cargs, cparams = engine.dialect.create_connect_args(engine.url)
            self._async_pool = AsyncConnectionPool(
                kwargs={**cparams, "autocommit": True, "options": _postgres_options()},
                min_size=1,
                # As many as the engine keeps open: a burst of writes queues here
                # (without blocking the loop) instead of going to the thread pool.
                max_size=get_settings().db_pool_size,
                timeout=get_settings().db_pool_timeout_seconds,
                open=False,
            )
            await self._async_pool.open()
        return self._async_pool

    @asynccontextmanager
    async def postgres(self) -> AsyncIterator[Any]:
        """One of the event loop's PostgreSQL connections (psycopg's ``AsyncConnection``,
        autocommit: each statement is its own transaction unless the caller opens one
        with ``connection.transaction()``); None on any other database."""
        engine = self._engine()
        if engine.dialect.name != "postgresql":
            yield None
            return
        pool = await self._postgres_pool(engine)
        async with pool.connection() as connection:
            yield connection

    async def rows_at_once(
        self, statement: Select[Any] | Callable[[], Select[Any]], *, same_as: Hashable = None
    ) -> list[Any] | None:
        """The rows of a read on one of the event loop's PostgreSQL connections, with
        attributes named after the columns and the columns' own conversions (as
        SQLAlchemy gives them); None on any other database, and when the read fails:
        the caller then reads through its session, where the failure is reported.
        The statement is compiled once per shape (``compiled_read``). ``same_as``: a key
        naming everything ``statement`` (then a function that builds it) depends on; a
        read with the key of a recent one is sent as that one was, without building the
        statement or its cache key again."""
        engine = self._engine()
        if engine.dialect.name != "postgresql":
            return None
        prepared = _prepared_read(engine, statement, same_as)
        if prepared is None:
            return None
        read, sql, parameters = prepared
        try:
            async with self.postgres() as connection, connection.cursor() as cursor:
                await cursor.execute(sql, parameters)
                return read.rows(await cursor.fetchall())
        except Exception:
            return None

    async def _postgres_at_once(
        self, engine: Engine, statement: ClauseElement, values: dict[str, Any]
    ) -> Any:
        compiled = self._statement(engine, statement)
        try:
            async with self.postgres() as connection:
                cursor = await connection.execute(compiled.sql, compiled.parameters(values))
                return await cursor.fetchone()
        except Exception:
            # The thread pool's path runs it again and reports the error; if the statement
            # ran before the connection failed, the database refuses the repeat.
            return None

    async def aclose(self) -> None:
        """Close the event loop's connections (new ones are made when needed)."""
        self._close_sqlite()
        pool, self._async_pool = self._async_pool, None
        if pool is not None:
            await pool.close()


def run_raw(engine: Engine, statement: RawStatement, values: dict[str, Any]) -> Any:
    """The first row of ``statement`` run with ``values`` in a transaction of its own on a
    pooled DBAPI connection, committed (None and rolled back when it gives no row).

    For a write served in bursts (survey submissions): SQLAlchemy's ``Connection`` costs
    twice the database work there. Measured alone (one INSERT ... SELECT and its commit,
    SQLite, 1,500 runs, CPU): 195 us through ``Connection.execute``, 93 us here. The
    pool, SQLite's writer lock, the connections' timeouts and the error mapping (a
    driver error becomes SQLAlchemy's, so the usual 503 problems apply) stay the same."""
    fairy = engine.raw_connection()
    cursor = None
    try:
        lock = _WRITER_LOCKS.get(engine)
        if lock is not None:
            _take_writer_lock(lock, fairy.record_info, get_settings().db_lock_timeout_ms / 1000)
        cursor = fairy.cursor()
        if lock is not None:
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(statement.sql, statement.parameters(values))
        row = cursor.fetchone()
        if row is None:
            fairy.rollback()
            return None
        fairy.commit()
        return row
    except engine.dialect.loaded_dbapi.Error as exc:
        if engine.dialect.is_disconnect(exc, fairy.dbapi_connection, cursor):
            fairy.invalidate(exc)
        else:
            fairy.rollback()
        raise DBAPIError.instance(
            statement.sql,
            None,
            exc,
            engine.dialect.loaded_dbapi.Error,
            hide_parameters=True,
            dialect=engine.dialect,
        ) from exc
    except BaseException:
        fairy.rollback()
        raise
    finally:
        if cursor is not None:
            cursor.close()
        fairy.close()  # back to the pool, which gives back the writer lock


def _end(session: Session, commit: bool) -> None:
    with session:
        if commit:
            session.commit()
        else:
            session.rollback()


@contextmanager
def write_session() -> Iterator[Session]:
    """A short transaction of its own that writes, committed on leaving (for example to
    record a read while the request's own session only reads)."""
    yield from _request_session(writer(get_engine()))


def audit_session(request: Request, session: Session) -> AbstractContextManager[Session]:
    """Where a request records an audit entry: its own session, except a read on SQLite,
    whose session never takes the write lock (upgrading late can fail at once under
    concurrent writers): that gets a short transaction of its own, committed first."""
    if request.method in _READ_METHODS and session.get_bind().dialect.name == "sqlite":
        factory: Callable[[], AbstractContextManager[Session]] = request.app.state.write_session
        return factory()
    return nullcontext(session)


def _request_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
