"""The foundation through HTTP: problems, request ids, health, docs, offices."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TokenFactory

PROBLEM = "application/problem+json"


def _assert_problem(response: object, status: int, code: str) -> dict[str, object]:
    from httpx2 import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["request_id"] == response.headers["x-request-id"]
    return dict(body)


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    assert ready.json()["migration"] == ready.json()["expected_migration"]


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "abcdef12-req"})
    assert given.headers["x-request-id"] == "abcdef12-req"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(made.headers["x-request-id"]) == 32


def test_metrics_count_requests_by_route(client: TestClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'infodesk_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "infodesk_http_request_duration_seconds_bucket" in text


def test_docs_use_local_assets(client: TestClient) -> None:
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = client.get(page).text
        assert f'src="/static/docs/{asset}"' in html
        assert "cdn" not in html.lower()
        assert "fonts.googleapis" not in html
        assert client.get(f"/static/docs/{asset}").status_code == 200


def test_unknown_route_and_wrong_method(client: TestClient, auth: TokenFactory) -> None:
    _assert_problem(client.get("/v1/nothing-here"), 404, "not_found")
    _assert_problem(client.delete("/v1/offices", headers=auth("admin")), 405, "method_not_allowed")


def test_wrong_method_names_every_method_of_the_path(client: TestClient) -> None:
    # GET and POST on one path are two routes; the 405 names both, whichever matched.
    for method in ("OPTIONS", "DELETE", "PUT"):
        response = client.request(method, "/v1/inquiries")
        _assert_problem(response, 405, "method_not_allowed")
        assert response.headers["Allow"] == "GET, POST"
    assert client.request("DELETE", "/v1/complaints").headers["Allow"] == "GET, POST"


def test_default_offices_listed(client: TestClient, auth: TokenFactory) -> None:
    response = client.get("/v1/offices", headers=auth("officer"))
    assert response.status_code == 200
    codes = [o["code"] for o in response.json()["items"]]
    for code in ("KANWIL-ACEH", "KPPBC-BANDA-ACEH", "KPPBC-LHOKSEUMAWE", "KPPBC-LANGSA"):
        assert code in codes
    assert "KPPBC-MEULABOH" in codes
    assert {o["timezone"] for o in response.json()["items"]} == {"Asia/Jakarta"}


def test_office_create_get_patch(client: TestClient, auth: TokenFactory) -> None:
    admin = auth("admin")
    body = {"code": "KPPBC-SABANG", "name": "KPPBC Sabang", "timezone": "Asia/Jakarta"}
    created = client.post("/v1/offices", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/offices/KPPBC-SABANG"
    _assert_problem(client.post("/v1/offices", json=body, headers=admin), 409, "office_exists")

    read = client.get("/v1/offices/KPPBC-SABANG", headers=auth("officer"))
    etag = read.headers["etag"]
    patched = client.patch(
        "/v1/offices/KPPBC-SABANG",
        json={"timezone": "Asia/Makassar", "email": "sabang@example.go.id"},
        headers={**admin, "If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["timezone"] == "Asia/Makassar"
    assert patched.headers["etag"] != etag
    stale = client.patch(
        "/v1/offices/KPPBC-SABANG", json={"name": "X"}, headers={**admin, "If-Match": etag}
    )
    _assert_problem(stale, 412, "office_changed")
    assert client.get("/v1/offices/KPPBC-SABANG", headers=admin).json()["name"] == "KPPBC Sabang"


def test_office_validation_points_at_fields(client: TestClient, auth: TokenFactory) -> None:
    bad = {"code": "lower case", "name": "", "timezone": "Mars/Olympus", "email": "nope"}
    body = _assert_problem(
        client.post("/v1/offices", json=bad, headers=auth("admin")), 422, "validation_failed"
    )
    pointers = {e["pointer"] for e in body["errors"]}  # type: ignore[attr-defined]
    assert pointers == {"#/code", "#/name", "#/timezone", "#/email"}
    null = client.patch("/v1/offices/KANWIL-ACEH", json={"name": None}, headers=auth("admin"))
    _assert_problem(null, 422, "validation_failed")


@pytest.mark.parametrize(
    ("email", "stored"),
    [
        (" Sabang@Example.GO.ID ", "Sabang@example.go.id"),
        ("sabang@mail.local", None),  # a reserved domain: the requester's email rule
        ("sabang@example.c0m0", "sabang@example.c0m0"),
        ("s\u00e4bang@example.go.id", None),  # ASCII only, like a requester's
    ],
)
def test_office_email_follows_the_requesters_email_rule(
    client: TestClient, auth: TokenFactory, email: str, stored: str | None
) -> None:
    response = client.patch("/v1/offices/KANWIL-ACEH", json={"email": email}, headers=auth("admin"))
    if stored is None:
        body = _assert_problem(response, 422, "validation_failed")
        assert [e["pointer"] for e in body["errors"]] == ["#/email"]  # type: ignore[index]
    else:
        assert response.status_code == 200, response.text
        assert response.json()["email"] == stored


def test_office_writes_need_admin(client: TestClient, auth: TokenFactory) -> None:
    body = {"code": "KPPBC-X", "name": "X"}
    _assert_problem(
        client.post("/v1/offices", json=body, headers=auth("officer")), 403, "forbidden"
    )
    _assert_problem(client.post("/v1/offices", json=body), 401, "unauthorized")
    _assert_problem(client.get("/v1/offices/NOPE", headers=auth("officer")), 404, "not_found")


def test_body_limits_and_media_type(client: TestClient, auth: TokenFactory) -> None:
    admin = auth("admin")
    huge = b'{"code": "KPPBC-X", "name": "' + b"x" * 2_000_000 + b'"}'
    response = client.post(
        "/v1/offices", content=huge, headers={**admin, "Content-Type": "application/json"}
    )
    _assert_problem(response, 413, "payload_too_large")
    form = client.post(
        "/v1/offices",
        content=b"code=X",
        headers={**admin, "Content-Type": "application/x-www-form-urlencoded"},
    )
    _assert_problem(form, 415, "unsupported_media_type")
    broken = client.post(
        "/v1/offices", content=b"{not json", headers={**admin, "Content-Type": "application/json"}
    )
    _assert_problem(broken, 422, "validation_failed")


def test_unexpected_errors_log_no_message(
    client: TestClient,
    auth: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(**_kwargs: object) -> None:
        raise ValueError("NIK 1171024108900001 of Cut Nyak Dhien")

    monkeypatch.setattr("app.offices.router.service.list_offices", broken)
    with caplog.at_level("ERROR", logger="infodesk.errors"):
        response = client.get("/v1/offices", headers=auth("officer"))
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "1171024108900001" not in response.text
    record = next(r for r in caplog.records if r.getMessage() == "unhandled error")
    assert record.error == "builtins.ValueError"  # type: ignore[attr-defined]
    assert "list_offices" in record.trace  # type: ignore[attr-defined]
    assert "1171024108900001" not in caplog.text


def test_a_500_carries_its_request_id_and_goes_no_further(
    client: TestClient,
    auth: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(**_kwargs: object) -> None:
        raise ValueError("NIK 1171024108900001 of Cut Nyak Dhien")

    monkeypatch.setattr("app.offices.router.service.list_offices", broken)
    with caplog.at_level("DEBUG"):
        response = client.get(
            "/v1/offices", headers={**auth("officer"), "X-Request-ID": "req-500-check"}
        )
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-500-check"
    assert response.json()["request_id"] == "req-500-check"
    # Logged once, by the service, without the message; no other logger repeats it.
    assert [r.getMessage() for r in caplog.records].count("unhandled error") == 1
    assert "1171024108900001" not in caplog.text


@pytest.mark.parametrize("override_id", ["99999999999999999999999", "2147483648", "0"])
def test_row_ids_out_of_range_are_refused_before_the_database(
    client: TestClient, auth: TokenFactory, override_id: str
) -> None:
    response = client.delete(
        f"/v1/offices/KANWIL-ACEH/calendar/overrides/{override_id}", headers=auth("admin")
    )
    _assert_problem(response, 422, "validation_failed")
    assert "x-request-id" in response.headers


def test_an_unreadable_body_is_a_documented_400(client: TestClient, auth: TokenFactory) -> None:
    response = client.post(
        "/v1/offices",
        content=b'{"code": "\xff"}',
        headers={**auth("admin"), "Content-Type": "application/json"},
    )
    _assert_problem(response, 400, "bad_request")
    documented = client.get("/openapi.json").json()["paths"]["/v1/offices"]["post"]["responses"]
    assert documented["400"]["x-problem-codes"] == ["bad_request"]
