"""The contract run of `make contract` inside the suite, on each test database: the same
command against a live server, failing on any finding not in tests/contract-baseline.json
(docs/api.md names each class there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATABASES, REQUIRE_POSTGRES, _postgres_problem

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("database", DATABASES)
def test_schemathesis_finds_nothing_new_against_a_live_server(database: str) -> None:
    if database == "postgresql":
        problem = _postgres_problem()
        if problem is not None:
            if REQUIRE_POSTGRES:
                pytest.fail(problem + " (INFODESK_REQUIRE_POSTGRES=1)")
            pytest.skip(problem)
    done = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "tests.contract", "--database", database],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # The summary and the failures, without the whole run's log.
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]
