"""The contract check: ``schemathesis run --checks all`` (examples, coverage, fuzzing and
stateful phases) against a live server on a fresh database.

    python -m tests.contract [--database sqlite|postgresql] [--max-examples N] [-- ARGS]

It migrates a new database (SQLite in a temporary folder, or a PostgreSQL database made
for the run and dropped after it), serves the application with uvicorn on a free loopback
port, mints one token holding every role and runs Schemathesis with
``tests/contract.toml``. The exit status is Schemathesis's: 0 when it finds nothing.
Arguments after ``--`` go to ``schemathesis run`` unchanged. See docs/api.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tests" / "contract.toml"
# The findings no schema can express, each with the class of docs/api.md it belongs to;
# anything else fails the run.
BASELINE = ROOT / "tests" / "contract-baseline.json"
POSTGRES_ADMIN_URL = os.environ.get(
    "INFODESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def fresh_database(kind: str, tmp: Path) -> Iterator[str]:
    """The URL of a new, empty database of ``kind``, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'contract.db'}"
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database {kind!r}: sqlite or postgresql")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"infodesk_contract_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def server_environment(database_url: str, tmp: Path) -> dict[str, str]:
    """The server's settings: development, a secret of the run's own, metrics behind a token
    (as the schema documents them), files in the temporary folder, no background worker,
    no practical limit on the public pages."""
    return {
        **os.environ,
        "INFODESK_ENV": "development",
        "INFODESK_DATABASE_URL": database_url,
        "INFODESK_JWT_SECRET": secrets.token_urlsafe(48),
        "INFODESK_METRICS_ACCESS": "token",
        "INFODESK_METRICS_TOKEN": secrets.token_urlsafe(48),
        "INFODESK_EMBEDDED_WORKER": "false",
        "INFODESK_STORAGE_DIR": str(tmp / "storage"),
        "INFODESK_MAIL_OUTBOX_DIR": str(tmp / "outbox"),
        "INFODESK_LOG_LEVEL": "ERROR",
        # The public pages' limit would answer most generated requests with 429 and leave
        # the code behind it untested; tests/api/test_rate_limits.py covers the limit.
        "INFODESK_PUBLIC_LOOKUPS_PER_MINUTE": "100000",
    }


def mint_token(env: dict[str, str]) -> str:
    """A token of the server's secret holding every role."""
    code = (
        "from app.core.config import get_settings\n"
        "from app.core.security import Role, create_token\n"
        # Every role at once, so that generated requests get past the rights checks and
        # reach the code behind them; a unit of the office, so that unit routes answer too.
        "print(create_token(get_settings(), sub='contract', roles=list(Role),"
        " office='KANWIL-ACEH', unit='P2'))\n"
    )
    done = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def run(
    database: str = "sqlite",
    max_examples: int | None = None,
    seed: int | None = None,
    extra: Sequence[str] = (),
    update_baseline: bool = False,
) -> int:
    """One contract run; Schemathesis's exit status. Sets this process's environment to
    the server's, so run it in a process of its own (``python -m tests.contract``)."""
    # The server helper of the benchmarks: migrate, serve on a free port, wait, stop.
    from bench.server import running_server

    with tempfile.TemporaryDirectory(prefix="infodesk-contract-") as name:
        tmp = Path(name)
        with fresh_database(database, tmp) as url:
            os.environ.update(server_environment(url, tmp))
            with running_server(url, log_level="ERROR") as (port, env):
                command = [
                    str(Path(sys.executable).with_name("schemathesis")),
                    "--config-file",
                    str(CONFIG),
                    "run",
                    f"http://127.0.0.1:{port}/openapi.json",
                    "--checks",
                    "all",
                    "--phases",
                    "examples,coverage,fuzzing,stateful",
                    "--baseline",
                    str(BASELINE),
                ]
                if update_baseline:
                    command.append("--baseline-update")
                if max_examples is not None:
                    command += ["--max-examples", str(max_examples)]
                if seed is not None:
                    command += ["--seed", str(seed)]
                command += list(extra)
                env = {
                    **env,
                    "PYTHONPATH": str(ROOT),
                    "INFODESK_CONTRACT_TOKEN": mint_token(env),
                    "INFODESK_CONTRACT_METRICS_TOKEN": env["INFODESK_METRICS_TOKEN"],
                }
                # Our own installed Schemathesis, with arguments of our own and the caller's.
                done = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603
                return done.returncode
    raise AssertionError("unreachable")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default=os.environ.get("INFODESK_CONTRACT_DATABASE", "sqlite"),
    )
    parser.add_argument("--max-examples", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--update-baseline",
        action="store_true",
        help="record this run's findings in tests/contract-baseline.json (then name their class)",
    )
    parser.add_argument("extra", nargs="*", help="arguments for schemathesis run, after --")
    args = parser.parse_args(argv)
    return run(args.database, args.max_examples, args.seed, args.extra, args.update_baseline)


if __name__ == "__main__":
    sys.exit(main())
