"""Races through the real session handling: one code makes one template, and parallel
edits of a template make consecutive versions, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.api.test_concurrency import _all_at_once, live_client, office  # noqa: F401
from tests.conftest import TokenFactory

PARALLEL = 10


@pytest.mark.slow
def test_one_code_one_template_and_consecutive_versions(
    live_client: TestClient,  # noqa: F811
    auth: TokenFactory,
    office: str,  # noqa: F811
) -> None:
    # Committed for real: in an office of its own, so that no other test lists it.
    code = f"race-{uuid.uuid4().hex[:8]}"
    admin = auth("admin", office=None)
    body = {"code": code, "title": "t", "body": "Halo {{nama}}.", "office_code": office}
    created = _all_at_once(
        [lambda: live_client.post("/v1/templates", json=body, headers=admin)] * PARALLEL
    )
    statuses = sorted(r.status_code for r in created)
    assert statuses == [201] + [409] * (PARALLEL - 1), [r.text for r in created]
    assert {r.json()["code"] for r in created if r.status_code == 409} == {"template_code_taken"}

    edits = _all_at_once(
        [
            (
                lambda i=i: live_client.patch(
                    f"/v1/templates/{code}", json={"body": f"Versi {i} {{{{nama}}}}"}, headers=admin
                )
            )
            for i in range(PARALLEL)
        ]
    )
    assert [r.status_code for r in edits] == [200] * PARALLEL, [r.text for r in edits]
    assert sorted(r.json()["version"] for r in edits) == list(range(2, PARALLEL + 2))
    versions = live_client.get(f"/v1/templates/{code}/versions", headers=admin).json()["items"]
    assert [v["version"] for v in versions] == list(range(1, PARALLEL + 2))
