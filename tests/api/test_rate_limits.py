"""The public endpoints' rate limits: per address and per (ticket, address), so that no
one can use up the requester's own lookups; counts shared through Redis when several
processes serve. The Redis tests use the server on 127.0.0.1:6379 (skipped with the reason
when it is not there, unless INFODESK_REQUIRE_REAL_PARTS=1)."""

from __future__ import annotations

import os
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.errors import RateLimited
from app.core.ratelimit import LocalWindows, RateLimiter
from tests.api.test_inquiries import act, post
from tests.conftest import TokenFactory

REDIS = os.environ.get("INFODESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE = os.environ.get("INFODESK_REQUIRE_REAL_PARTS") == "1"
ESCALATE = {"unit_code": "P2", "reason": "Perlu penelitian", "message": "Tiket Anda"}


def _ticket(client: TestClient, auth: TokenFactory) -> str:
    iid = post(client, auth).json()["id"]
    escalated = act(client, auth, iid, "escalate", ESCALATE)
    assert escalated.status_code == 200, escalated.text
    return str(escalated.json()["ticket_number"])


def _from(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 40000))


def test_guesses_from_many_addresses_do_not_lock_the_requester_out(
    app: FastAPI, client: TestClient, auth: TokenFactory
) -> None:
    number = _ticket(client, auth)
    url = f"/v1/public/tickets/{number}"
    for n in range(40):
        guess = _from(app, f"10.0.{n // 250}.{n % 250 + 1}").get(
            url, params={"contact": f"x{n}@a.id"}
        )
        assert guess.status_code == 404, (n, guess.text)
    requester = _from(app, "192.0.2.7").get(url, params={"contact": "cut.nyak@example.com"})
    assert requester.status_code == 200, requester.text
    assert requester.json()["status"] == "escalated"


def test_one_address_is_limited_per_ticket_and_in_all(
    app: FastAPI, client: TestClient, auth: TokenFactory
) -> None:
    number = _ticket(client, auth)
    guesser = _from(app, "198.51.100.9")
    statuses = [
        guesser.get(f"/v1/public/tickets/{number}", params={"contact": f"x{n}@a.id"}).status_code
        for n in range(11)
    ]
    assert statuses == [404] * 10 + [429]
    refused = guesser.get(f"/v1/public/tickets/{number}", params={"contact": "x@a.id"})
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # Another address is not affected.
    other = _from(app, "198.51.100.10").get(
        f"/v1/public/tickets/{number}", params={"contact": "cut.nyak@example.com"}
    )
    assert other.status_code == 200


@pytest.fixture
def redis_url() -> str:
    limiter = RateLimiter(1, REDIS, prefix="probe-" + uuid.uuid4().hex)
    try:
        reachable = bool(limiter.storage.check())
    except Exception:
        reachable = False
    finally:
        limiter.close()
    if not reachable:
        reason = f"Redis not reachable at {REDIS}"
        if REQUIRE:
            pytest.fail(reason + " (INFODESK_REQUIRE_REAL_PARTS=1)")
        pytest.skip(reason + "; install redis-server to run this test")
    return REDIS


def test_processes_share_their_counts_through_redis(redis_url: str) -> None:
    prefix = "test-" + uuid.uuid4().hex
    first, second = RateLimiter(10, redis_url, prefix), RateLimiter(10, redis_url, prefix)
    try:
        for _ in range(5):
            first.hit("client", "203.0.113.5")
            second.hit("client", "203.0.113.5")
        with pytest.raises(RateLimited) as refused:
            first.hit("client", "203.0.113.5")
        assert 1 <= int(refused.value.extra["headers"]["Retry-After"]) <= 60
        # Another address has its own budget.
        second.hit("client", "203.0.113.6")
    finally:
        first.close()
        second.close()


def test_an_unreachable_store_lets_calls_pass() -> None:
    limiter = RateLimiter(1, "redis://127.0.0.1:9/0", prefix="down")
    try:
        for _ in range(3):
            limiter.hit("client", "203.0.113.7")
    finally:
        limiter.close()


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_local_window_moves_and_says_when_it_has_room() -> None:
    clock = _Clock()
    windows = LocalWindows(60.0, clock)
    key = ("client", "203.0.113.9")
    for second in range(3):
        clock.now = 1000.0 + second * 10
        assert windows.hit(key, 3) is None
    clock.now = 1030.0
    # Full: room again when the first call (at 1000) leaves the window, at 1060.
    assert windows.hit(key, 3) == pytest.approx(30.0)
    clock.now = 1060.0
    assert windows.hit(key, 3) is None
    # The refused call was not counted: the next room comes when the call at 1010 leaves.
    assert windows.hit(key, 3) == pytest.approx(10.0)
    # Another key has its own window.
    assert windows.hit(("client", "203.0.113.10"), 3) is None


def test_a_local_window_forgets_keys_a_window_after_their_last_call() -> None:
    clock = _Clock()
    windows = LocalWindows(60.0, clock)
    for n in range(1000):
        windows.hit(("survey:" + str(n), "203.0.113.9"), 5)
    assert len(windows) == 1000
    clock.now += 59.0
    windows.hit(("client", "203.0.113.9"), 5)
    assert len(windows) == 1001  # still within their windows
    clock.now += 2.0  # a window after the sweep was due: the survey keys are gone
    windows.hit(("client", "203.0.113.9"), 5)
    assert len(windows) == 1
