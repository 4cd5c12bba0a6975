"""The committed OpenAPI document is the one the application serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.main import create_app

OPENAPI_FILE = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_committed_openapi_matches_the_app() -> None:
    served = create_app().openapi()
    committed = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    assert committed == served, "openapi/openapi.json is out of date: run `make openapi`"


def test_every_operation_is_documented() -> None:
    document = create_app().openapi()
    for path, method, operation in _operations(document):
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), f"{where} has no summary"
        assert operation.get("description"), f"{where} has no description"
        responses = operation["responses"]
        public = path in {"/healthz", "/readyz", "/metrics"} or path.startswith("/v1/public/")
        if not public:
            assert "401" in responses, f"{where} does not document 401"
            assert operation.get("security") == [{"bearerAuth": []}], where
        for status, response in responses.items():
            if status.startswith(("4", "5")) and status != "503":
                assert list(response.get("content", {})) == ["application/problem+json"], where
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            ref = body["schema"].get("$ref", "")
            schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else {}
            assert schema.get("examples") or body.get("examples"), f"{where}: no body example"
