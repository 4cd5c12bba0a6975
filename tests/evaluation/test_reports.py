"""The SLA, IKM and officer reports through HTTP, on every database.

Inquiries are posted through the API with a past ``received_at`` and answered or
escalated through the API; the workflow answers "now", so for answers at fixed instants
the test then sets ``first_response_at`` (and ``answered_at``/``escalated_at``) on the row
in the test session, with the SLA outcome against the due time the intake computed and
the working seconds from the office calendar (as the workflow computes them). The
expected figures below are worked out by hand from the calendar facts (PMK 221 hours,
17 August Independence Day) and are not computed by the code under test.
Survey responses are inserted as rows.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.calendar.cache import build_calendar
from app.evaluation.models import Complaint, SurveyResponse
from app.inquiries.models import Inquiry
from app.offices.models import Office
from tests.conftest import TokenFactory

WIB = ZoneInfo("Asia/Jakarta")
AUGUST = {"from": "2026-08-01", "to": "2026-08-31"}


def wib(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=WIB)  # type: ignore[misc]


@pytest.fixture
def office(client: TestClient, auth: TokenFactory) -> str:
    """An office of its own, so that other tests' inquiries never count."""
    code = "KPPBC-R" + uuid.uuid4().hex[:8].upper()
    created = client.post(
        "/v1/offices",
        json={"code": code, "name": "KPPBC Laporan", "timezone": "Asia/Jakarta"},
        headers=auth("admin"),
    )
    assert created.status_code == 201, created.text
    units = client.put(
        f"/v1/offices/{code}/units",
        json={"items": [{"code": "P2", "name": "Penindakan dan Penyidikan"}]},
        headers=auth("admin"),
    )
    assert units.status_code == 200, units.text
    return code


def receive(
    client: TestClient, auth: TokenFactory, office: str, at: datetime, channel: str = "email"
) -> str:
    body = {
        "office_code": office,
        "channel": channel,
        "channel_message_id": uuid.uuid4().hex,
        "received_at": at.isoformat(),
        "requester": {"name": "Teuku Umar", "email": "teuku@example.com"},
        "message": "Berapa bea masuk untuk barang kiriman?",
    }
    created = client.post("/v1/inquiries", json=body, headers=auth("integration", office=office))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def respond(
    client: TestClient,
    auth: TokenFactory,
    session: Session,
    office: str,
    received: datetime,
    responded: datetime,
    officer: str,
    escalate: bool = False,
) -> Inquiry:
    """An inquiry received at ``received`` and first answered (or escalated) by
    ``officer`` at ``responded``."""
    iid = receive(client, auth, office, received)
    action, body = (
        ("escalate", {"unit_code": "P2", "reason": "Perlu penelitian", "message": "Tiket"})
        if escalate
        else ("answer", {"message": "Jawaban kami."})
    )
    done = client.post(
        f"/v1/inquiries/{iid}/{action}",
        json=body,
        headers=auth("officer", office=office, sub=officer),
    )
    assert done.status_code == 200, done.text
    inquiry = session.get(Inquiry, uuid.UUID(iid))
    assert inquiry is not None
    assert inquiry.first_responder == officer
    office_row = session.get(Office, office)
    assert office_row is not None
    calendar = build_calendar(session, office_row)
    inquiry.first_response_at = responded
    if escalate:
        inquiry.escalated_at = responded
    else:
        inquiry.answered_at = responded
    inquiry.sla_outcome = "met" if responded <= inquiry.due_at else "missed"
    inquiry.first_response_working_seconds = calendar.working_seconds_between(received, responded)
    session.add(inquiry)
    session.flush()
    return inquiry


def answers_summing(total: int, respondents: int) -> list[list[int]]:
    """``respondents`` answer sets of nine answers 1-4 whose answers add up to ``total``."""
    sets = [[1] * 9 for _ in range(respondents)]
    extra = total - 9 * respondents
    for answers in sets:
        for i in range(9):
            step = min(3, extra)
            answers[i] += step
            extra -= step
    assert extra == 0
    return sets


def add_surveys(
    client: TestClient,
    auth: TokenFactory,
    session: Session,
    office: str,
    sets: list[list[int]],
    submitted: datetime,
    channel: str = "email",
) -> None:
    for answers in sets:
        iid = receive(client, auth, office, submitted - timedelta(days=3), channel)
        session.add(
            SurveyResponse(
                inquiry_id=uuid.UUID(iid),
                office_code=office,
                channel=channel,
                submitted_at=submitted,
                **{f"u{i + 1}": a for i, a in enumerate(answers)},
            )
        )
    session.flush()


def complain(session: Session, office: str, inquiry: Inquiry) -> None:
    """A complaint linked to ``inquiry`` (as the complaints service records one)."""
    at = wib(2026, 8, 21, 9)
    session.add(
        Complaint(
            number=f"ADU-{office}-2026-{uuid.uuid4().int % 10**6:06d}",
            office_code=office,
            source="web",
            category="ordinary",
            name="Teuku Umar",
            email="teuku@example.com",
            inquiry_id=inquiry.id,
            message="Jawaban tidak membantu.",
            status="received",
            received_at=at,
            first_response_due_at=at + timedelta(days=3),
            due_at=at + timedelta(days=7),
            due_explanation="-",
            created_by="test",
        )
    )
    session.flush()


def get(client: TestClient, headers: dict[str, str], report: str, **params: Any) -> Any:
    response = client.get(f"/v1/reports/{report}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# -- officers ----------------------------------------------------------------------------


def test_officer_working_time_skips_weekend_and_holiday(
    client: TestClient, auth: TokenFactory, session: Session, office: str
) -> None:
    # Friday 16:00 -> Tuesday 09:00 over the weekend and Monday 17 August (Independence
    # Day): Fri 16:00-17:00 + Tue 07:30-09:00 = 9000 working seconds, due Wed 19 Aug: met.
    respond(client, auth, session, office, wib(2026, 8, 14, 16), wib(2026, 8, 18, 9), "ani")
    # Thu 10:00 -> 11:00: 3600 s, met.
    respond(client, auth, session, office, wib(2026, 8, 13, 10), wib(2026, 8, 13, 11), "ani")
    # Mon 08:00 -> Thu 08:00: 29700 + 31500 + 31500 + 1800 = 94500 s; due Tue 17:00: missed.
    respond(client, auth, session, office, wib(2026, 8, 10, 8), wib(2026, 8, 13, 8), "ani")
    # Budi escalates twice: Fri 08:00 -> 09:00 (3600 s) and Wed 16:30 -> Thu 09:00 (7200 s).
    respond(client, auth, session, office, wib(2026, 8, 14, 8), wib(2026, 8, 14, 9), "budi", True)
    respond(
        client, auth, session, office, wib(2026, 8, 12, 16, 30), wib(2026, 8, 13, 9), "budi", True
    )
    # Answered in July (local date), not counted in August.
    respond(client, auth, session, office, wib(2026, 7, 31, 9), wib(2026, 7, 31, 10), "ani")

    report = get(client, auth("supervisor", office=office), "officers", **AUGUST)
    assert report["office_code"] == office
    ani, budi = report["rows"]
    assert ani == {
        "officer": "ani",
        "responded": 3,
        "answered": 3,
        "escalated": 0,
        "met": 2,
        "missed": 1,
        "met_rate": 0.6667,
        # sorted 3600, 9000, 94500: median 9000; p90 at rank 2.8: 9000 + 0.8 * 85500
        "first_response_working_seconds": {"median": 9000.0, "p90": 77400.0},
        "ikm": None,
        "respondents": 0,
        "complaints": None,  # supervisors never see complaint counts
    }
    assert budi["officer"] == "budi"
    assert (budi["responded"], budi["answered"], budi["escalated"]) == (2, 0, 2)
    assert (budi["met"], budi["missed"], budi["met_rate"]) == (2, 0, 1.0)
    # Two values: median halfway (5400), p90 at rank 1.9: 3600 + 0.9 * 3600.
    assert budi["first_response_working_seconds"] == {"median": 5400.0, "p90": 6840.0}

    head = get(client, auth("head", office=office), "officers", **AUGUST)
    assert [r["complaints"] for r in head["rows"]] == [0, 0]
    complained = respond(
        client, auth, session, office, wib(2026, 8, 20, 9), wib(2026, 8, 20, 10), "budi"
    )
    complain(session, office, complained)
    head = get(client, auth("head", office=office), "officers", **AUGUST)
    assert [r["complaints"] for r in head["rows"]] == [0, 1]
    compliance = get(
        client, auth("compliance", office=None), "officers", office_code=office, **AUGUST
    )
    assert [r["complaints"] for r in compliance["rows"]] == [0, 1]
    supervisor = get(client, auth("supervisor", office=office), "officers", **AUGUST)
    assert [r["complaints"] for r in supervisor["rows"]] == [None, None]
    admin = get(client, auth("admin", office=None), "officers", office_code=office, **AUGUST)
    assert [r["complaints"] for r in admin["rows"]] == [None, None]


def test_officer_ikm_comes_from_the_surveys_of_their_inquiries(
    client: TestClient, auth: TokenFactory, session: Session, office: str
) -> None:
    first = respond(client, auth, session, office, wib(2026, 8, 3, 9), wib(2026, 8, 3, 10), "ani")
    second = respond(client, auth, session, office, wib(2026, 8, 4, 9), wib(2026, 8, 4, 10), "ani")
    for inquiry, answers in ((first, [3, 3, 3, 4, 3, 3, 3, 3, 3]), (second, [4] * 9)):
        session.add(
            SurveyResponse(
                inquiry_id=inquiry.id,
                office_code=office,
                channel="email",
                submitted_at=wib(2026, 8, 5, 9),
                **{f"u{i + 1}": a for i, a in enumerate(answers)},
            )
        )
    session.flush()
    (row,) = get(client, auth("head", office=office), "officers", **AUGUST)["rows"]
    # (28 + 36) / 18 * 25 = 88.888... -> 88.89
    assert (row["respondents"], row["ikm"]) == (2, 88.89)


# -- IKM ---------------------------------------------------------------------------------


def test_ikm_worked_example_and_sample_size(
    client: TestClient, auth: TokenFactory, session: Session, office: str
) -> None:
    # DOMAIN.md 8.1: every element 3,3,4,4 except U4 4,4,4,4 -> 88.89, A.
    sets = [[3, 3, 3, 4, 3, 3, 3, 3, 3], [3, 3, 3, 4, 3, 3, 3, 3, 3], [4] * 9, [4] * 9]
    add_surveys(client, auth, session, office, sets, wib(2026, 8, 20, 10))
    # Another channel and another month stay out.
    add_surveys(client, auth, session, office, [[1] * 9], wib(2026, 8, 20, 10), "webchat")
    add_surveys(client, auth, session, office, [[1] * 9], wib(2026, 9, 1, 0, 30))
    for day in (3, 4, 5):
        respond(client, auth, session, office, wib(2026, 8, day, 9), wib(2026, 8, day, 10), "a")

    report = get(client, auth("head", office=office), "ikm", channel="email", **AUGUST)
    assert report["respondents"] == 4
    assert report["ikm"] == 88.89
    assert (report["grade"], report["label"]) == ("A", "Sangat Baik")
    nrr = {e["code"]: e["nrr"] for e in report["elements"]}
    assert nrr == {**{f"U{i}": 3.5 for i in range(1, 10)}, "U4": 4.0}
    assert report["elements"][0]["name"] == "Persyaratan"
    # Three email inquiries served in August; Krejcie-Morgan for N=3 asks all 3.
    assert (report["served"], report["sample_needed"]) == (3, 3)

    everything = get(client, auth("head", office=office), "ikm", **AUGUST)
    assert everything["respondents"] == 5
    # (4 * 3.5 * 8 + 4 * 4 + 9) / 5 / 9 * 25 = 137 / 45 * 25 = 76.11
    assert (everything["ikm"], everything["grade"]) == (76.11, "C")


@pytest.mark.parametrize(
    ("respondents", "total", "ikm", "grade"),
    [
        (26, 717, 76.60, "C"),
        (19, 524, 76.61, "B"),
        (19, 604, 88.30, "B"),
        (24, 763, 88.31, "A"),
    ],
)
def test_ikm_grade_edges(
    client: TestClient,
    auth: TokenFactory,
    session: Session,
    office: str,
    respondents: int,
    total: int,
    ikm: float,
    grade: str,
) -> None:
    add_surveys(
        client, auth, session, office, answers_summing(total, respondents), wib(2026, 8, 20, 10)
    )
    report = get(client, auth("supervisor", office=office), "ikm", **AUGUST)
    assert (report["respondents"], report["ikm"], report["grade"]) == (respondents, ikm, grade)


def test_ikm_without_respondents(client: TestClient, auth: TokenFactory, office: str) -> None:
    report = get(client, auth("head", office=office), "ikm", **AUGUST)
    assert report["respondents"] == 0
    assert (report["ikm"], report["grade"], report["label"]) == (None, None, None)
    assert all(e["nrr"] is None for e in report["elements"])
    assert report["sample_needed"] == 0


# -- SLA ---------------------------------------------------------------------------------


def test_sla_by_local_month_day_and_channel(
    client: TestClient, auth: TokenFactory, session: Session, office: str
) -> None:
    respond(client, auth, session, office, wib(2026, 8, 14, 16), wib(2026, 8, 18, 9), "ani")
    respond(client, auth, session, office, wib(2026, 8, 10, 8), wib(2026, 8, 13, 8), "ani")
    # 31 July 23:30 WIB is 16:30 UTC: July locally. 31 August 23:30 WIB: August.
    receive(client, auth, office, wib(2026, 7, 31, 23, 30))
    receive(client, auth, office, wib(2026, 8, 31, 23, 30), "webchat")
    headers = auth("head", office=office)

    months = get(
        client, headers, "sla", group_by="month", **{"from": "2026-07-01", "to": "2026-09-30"}
    )
    assert months["rows"] == [
        {"key": "2026-07", "received": 1, "responded": 0, "met": 0, "missed": 0, "open": 1,
         "open_breached": 1, "met_rate": None},
        {"key": "2026-08", "received": 3, "responded": 2, "met": 1, "missed": 1, "open": 1,
         "open_breached": 1, "met_rate": 0.5},
        {"key": "2026-09", "received": 0, "responded": 0, "met": 0, "missed": 0, "open": 0,
         "open_breached": 0, "met_rate": None},
    ]  # fmt: skip
    days = get(client, headers, "sla", group_by="day", **AUGUST)["rows"]
    assert len(days) == 31
    by_day = {r["key"]: r["received"] for r in days if r["received"]}
    assert by_day == {"2026-08-10": 1, "2026-08-14": 1, "2026-08-31": 1}
    channels = get(client, headers, "sla", group_by="channel", **AUGUST)["rows"]
    assert {r["key"]: r["received"] for r in channels} == {"email": 2, "webchat": 1}
    offices = get(client, headers, "sla", group_by="office", **AUGUST)["rows"]
    assert [(r["key"], r["received"]) for r in offices] == [(office, 3)]


def test_open_inquiries_not_yet_due_are_not_breached(
    client: TestClient, auth: TokenFactory, office: str
) -> None:
    receive(client, auth, office, datetime.now(UTC) - timedelta(minutes=5))
    today = datetime.now(WIB).date()
    period = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    rows = get(client, auth("head", office=office), "sla", group_by="office", **period)["rows"]
    assert rows[0]["open"] == 1
    assert rows[0]["open_breached"] == 0


def test_open_breached_follows_the_work_queue_for_paused_inquiries(
    client: TestClient, auth: TokenFactory, session: Session, office: str
) -> None:
    # Three open inquiries of August, all past their due time by now. Two await the
    # requester under the default policy (the clock pauses): one asked before its due
    # time (paused, not breached), one after it had run out (stays breached).
    paused, late, plain = (receive(client, auth, office, wib(2026, 8, 10, 9)) for _ in range(3))
    officer = auth("officer", office=office)
    for iid in (paused, late):
        asked = client.post(
            f"/v1/inquiries/{iid}/request-info",
            json={"message": "Mohon nomor AWB."},
            headers=officer,
        )
        assert asked.status_code == 200, asked.text
    row = session.get(Inquiry, uuid.UUID(paused))
    assert row is not None
    assert row.status == "awaiting_requester"
    row.awaiting_since = wib(2026, 8, 10, 10)  # an hour after receipt, well before due
    assert row.awaiting_since < row.due_at
    session.add(row)
    session.flush()

    headers = auth("head", office=office)
    sla_rows = get(client, headers, "sla", group_by="office", **AUGUST)["rows"]
    assert (sla_rows[0]["open"], sla_rows[0]["open_breached"]) == (3, 2)
    queue = client.get(
        "/v1/inquiries",
        params={"office_code": office, "sla_state": "breached", "limit": 200},
        headers=auth("supervisor", office=office),
    )
    assert queue.status_code == 200, queue.text
    assert {i["id"] for i in queue.json()["items"]} == {late, plain}
    months = get(client, headers, "sla", group_by="month", **AUGUST)["rows"]
    assert months[0]["open_breached"] == 2


# -- CSV ---------------------------------------------------------------------------------


def test_every_report_as_csv(
    client: TestClient, auth: TokenFactory, session: Session, office: str
) -> None:
    respond(client, auth, session, office, wib(2026, 8, 14, 16), wib(2026, 8, 18, 9), "=cmd")
    add_surveys(client, auth, session, office, [[4] * 9], wib(2026, 8, 20, 10))
    headers = {**auth("head", office=office), "Accept": "text/csv"}

    def table(report: str, **params: str) -> list[dict[str, str]]:
        response = client.get(f"/v1/reports/{report}", params={**AUGUST, **params}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(response.text)))

    (ikm,) = table("ikm")
    assert (ikm["respondents"], ikm["ikm"], ikm["grade"], ikm["nrr_u1"]) == (
        "1",
        "100.0",
        "A",
        "4.0",
    )
    sla = table("sla", group_by="month")
    assert sla == [
        {"key": "2026-08", "received": "2", "responded": "1", "met": "1", "missed": "0",
         "open": "1", "open_breached": "1", "met_rate": "1.0"}
    ]  # fmt: skip
    (officer,) = table("officers")
    assert officer["officer"] == "'=cmd"  # never a spreadsheet formula
    assert officer["first_response_working_seconds_median"] == "9000.0"
    assert officer["complaints"] == "0"


# -- validation and rights ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"to": "2026-08-31"}, "from"),
        ({"from": "2026-08-01"}, "to"),
        ({"from": "2026-08-31", "to": "2026-08-01"}, "to"),
        ({"from": "2021-01-01", "to": "2026-01-01"}, "to"),
        ({"from": "2026-02-30", "to": "2026-03-01"}, "from"),
        ({"from": "1999-01-01", "to": "1999-01-02"}, "from"),
    ],
)
@pytest.mark.parametrize("report", ["ikm", "sla", "officers"])
def test_period_problems_name_the_parameter(
    client: TestClient, auth: TokenFactory, report: str, params: dict[str, str], parameter: str
) -> None:
    response = client.get(f"/v1/reports/{report}", params=params, headers=auth("head"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["parameter"] == parameter


def test_five_years_is_the_longest_period(client: TestClient, auth: TokenFactory) -> None:
    params = {"from": "2021-01-01", "to": "2025-12-31", "group_by": "office"}
    assert client.get("/v1/reports/sla", params=params, headers=auth("head")).status_code == 200


@pytest.mark.parametrize("report", ["ikm", "sla", "officers"])
def test_who_may_read_reports(
    client: TestClient, auth: TokenFactory, office: str, report: str
) -> None:
    def status(*roles: str, office_code: str | None = None, own: str | None = office) -> int:
        params = {**AUGUST, **({"office_code": office_code} if office_code else {})}
        response = client.get(
            f"/v1/reports/{report}", params=params, headers=auth(*roles, office=own)
        )
        if response.status_code == 403:
            assert response.headers["content-type"].startswith("application/problem+json")
        return response.status_code

    for role in ("officer", "coordinator", "integration", "unit"):
        assert status(role) == 403
    assert status("head") == 200
    assert status("supervisor", office_code=office) == 200
    assert status("supervisor", office_code="KANWIL-ACEH") == 403
    assert status("head", office_code="KANWIL-ACEH") == 403
    assert status("supervisor", own=None) == 422  # no office in the token, none asked for
    assert status("compliance", office_code="KANWIL-ACEH") == 200
    assert status("admin", office_code="NO-SUCH-OFFICE") == 404
    assert client.get(f"/v1/reports/{report}", params=AUGUST).status_code == 401


def test_cross_office_callers_see_every_office(
    client: TestClient, auth: TokenFactory, office: str
) -> None:
    receive(client, auth, office, wib(2026, 8, 3, 9))
    report = get(client, auth("compliance", office=None), "sla", group_by="office", **AUGUST)
    assert report["office_code"] is None
    keys = [r["key"] for r in report["rows"]]
    assert office in keys
    assert "KANWIL-ACEH" in keys
    assert keys == sorted(keys)
    assert next(r for r in report["rows"] if r["key"] == office)["received"] == 1


def test_reports_page_is_served_without_a_token(client: TestClient) -> None:
    page = client.get("/reports")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "/reports/assets/reports.js" in page.text
    script = client.get("/reports/assets/reports.js")
    assert script.status_code == 200
    assert "sessionStorage" in script.text
    assert client.get("/reports/assets/other.js").status_code in (404, 422)
    assert "/reports" not in client.get("/openapi.json").json()["paths"]


def test_offices_in_other_time_zones_count_by_their_own_local_dates(
    client: TestClient, auth: TokenFactory, office: str
) -> None:
    papua = "KPPBC-P" + uuid.uuid4().hex[:8].upper()
    created = client.post(
        "/v1/offices",
        json={"code": papua, "name": "KPPBC Jayapura", "timezone": "Asia/Jayapura"},
        headers=auth("admin"),
    )
    assert created.status_code == 201, created.text
    compliance = auth("compliance", office=None)
    period = {"from": "2026-07-31", "to": "2026-08-01"}

    def received(group_by: str) -> dict[str, int]:
        rows = get(client, compliance, "sla", group_by=group_by, **period)["rows"]
        return {r["key"]: r["received"] for r in rows}

    days, months = received("day"), received("month")
    # 1 August 00:30 WIT is 31 July 22:30 WIB: August for the Jayapura office.
    receive(client, auth, papua, datetime(2026, 8, 1, 0, 30, tzinfo=ZoneInfo("Asia/Jayapura")))
    receive(client, auth, office, wib(2026, 7, 31, 23, 30))
    # Outside the period: 30 July 23:59 WIT and 2 August 00:00 WIB.
    receive(client, auth, papua, datetime(2026, 7, 30, 23, 59, tzinfo=ZoneInfo("Asia/Jayapura")))
    receive(client, auth, office, wib(2026, 8, 2, 0, 0))
    after_days, after_months = received("day"), received("month")
    assert after_days["2026-07-31"] - days["2026-07-31"] == 1
    assert after_days["2026-08-01"] - days["2026-08-01"] == 1
    assert after_months["2026-07"] - months["2026-07"] == 1
    assert after_months["2026-08"] - months["2026-08"] == 1
    by_office = get(client, compliance, "sla", group_by="office", **period)["rows"]
    assert {r["key"]: r["received"] for r in by_office if r["key"] in (papua, office)} == {
        papua: 1,
        office: 1,
    }
