"""Property-based tests over the whole OpenAPI document: no 5xx, no response that breaks
the schema, no undocumented status or media type. Every operation in the document is
covered, so endpoints are tested as soon as they exist."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.core.security import Role
from app.main import create_app
from tests.conftest import TokenFactory

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@schemathesis.serializer("message/rfc822")
def _raw_mail(_ctx: schemathesis.SerializationContext, value: object) -> bytes:
    # Raw mail is bytes; generated strings are sent as UTF-8 (lone surrogates kept, so
    # that undecodable input reaches the parser too).
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


OPERATIONS = [
    (method.upper(), path)
    for path, item in create_app().openapi()["paths"].items()
    for method in item
]


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_its_schema(
    app: FastAPI, auth: TokenFactory, method: str, path: str
) -> None:
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)[path][method]
    # Every role at once, so that generated requests get past the rights checks and reach
    # the code behind them.
    everyone = auth(*Role, unit="P2")["Authorization"]

    @given(case=operation.as_strategy())
    @settings(max_examples=40, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        # Schemathesis fills the bearer scheme with random tokens; those would only ever
        # reach the 401 path, which tests/api/test_auth.py covers.
        headers = {**(case.headers or {}), "Authorization": everyone}
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()
