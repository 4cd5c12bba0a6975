"""The survey page in real Chromium on a phone-sized window, against a real uvicorn server
with its own SQLite database: the requester follows the link from the answer, fills in
the questionnaire, sees the thank-you page, and a second visit says it was answered."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from app.core.config import get_settings
from app.core.db import make_engine
from app.core.migrations import upgrade
from app.core.security import create_token
from app.offices.service import load_default_offices
from tests.api.test_inquiries import new_inquiry

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
REQUIRE_REAL_PARTS = os.environ.get("INFODESK_REQUIRE_REAL_PARTS") == "1"


def _need_chromium() -> None:
    if Path(CHROMIUM).exists() and shutil.which(CHROMIUM):
        return
    reason = f"Chromium not found at {CHROMIUM}"
    if REQUIRE_REAL_PARTS:
        pytest.fail(reason + " (INFODESK_REQUIRE_REAL_PARTS=1)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A migrated SQLite database with the default offices, served by uvicorn."""
    url = f"sqlite:///{tmp_path / 'survey-page.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_default_offices(session=session)
        session.commit()
    engine.dispose()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "INFODESK_DATABASE_URL": url,
        "INFODESK_PUBLIC_BASE_URL": base,
        "INFODESK_EMBEDDED_WORKER": "false",
    }
    command = [sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        command,
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the test server did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _survey_link(base: str) -> str:
    """Create and answer an inquiry through the API; the survey link the answer carries."""
    settings = get_settings()

    def headers(role: str) -> dict[str, str]:
        token = create_token(settings, sub="officer-1", roles=[role], office="KANWIL-ACEH")
        return {"Authorization": f"Bearer {token}"}

    with httpx.Client(base_url=base, timeout=10) as client:
        created = client.post(
            "/v1/inquiries", json=new_inquiry(received_at=None), headers=headers("integration")
        )
        assert created.status_code == 201, created.text
        iid = created.json()["id"]
        answered = client.post(
            f"/v1/inquiries/{iid}/answer",
            json={"message": "Silakan ajukan dokumen melalui portal."},
            headers=headers("officer"),
        )
        assert answered.status_code == 200, answered.text
        messages = client.get(f"/v1/inquiries/{iid}", headers=headers("officer")).json()
    answer = next(m for m in messages["messages"] if m["kind"] == "answer")
    found = re.search(re.escape(base) + r"/survey/[A-Za-z0-9_-]+", answer["body"])
    assert found is not None, answer["body"]
    return found.group(0)


def test_requester_fills_in_the_survey_on_a_phone(server: str) -> None:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    link = _survey_link(server)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                java_script_enabled=False,  # the page must work without script
                locale="id-ID",
            )
            page = context.new_page()
            page.goto(link)
            assert page.locator("#reference").inner_text().startswith("IQ-")
            assert "Cut Nyak" not in page.content()
            # Fits the phone's width: no sideways scrolling.
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            box = page.locator("#submit").bounding_box()
            assert box is not None
            assert box["width"] <= 390

            # The requester answers eight questions by tapping the labels, forgets one.
            for code in ("U1", "U2", "U3", "U4", "U6", "U7", "U8", "U9"):
                choice = "4" if code in ("U4", "U7") else "3"
                page.locator(f"label[for='{code}-{choice}']").tap()
            page.locator("#sex-P").check()
            page.select_option("#age_band", "30-39")
            page.select_option("#education", "D4/S1")
            page.select_option("#occupation", "wirausaha")
            page.fill("#suggestion", "Petugas ramah, jawaban jelas.")
            with page.expect_navigation():
                page.locator("#submit").tap()

            assert page.locator("#errors").is_visible()
            assert page.locator("#q-U5.error").is_visible()
            # What was chosen stays chosen.
            assert page.locator("#U7-4").is_checked()
            assert page.locator("#education").input_value() == "D4/S1"
            page.locator("label[for='U5-2']").tap()
            page.screenshot(path=str(ARTIFACTS / "survey-page-phone.png"), full_page=True)
            with page.expect_navigation():
                page.locator("#submit").tap()

            assert "Terima kasih" in page.locator("#status").inner_text()
            page.screenshot(path=str(ARTIFACTS / "survey-thanks-phone.png"), full_page=True)

            page.goto(link)
            assert "sudah diisi" in page.locator("#status").inner_text()
            assert page.locator("form").count() == 0
        finally:
            browser.close()

    survey = httpx.get(f"{server}/v1/public/surveys/{link.rsplit('/', 1)[1]}").json()
    assert survey["status"] == "answered"
