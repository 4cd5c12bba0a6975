"""The committed OpenAPI document is the one the application serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from app.core.errors import DomainError
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


def _examples_and_schemas(document: dict[str, Any]) -> list[tuple[str, Any, dict[str, Any]]]:
    found = []
    for path, method, operation in _operations(document):
        bodies = [("request", operation.get("requestBody", {}))]
        bodies += [
            (status, response)
            for status, response in operation["responses"].items()
            if status.startswith("2")
        ]
        for where, body in bodies:
            content = body.get("content", {}).get("application/json")
            if content is None or "$ref" not in content.get("schema", {}):
                continue
            name = content["schema"]["$ref"].rsplit("/", 1)[-1]
            examples = document["components"]["schemas"][name].get("examples")
            assert examples, f"{method.upper()} {path} {where}: {name} has no example"
            found += [(f"{method.upper()} {path} {where}", e, content["schema"]) for e in examples]
    return found


def test_every_example_matches_its_schema() -> None:
    document = create_app().openapi()
    examples = _examples_and_schemas(document)
    assert len(examples) > 30
    for where, example, schema in examples:
        # $refs resolve inside a document that carries the components.
        root = {**schema, "components": document["components"]}
        errors = list(jsonschema.Draft202012Validator(root).iter_errors(example))
        assert not errors, f"{where}: {errors[0].message}"


def _domain_errors() -> set[type[DomainError]]:
    import importlib
    import pkgutil

    import app

    for module in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(module.name)
    found: set[type[DomainError]] = set()
    pending = [DomainError]
    while pending:
        for sub in pending.pop().__subclasses__():
            found.add(sub)
            pending.append(sub)
    return found


# The generic refusals every route may give (validation, authentication, rights, a row
# that does not exist, a busy database): documented by status, not listed per route.
GENERIC_CODES = {
    "not_found",
    "conflict",
    "precondition_failed",
    "validation_failed",
    "unauthorized",
    "forbidden",
    "rate_limited",
    "database_busy",
    "bad_request",
}


def test_every_domain_refusal_is_listed_on_a_route() -> None:
    document = create_app().openapi()
    listed = {
        code
        for _path, _method, operation in _operations(document)
        for response in operation["responses"].values()
        for code in response.get("x-problem-codes", [])
    }
    codes = {e.code for e in _domain_errors()} - GENERIC_CODES
    assert not codes - listed, f"refusals no route lists: {sorted(codes - listed)}"


def test_every_body_documents_the_refusals_before_the_endpoint() -> None:
    # An unreadable body (400), one over the limit (413) or of another media type (415).
    document = create_app().openapi()
    for path, method, operation in _operations(document):
        if "requestBody" in operation:
            for status in ("400", "413", "415"):
                assert status in operation["responses"], f"{method.upper()} {path}: {status}"


def test_links_lead_from_a_new_inquiry_to_every_action_on_it() -> None:
    document = create_app().openapi()
    operations = {op["operationId"]: (path, op) for path, _m, op in _operations(document)}
    links = document["paths"]["/v1/inquiries"]["post"]["responses"]["201"]["links"]
    targets = {operations[link["operationId"]][0] for link in links.values()}
    actions = {
        p for p, _m, _o in _operations(document) if p.startswith("/v1/inquiries/{inquiry_id}/")
    }
    for action in ("assign", "request-info", "answer", "escalate", "resolve", "close", "reopen"):
        assert f"/v1/inquiries/{{inquiry_id}}/{action}" in targets & actions
    for link in links.values():
        _path, operation = operations[link["operationId"]]
        names = {f"{p['in']}.{p['name']}" for p in operation.get("parameters", [])}
        assert set(link["parameters"]) <= names, link


def test_text_patterns_say_what_the_validators_refuse() -> None:
    import re

    from pydantic import TypeAdapter, ValidationError

    from app.core.schemas import (
        PLAIN_LINE_PATTERN,
        PLAIN_TEXT_PATTERN,
        PlainLine,
        PlainText,
    )

    samples = [
        "a",
        " a\\n",
        "a\\nb",
        "a\\tb",
        "\\x00",
        "a\\x00",
        "\\x85a\\x85",
        "a\\x7fb",
        "\\x1c a",
    ]
    for kind, pattern in ((PlainLine, PLAIN_LINE_PATTERN), (PlainText, PLAIN_TEXT_PATTERN)):
        adapter = TypeAdapter(kind)
        for raw in samples:
            text = raw.encode().decode("unicode_escape")
            try:
                adapter.validate_python(text)
                accepted = True
            except ValidationError:
                accepted = False
            assert accepted == bool(re.match(pattern, text)), (kind, raw)


def test_trimmed_length_patterns_count_as_the_validators_do() -> None:
    import re
    from itertools import product
    from typing import Annotated

    from pydantic import Field, TypeAdapter, ValidationError

    from app.core.schemas import (
        PLAIN_LINE_PATTERN,
        PLAIN_TEXT_PATTERN,
        PlainLine,
        PlainText,
        trimmed_length_pattern,
    )

    alphabet = ["a", " ", "\n", "\x01"]
    samples = ["".join(p) for n in range(7) for p in product(alphabet, repeat=n)]
    kinds = ((PlainLine, PLAIN_LINE_PATTERN), (PlainText, PLAIN_TEXT_PATTERN))
    for (kind, base), (least, most) in product(kinds, [(0, 3), (1, 1), (1, 4), (3, 5)]):
        adapter = TypeAdapter(Annotated[kind, Field(min_length=least, max_length=most)])
        pattern = re.compile(trimmed_length_pattern(base, least, most))
        for text in samples:
            try:
                adapter.validate_python(text)
                accepted = True
            except ValidationError:
                accepted = False
            assert accepted == bool(pattern.match(text)), (base, least, most, text)
