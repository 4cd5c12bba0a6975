"""The reports page in real Chromium against a real uvicorn server and SQLite database.

The data goes in through the HTTP API (intake, answer, the public survey endpoint); the
page is given a token once and must show the same figures as the JSON reports.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from app.core.config import get_settings
from app.core.migrations import upgrade
from app.core.security import create_token
from app.inquiries.models import Inquiry
from app.offices.service import load_default_offices

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REQUIRE = os.environ.get("INFODESK_REQUIRE_REAL_PARTS") == "1"
OFFICE = "KANWIL-ACEH"
WIB = ZoneInfo("Asia/Jakarta")


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A migrated SQLite database and uvicorn serving it on a free port."""
    problem = _missing()
    if problem:
        if REQUIRE:
            pytest.fail(problem + " (INFODESK_REQUIRE_REAL_PARTS=1)")
        pytest.skip(problem)
    url = f"sqlite:///{tmp_path_factory.mktemp('reports-page') / 'page.db'}"
    upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:
        load_default_offices(session=session)
        session.commit()
    engine.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "INFODESK_DATABASE_URL": url, "INFODESK_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("uvicorn did not start")
            time.sleep(0.2)
        yield base, url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _token(*roles: str, sub: str = "u1", office: str | None = OFFICE) -> str:
    return create_token(get_settings(), sub=sub, roles=list(roles), office=office)


def _fill(base: str, url: str) -> None:
    """Five inquiries answered by two officers; three surveys submitted."""
    gateway = {"Authorization": f"Bearer {_token('integration', sub='gateway')}"}
    ids = []
    with httpx.Client(base_url=base, timeout=10) as http:
        for i in range(5):
            received = datetime.now(WIB) - timedelta(minutes=30 + i)
            created = http.post(
                "/v1/inquiries",
                headers=gateway,
                json={
                    "office_code": OFFICE,
                    "channel": "webchat",
                    "channel_message_id": uuid.uuid4().hex,
                    "received_at": received.isoformat(),
                    "requester": {"name": "Cut Meutia", "email": "cut@example.com"},
                    "message": "Bagaimana cara mengurus barang kiriman?",
                },
            )
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        for i, iid in enumerate(ids[:4]):
            officer = ("officer-ani", "officer-budi")[i % 2]
            headers = {"Authorization": f"Bearer {_token('officer', sub=officer)}"}
            answered = http.post(
                f"/v1/inquiries/{iid}/answer", headers=headers, json={"message": "Jawaban."}
            )
            assert answered.status_code == 200, answered.text
        engine = create_engine(url)
        with Session(engine) as session:
            codes = session.exec(
                select(Inquiry.survey_code).where(Inquiry.first_response_at.is_not(None))  # type: ignore[union-attr]
            ).all()
        engine.dispose()
        for code, rating in zip(codes[:3], (4, 3, 4), strict=True):
            answers = {f"U{i}": rating for i in range(1, 10)}
            sent = http.post(f"/v1/public/surveys/{code}", json={"answers": answers})
            assert sent.status_code == 201, sent.text


def test_the_page_shows_the_json_figures(server: tuple[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, url = server
    _fill(base, url)
    today = datetime.now(WIB).date()
    period = {"from": f"{today.year}-01-01", "to": str(today)}
    token = _token("head", sub="kepala")
    headers = {"Authorization": f"Bearer {token}"}
    ikm = httpx.get(f"{base}/v1/reports/ikm", params=period, headers=headers).json()
    sla = httpx.get(
        f"{base}/v1/reports/sla", params={**period, "group_by": "month"}, headers=headers
    ).json()
    officers = httpx.get(f"{base}/v1/reports/officers", params=period, headers=headers).json()
    assert ikm["respondents"] == 3
    assert len(officers["rows"]) == 2

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(
            timezone_id="Asia/Jakarta", viewport={"width": 1280, "height": 1000}
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/reports?from={period['from']}&to={period['to']}")
        expect(page.locator("#signin")).to_be_visible()
        page.fill("#token", token)
        page.click("#token-form button[type=submit]")
        expect(page.locator("body[data-loaded=true]")).to_have_count(1)

        # The token is kept for the tab only, never in localStorage or a cookie.
        assert page.evaluate("sessionStorage.getItem('infodesk.reports.token')") == token
        assert page.evaluate("localStorage.length") == 0
        assert context.cookies() == []

        expect(page.get_by_test_id("ikm-value")).to_have_text(f"{ikm['ikm']:.2f}")
        expect(page.get_by_test_id("ikm-grade")).to_have_text(ikm["grade"])
        expect(page.get_by_test_id("ikm-label")).to_have_text(ikm["label"])
        expect(page.get_by_test_id("ikm-respondents")).to_have_text(str(ikm["respondents"]))
        expect(page.get_by_test_id("ikm-sample")).to_have_text(str(ikm["sample_needed"]))

        month = next(r for r in sla["rows"] if r["received"])
        row = page.locator(f"#sla-table tr[data-key='{month['key']}'] td")
        expect(row.nth(1)).to_have_text(str(month["received"]))
        expect(row.nth(7)).to_have_text(f"{month['met_rate'] * 100:.1f}%")
        bars = page.locator("#sla-chart svg rect.bar")
        expect(bars).to_have_count(sum(1 for r in sla["rows"] if r["met_rate"] is not None))
        bar = page.locator(f"#sla-chart rect[data-key='{month['key']}']")
        assert float(bar.get_attribute("data-rate") or "nan") == month["met_rate"]

        table = page.locator("#officers tbody tr")
        expect(table).to_have_count(len(officers["rows"]))
        for expected in officers["rows"]:
            cells = page.locator(f"#officers tr[data-officer='{expected['officer']}'] td")
            expect(cells.nth(1)).to_have_text(str(expected["responded"]))
            expect(cells.nth(6)).to_have_text(f"{expected['met_rate'] * 100:.1f}%")
            median = expected["first_response_working_seconds"]["median"]
            assert float(cells.nth(7).get_attribute("data-value") or "nan") == median
            ikm_text = "\u2013" if expected["ikm"] is None else f"{expected['ikm']:.2f}"
            expect(cells.nth(9)).to_have_text(ikm_text)
            expect(cells.nth(11)).to_have_text(str(expected["complaints"]))

        page.screenshot(path=str(ARTIFACTS / "reports-page.png"), full_page=True)

        # A reload keeps the token (same tab); a refused token asks again.
        page.reload()
        expect(page.locator("body[data-loaded=true]")).to_have_count(1)
        page.evaluate("sessionStorage.setItem('infodesk.reports.token', 'not-a-token')")
        page.reload()
        expect(page.locator("#signin")).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('infodesk.reports.token')") is None
        browser.close()
    # The 401 of the refused token is the only error the browser may log.
    assert all("401" in e for e in errors), errors
