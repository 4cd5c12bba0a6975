"""The satisfaction survey through HTTP, JSON and HTML form, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlmodel import Session, select

from app.core.db import utcnow
from app.evaluation.models import SurveyResponse
from app.evaluation.survey import ELEMENT_CODES
from app.inquiries.models import Inquiry, OutboxMessage
from app.main import create_app
from tests.api.test_concurrency import _all_at_once
from tests.api.test_inquiries import new_inquiry
from tests.conftest import TokenFactory

OFFICE = "KANWIL-ACEH"
ANSWERS = {code: (4 if code == "U4" else 3) for code in ELEMENT_CODES}


def open_survey(
    client: TestClient, auth: TokenFactory, session: Session | None = None, answer: bool = True
) -> str:
    """A new inquiry (answered unless ``answer`` is false); its survey code."""
    body = new_inquiry(received_at=None, channel_message_id=f"ig-{uuid.uuid4().hex}")
    created = client.post("/v1/inquiries", json=body, headers=auth("integration"))
    assert created.status_code == 201, created.text
    iid = created.json()["id"]
    if answer:
        answered = client.post(
            f"/v1/inquiries/{iid}/answer", json={"message": "Jawaban"}, headers=auth("officer")
        )
        assert answered.status_code == 200, answered.text
    assert session is not None
    inquiry = session.get(Inquiry, uuid.UUID(iid))
    assert inquiry is not None
    return inquiry.survey_code


def submit(client: TestClient, code: str, **overrides: Any) -> Any:
    body: dict[str, Any] = {"answers": dict(ANSWERS), "respondent": None, "suggestion": None}
    body.update(overrides)
    return client.post(f"/v1/public/surveys/{code}", json=body)


def test_answer_link_opens_the_survey_and_one_response_is_kept(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    code = open_survey(client, auth, session)
    # The link the requester got in the answer is the one that works.
    outbox = session.exec(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()  # type: ignore[union-attr]
    assert outbox is not None
    assert f"/survey/{code}" in outbox.body

    shown = client.get(f"/v1/public/surveys/{code}")
    assert shown.status_code == 200, shown.text
    survey = shown.json()
    assert survey["status"] == "open"
    assert survey["office_code"] == OFFICE
    assert survey["reference"].startswith("IQ-")
    assert [e["code"] for e in survey["elements"]] == list(ELEMENT_CODES)
    assert survey["elements"][3]["options"][3] == {"value": 4, "label": "Gratis"}
    # No personal data of the requester.
    assert "Cut Nyak" not in shown.text
    assert "cut.nyak" not in shown.text

    respondent = {"age_band": "30-39", "sex": "P", "education": "D4/S1", "occupation": "swasta"}
    created = submit(client, code, respondent=respondent, suggestion="  Cepat sekali.  ")
    assert created.status_code == 201, created.text
    assert created.json() == {
        "status": "answered",
        "reference": survey["reference"],
        "office_code": OFFICE,
    }
    row = session.exec(select(SurveyResponse)).all()
    mine = [r for r in row if r.office_code == OFFICE and r.suggestion == "Cepat sekali."]
    assert len(mine) == 1
    assert (mine[0].u1, mine[0].u4, mine[0].u9) == (3, 4, 3)
    assert (mine[0].sex, mine[0].education, mine[0].channel) == ("P", "D4/S1", "social")

    again = submit(client, code)
    assert again.status_code == 409
    assert again.json()["code"] == "survey_answered"
    assert client.get(f"/v1/public/surveys/{code}").json()["status"] == "answered"


def test_before_the_first_answer_it_is_not_open(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    code = open_survey(client, auth, session, answer=False)
    assert client.get(f"/v1/public/surveys/{code}").json()["status"] == "not_open"
    refused = submit(client, code)
    assert refused.status_code == 409
    assert refused.json()["code"] == "survey_not_open"
    page = client.get(f"/survey/{code}")
    assert page.status_code == 200
    assert "belum dibuka" in page.text


def test_it_closes_after_the_configured_days(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    code = open_survey(client, auth, session)
    inquiry = session.exec(select(Inquiry).where(Inquiry.survey_code == code)).one()
    # 30 days (the default) after the first response, less a minute: still open.
    inquiry.first_response_at = utcnow() - timedelta(days=30) + timedelta(minutes=1)
    session.add(inquiry)
    session.flush()
    assert client.get(f"/v1/public/surveys/{code}").json()["status"] == "open"
    inquiry.first_response_at = utcnow() - timedelta(days=30, seconds=1)
    session.add(inquiry)
    session.flush()
    assert client.get(f"/v1/public/surveys/{code}").json()["status"] == "expired"
    gone = submit(client, code)
    assert gone.status_code == 410
    assert gone.json()["code"] == "survey_expired"
    page = client.get(f"/survey/{code}")
    assert page.status_code == 410
    assert "ditutup" in page.text


def test_unknown_code_is_404(client: TestClient) -> None:
    assert client.get("/v1/public/surveys/nope").json()["code"] == "survey_not_found"
    assert submit(client, "nope").status_code == 404
    page = client.get("/survey/nope")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"answers": {k: v for k, v in ANSWERS.items() if k != "U7"}}, "#/answers/U7"),
        ({"answers": {**ANSWERS, "U3": 5}}, "#/answers/U3"),
        ({"answers": {**ANSWERS, "U1": 0}}, "#/answers/U1"),
        ({"answers": {**ANSWERS, "U10": 1}}, "#/answers/U10"),
        # Answers are JSON integers, nothing that merely converts to one.
        ({"answers": {**ANSWERS, "U2": True}}, "#/answers/U2"),
        ({"answers": {**ANSWERS, "U5": "3"}}, "#/answers/U5"),
        ({"answers": {**ANSWERS, "U6": 4.0}}, "#/answers/U6"),
        ({"respondent": {"sex": "X"}}, "#/respondent/sex"),
        ({"respondent": {"education": "S4"}}, "#/respondent/education"),
        ({"suggestion": "x" * 2001}, "#/suggestion"),
        ({"suggestion": "nul \x00 byte"}, "#/suggestion"),
    ],
)
def test_bad_answers_are_422_naming_the_field_and_nothing_is_written(
    client: TestClient, auth: TokenFactory, session: Session, change: dict[str, Any], pointer: str
) -> None:
    code = open_survey(client, auth, session)
    refused = submit(client, code, **change)
    assert refused.status_code == 422, refused.text
    assert pointer in [e.get("pointer") for e in refused.json()["errors"]]
    assert client.get(f"/v1/public/surveys/{code}").json()["status"] == "open"
    assert submit(client, code).status_code == 201


def test_html_form_renders_errors_then_thanks(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    code = open_survey(client, auth, session)
    page = client.get(f"/survey/{code}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'name="viewport"' in page.text
    assert "<script" not in page.text
    assert "Dikelola dengan baik" in page.text
    assert len(re.findall(r'type="radio" id="U\d-\d"', page.text)) == 36
    assert "Cut Nyak" not in page.text

    form = {c: str(v) for c, v in ANSWERS.items() if c != "U5"}
    form.update(sex="P", suggestion='<b>"tag"</b> & more')
    incomplete = client.post(f"/survey/{code}", data=form)
    assert incomplete.status_code == 422
    assert 'id="q-U5"' in incomplete.text
    assert 'class="card error" id="q-U5"' in incomplete.text
    assert 'class="card error" id="q-U4"' not in incomplete.text
    # What was chosen and typed comes back, escaped.
    assert 'id="U4-4" name="U4" value="4" required checked' in incomplete.text
    assert "&lt;b&gt;&quot;tag&quot;&lt;/b&gt; &amp; more" in incomplete.text
    assert '<b>"tag"</b>' not in incomplete.text

    form["U5"] = "2"
    done = client.post(f"/survey/{code}", data=form)
    assert done.status_code == 200, done.text
    assert "Terima kasih" in done.text
    row = session.exec(
        select(SurveyResponse).where(SurveyResponse.suggestion == '<b>"tag"</b> & more')
    ).one()
    assert (row.u5, row.sex, row.age_band) == (2, "P", None)

    twice = client.post(f"/survey/{code}", data=form)
    assert twice.status_code == 409
    assert "sudah diisi" in twice.text
    visit = client.get(f"/survey/{code}")
    assert visit.status_code == 200
    assert "sudah diisi" in visit.text


def test_html_form_refuses_unknown_profile_values(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    code = open_survey(client, auth, session)
    form = {c: str(v) for c, v in ANSWERS.items()}
    form.update(occupation="astronaut", U2="9")
    refused = client.post(f"/survey/{code}", data=form)
    assert refused.status_code == 422
    assert "Pilihan tidak dikenal" in refused.text
    assert 'class="card error" id="q-U2"' in refused.text
    assert client.get(f"/v1/public/surveys/{code}").json()["status"] == "open"


def test_survey_is_rate_limited(client: TestClient) -> None:
    statuses = [client.get(f"/v1/public/surveys/guess-{i}").status_code for i in range(12)]
    assert statuses[:10] == [404] * 10
    assert statuses[-1] == 429


def test_survey_rate_limit_comes_before_the_body(client: TestClient) -> None:
    statuses = [client.get(f"/v1/public/surveys/guess-{i}").status_code for i in range(10)]
    assert statuses == [404] * 10
    # Over the limit, a body is not even read: 429, not a 422 about the body.
    bad = client.post("/v1/public/surveys/guess-x", json={"answers": {"U1": "x"}})
    assert bad.status_code == 429, bad.text
    garbage = client.post(
        "/v1/public/surveys/guess-y",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert garbage.status_code == 429, garbage.text
    form = client.post("/survey/guess-z", data={"U1": "1"})
    assert form.status_code == 429


# -- a concurrent double submit on committed data: exactly one wins


@pytest.fixture
def live_client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.slow
def test_concurrent_double_submit_one_wins(
    live_client: TestClient, auth: TokenFactory, engine: Any
) -> None:
    body = new_inquiry(received_at=None, channel_message_id=f"race-{uuid.uuid4().hex}")
    created = live_client.post("/v1/inquiries", json=body, headers=auth("integration"))
    assert created.status_code == 201, created.text
    iid = uuid.UUID(created.json()["id"])
    answered = live_client.post(
        f"/v1/inquiries/{iid}/answer", json={"message": "Jawaban"}, headers=auth("officer")
    )
    assert answered.status_code == 200, answered.text
    with Session(engine) as own:
        inquiry = own.get(Inquiry, iid)
        assert inquiry is not None
        code = inquiry.survey_code
    try:
        results = _all_at_once([lambda: submit(live_client, code) for _ in range(8)])
        statuses = sorted(r.status_code for r in results)
        assert statuses == [201] + [409] * 7, [r.text for r in results]
        assert {r.json()["code"] for r in results if r.status_code == 409} == {"survey_answered"}
        with Session(engine) as own:
            rows = own.exec(select(SurveyResponse).where(SurveyResponse.inquiry_id == iid)).all()
            assert len(rows) == 1
    finally:
        with Session(engine) as own:
            own.execute(delete(SurveyResponse).where(SurveyResponse.inquiry_id == iid))  # type: ignore[arg-type]
            own.commit()


@pytest.mark.slow
def test_refusals_on_committed_data_say_why(live_client: TestClient, auth: TokenFactory) -> None:
    # Unknown and not yet open, through the submission's own transaction.
    assert submit(live_client, "no-such-code-live").json()["code"] == "survey_not_found"
    body = new_inquiry(received_at=None, channel_message_id=f"live-{uuid.uuid4().hex}")
    created = live_client.post("/v1/inquiries", json=body, headers=auth("integration"))
    assert created.status_code == 201, created.text
    with Session(live_client.app.state.session_factory().get_bind()) as own:  # type: ignore[attr-defined]
        inquiry = own.get(Inquiry, uuid.UUID(created.json()["id"]))
        assert inquiry is not None
        code = inquiry.survey_code
    refused = submit(live_client, code)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "survey_not_open"


def test_a_raw_write_maps_driver_errors_and_gives_its_locks_back(engine: Any) -> None:
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from app.core.db import RawWriter
    from app.offices.models import Office

    writer = RawWriter(lambda: engine)
    table = Office.__table__  # type: ignore[attr-defined]
    duplicate = insert(table).values(code="KANWIL-ACEH", name="Duplicate").returning(table.c.code)
    with pytest.raises(IntegrityError):
        writer.first(duplicate, {})
    # The connection went back to the pool, and on SQLite the writer lock with it: the next
    # write does not wait.
    with pytest.raises(IntegrityError):
        writer.first(duplicate, {})
    with Session(engine) as own:
        assert own.get(Office, "KANWIL-ACEH") is not None


def _live_survey(live_client: TestClient, auth: TokenFactory, engine: Any) -> str:
    body = new_inquiry(received_at=None, channel_message_id=f"live-{uuid.uuid4().hex}")
    created = live_client.post("/v1/inquiries", json=body, headers=auth("integration"))
    assert created.status_code == 201, created.text
    iid = created.json()["id"]
    answered = live_client.post(
        f"/v1/inquiries/{iid}/answer", json={"message": "Jawaban"}, headers=auth("officer")
    )
    assert answered.status_code == 200, answered.text
    with Session(engine) as own:
        inquiry = own.get(Inquiry, uuid.UUID(iid))
        assert inquiry is not None
        return inquiry.survey_code


@pytest.mark.slow
def test_a_submission_waits_for_a_writer_of_another_process(
    live_client: TestClient, auth: TokenFactory, engine: Any
) -> None:
    """A submission meets SQLite's write lock held elsewhere: it is recorded once the lock
    is free (never refused, never lost), and the service answers other requests meanwhile."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's file lock")
    import sqlite3
    import threading
    import time

    code = _live_survey(live_client, auth, engine)
    other = sqlite3.connect(engine.url.database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.5, lambda: other.execute("ROLLBACK"))
    started = time.monotonic()
    released.start()
    try:
        result = submit(live_client, code)
    finally:
        released.join()
        other.close()
    assert result.status_code == 201, result.text
    assert time.monotonic() - started >= 0.4  # it waited for the other writer
    again = submit(live_client, code)
    assert again.status_code == 409
    assert again.json()["code"] == "survey_answered"


@pytest.mark.slow
def test_a_submission_waits_for_this_process_s_writer(
    live_client: TestClient, auth: TokenFactory, engine: Any
) -> None:
    from app.core import db

    code = _live_survey(live_client, auth, engine)
    lock = db.writer_lock(engine)
    if lock is None:
        pytest.skip("SQLite's writer lock")
    import threading

    lock.acquire()
    threading.Timer(0.3, lock.release).start()
    result = submit(live_client, code)
    assert result.status_code == 201, result.text
