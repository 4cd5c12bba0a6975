"""Test fixtures: one database per run for each of SQLite and PostgreSQL, built by the
real migrations; each API test runs inside a transaction that is rolled back.

``INFODESK_TEST_DATABASES`` chooses the databases (``sqlite,postgresql`` by default).
PostgreSQL is skipped with its reason when it cannot be reached, unless
``INFODESK_REQUIRE_POSTGRES=1`` (set by CI), which turns that into a failure.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

os.environ["INFODESK_ENV"] = "development"
os.environ["INFODESK_JWT_SECRET"] = "test-secret-kR7vQ2pL9sWx4Nz8Ht3Bm6Yc1Fg5Jd0Ua-Vq"
os.environ.pop("INFODESK_JWT_PUBLIC_KEY", None)
os.environ.pop("INFODESK_JWT_JWKS_URL", None)
os.environ.pop("INFODESK_JWT_ISSUER", None)
os.environ["INFODESK_LOG_LEVEL"] = "WARNING"
# Tests start the workers they need themselves; blobs and mail files go to a temporary folder.
os.environ["INFODESK_EMBEDDED_WORKER"] = "false"
os.environ["INFODESK_STORAGE_DIR"] = tempfile.mkdtemp(prefix="infodesk-test-storage-")
os.environ["INFODESK_MAIL_OUTBOX_DIR"] = tempfile.mkdtemp(prefix="infodesk-test-outbox-")

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from app.core import db as core_db
from app.core.config import get_settings
from app.core.migrations import upgrade
from app.core.security import create_token
from app.main import create_app
from app.offices.service import load_default_offices

# No example database in the work tree; runs are reproducible from the printed seed.
settings.register_profile("infodesk", database=None, deadline=None)
settings.load_profile("infodesk")

POSTGRES_ADMIN_URL = os.environ.get(
    "INFODESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATABASES = [
    d.strip() for d in os.environ.get("INFODESK_TEST_DATABASES", "sqlite,postgresql").split(",")
]
REQUIRE_POSTGRES = os.environ.get("INFODESK_REQUIRE_POSTGRES") == "1"


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(exc).__name__}"
    return None


class Databases:
    """Creates throw-away databases for one test run and drops them at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.created: list[str] = []

    def new(self, kind: str) -> str:
        name = f"infodesk_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        if kind == "sqlite":
            return f"sqlite:///{self.tmp / (name + '.db')}"
        problem = _postgres_problem()
        if problem is not None:
            if REQUIRE_POSTGRES:
                pytest.fail(problem + " (INFODESK_REQUIRE_POSTGRES=1)")
            pytest.skip(problem + "; set INFODESK_TEST_DATABASES=sqlite to run SQLite only")
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest, databases: Databases) -> Iterator[str]:
    """A migrated database with the default offices, shared by the run's tests."""
    url = databases.new(request.param)
    upgrade(url)
    previous = os.environ.get("INFODESK_DATABASE_URL")
    os.environ["INFODESK_DATABASE_URL"] = url
    get_settings.cache_clear()
    core_db.get_engine.cache_clear()
    with Session(core_db.get_engine()) as session:
        load_default_offices(session=session)
        session.commit()
    yield url
    core_db.get_engine().dispose()
    core_db.get_engine.cache_clear()
    if previous is None:
        os.environ.pop("INFODESK_DATABASE_URL", None)
    else:
        os.environ["INFODESK_DATABASE_URL"] = previous
    get_settings.cache_clear()


@pytest.fixture
def engine(database_url: str) -> Engine:
    return core_db.get_engine()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


class _SharedWriter:
    """The application's RawWriter inside the test's transaction: each statement in a
    savepoint of the shared session (the raw path itself runs in the live tests)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def dialect_name(self) -> str:
        return self.session.get_bind().dialect.name

    async def first_at_once(self, statement: Any, values: dict[str, Any]) -> Any:
        return None  # the test's transaction holds the database: this write would wait

    @asynccontextmanager
    async def postgres(self) -> AsyncIterator[None]:
        yield None  # no connection of the loop's own: the same wait

    async def rows_at_once(self, statement: Any, *, same_as: Any = None) -> None:
        return None  # reads go through the shared session, which sees its writes

    async def aclose(self) -> None:
        pass

    def first(self, statement: Any, values: dict[str, Any]) -> Any:
        nested = self.session.begin_nested()
        row = self.session.connection().execute(statement, values).first()
        if row is None:
            nested.rollback()
        else:
            nested.commit()
        return row


@pytest.fixture
def app(session: Session) -> Iterator[FastAPI]:
    application = create_app()

    def _test_session() -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    @contextmanager
    def _shared_session() -> Iterator[Session]:
        yield session

    @asynccontextmanager
    async def _request_session(_request: Any) -> AsyncIterator[Session]:
        with contextmanager(_test_session)() as shared:
            yield shared

    application.dependency_overrides[core_db.get_session] = _test_session
    application.state.session_factory = _shared_session
    application.state.write_session = _shared_session
    application.state.request_session = _request_session
    application.state.raw_writer = _SharedWriter(session)
    yield application
    application.dependency_overrides.clear()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


TokenFactory = Callable[..., dict[str, str]]


@pytest.fixture
def auth() -> TokenFactory:
    """Authorization headers for a caller with the given roles and office (and, for an
    integration, the channels it posts for)."""

    def _headers(
        *roles: str,
        office: str | None = "KANWIL-ACEH",
        sub: str = "u1",
        unit: str | None = None,
        channels: list[str] | None = None,
    ) -> dict[str, str]:
        token = create_token(
            get_settings(),
            sub=sub,
            roles=list(roles) or ["officer"],
            office=office,
            unit=unit,
            channels=channels,
        )
        return {"Authorization": f"Bearer {token}"}

    return _headers
