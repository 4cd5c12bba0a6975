"""Report endpoints (JSON or CSV) and the reports page for people."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.core.channels import Channel
from app.core.db import SessionDep, utcnow
from app.core.errors import problem_responses
from app.core.security import CurrentPrincipal, Role, require_roles
from app.evaluation import reports
from app.evaluation.report_scope import (
    REPORT_DATE,
    OfficeUnknown,
    ReportOutOfScope,
    Scope,
    check_period,
    resolve_scope,
)

router = APIRouter(tags=["reports"])

STATIC = Path(__file__).parent / "static"
CSV = "text/csv"
Readers = require_roles(Role.head, Role.supervisor, Role.compliance, Role.admin)
ERRORS = problem_responses(401, 403, 422, errors=[OfficeUnknown, ReportOutOfScope])

OfficeParam = Annotated[
    str | None,
    Query(
        max_length=32,
        description="the office; default: your own office (compliance and admin: every office)",
    ),
]
FromParam = Annotated[
    date,
    Query(
        alias="from", description="first local date of the period", json_schema_extra=REPORT_DATE
    ),
]
ToParam = Annotated[
    date,
    Query(alias="to", description="last local date (included)", json_schema_extra=REPORT_DATE),
]


class ElementNrr(BaseModel):
    """The mean answer (NRR, 1-4) of one survey element."""

    code: str = Field(examples=["U1"])
    name: str = Field(examples=["Persyaratan"])
    nrr: float | None = Field(description="rounded to 4 decimals; null without respondents")


class IkmReport(BaseModel):
    """The satisfaction index (IKM) of the survey responses submitted in the period."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "office_code": "KANWIL-ACEH",
                    "from": "2026-01-01",
                    "to": "2026-12-31",
                    "channel": None,
                    "respondents": 4,
                    "elements": [{"code": "U1", "name": "Persyaratan", "nrr": 3.5}],
                    "ikm": 88.89,
                    "grade": "A",
                    "label": "Sangat Baik",
                    "served": 120,
                    "sample_needed": 92,
                }
            ]
        }
    )

    office_code: str | None = Field(description="null: every office")
    from_: date = Field(alias="from")
    to: date
    channel: Channel | None
    respondents: int
    elements: list[ElementNrr]
    ikm: float | None = Field(description="25-100, rounded half up to 2 decimals at the end")
    grade: Literal["A", "B", "C", "D"] | None
    label: str | None = Field(description="Sangat Baik, Baik, Kurang Baik or Tidak Baik")
    served: int = Field(description="inquiries given a first response in the period")
    sample_needed: int = Field(description="Krejcie-Morgan sample size for `served`")


class SlaRow(BaseModel):
    """The inquiries received in the period with one key."""

    key: str = Field(examples=["2026-12"])
    received: int
    responded: int = Field(description="first answer or escalation notice given")
    met: int
    missed: int
    open: int = Field(description="no first response yet")
    open_breached: int = Field(description="open and already past due")
    met_rate: float | None = Field(description="met / (met + missed), 4 decimals")


class SlaReport(BaseModel):
    """SLA outcomes of the inquiries received in the period, by local date of the office."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "office_code": "KANWIL-ACEH",
                    "from": "2026-12-01",
                    "to": "2026-12-31",
                    "group_by": "month",
                    "rows": [
                        {
                            "key": "2026-12",
                            "received": 40,
                            "responded": 36,
                            "met": 33,
                            "missed": 3,
                            "open": 4,
                            "open_breached": 1,
                            "met_rate": 0.9167,
                        }
                    ],
                }
            ]
        }
    )

    office_code: str | None
    from_: date = Field(alias="from")
    to: date
    group_by: Literal["office", "channel", "month", "day"]
    rows: list[SlaRow]


class WorkingSeconds(BaseModel):
    """Working time to the first response (office calendar, pauses left out)."""

    median: float | None
    p90: float | None


class OfficerRow(BaseModel):
    """One officer's first responses given in the period."""

    officer: str = Field(examples=["officer-1"])
    responded: int
    answered: int
    escalated: int
    met: int
    missed: int
    met_rate: float | None
    first_response_working_seconds: WorkingSeconds
    ikm: float | None = Field(description="IKM of the surveys of these inquiries")
    respondents: int
    complaints: int | None = Field(
        description="complaints about these inquiries; shown to compliance and head only, else null"
    )


class OfficersReport(BaseModel):
    """Officer performance: per officer credited with first responses in the period."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "office_code": "KANWIL-ACEH",
                    "from": "2026-01-01",
                    "to": "2026-12-31",
                    "rows": [
                        {
                            "officer": "officer-1",
                            "responded": 12,
                            "answered": 10,
                            "escalated": 2,
                            "met": 11,
                            "missed": 1,
                            "met_rate": 0.9167,
                            "first_response_working_seconds": {"median": 5400.0, "p90": 27000.0},
                            "ikm": 81.25,
                            "respondents": 4,
                            "complaints": None,
                        }
                    ],
                }
            ]
        }
    )

    office_code: str | None
    from_: date = Field(alias="from")
    to: date
    rows: list[OfficerRow]


def _csv_doc(columns: list[str]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "The report; as CSV with `Accept: text/csv` (columns: "
            + ", ".join(columns)
            + ")",
            "content": {CSV: {"schema": {"type": "string"}, "example": ",".join(columns) + "\n"}},
        },
        **ERRORS,
    }


IKM_COLUMNS = ["respondents", "ikm", "grade", "label", "served", "sample_needed"] + [
    f"nrr_u{i}" for i in range(1, 10)
]
SLA_COLUMNS = list(SlaRow.model_fields)
OFFICER_COLUMNS = [
    "officer", "responded", "answered", "escalated", "met", "missed", "met_rate",
    "first_response_working_seconds_median", "first_response_working_seconds_p90",
    "ikm", "respondents", "complaints",
]  # fmt: skip


def _wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return CSV in accept and "application/json" not in accept


def _cell(value: Any) -> Any:
    # Spreadsheet formula injection: a text cell never starts a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _csv(columns: list[str], rows: list[dict[str, Any]], name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _scope(
    session: SessionDep,
    principal: CurrentPrincipal,
    from_: FromParam,
    to: ToParam,
    office_code: OfficeParam = None,
) -> Scope:
    """The offices and period a report covers (422 naming a bad parameter)."""
    return resolve_scope(session, principal, office_code, check_period(from_, to))


ScopeDep = Annotated[Scope, Depends(_scope)]


def _respond(
    request: Request,
    scope: Scope,
    model: type[BaseModel],
    meta: dict[str, Any],
    csv_report: tuple[str, list[str], list[dict[str, Any]]],
) -> Any:
    """The report as CSV when the client asks for it (``csv_report``: name, columns,
    flat rows), else as ``model`` with the scope's office and period and ``meta``."""
    if _wants_csv(request):
        name, columns, rows = csv_report
        return _csv(columns, rows, name)
    period = {"office_code": scope.office_code, "from": scope.period.start, "to": scope.period.end}
    return model.model_validate({**period, **meta})


@router.get(
    "/v1/reports/ikm",
    summary="Satisfaction survey index (IKM)",
    response_model=IkmReport,
    response_model_by_alias=True,
    responses=_csv_doc(IKM_COLUMNS),
    dependencies=[Readers],
)
def ikm(
    request: Request, session: SessionDep, scope: ScopeDep, channel: Channel | None = None
) -> Any:
    """The IKM, each element's NRR and the sample size needed (head, supervisor: own office)."""
    report = reports.ikm_report(session=session, scope=scope, channel=channel)
    flat = {**report, **{f"nrr_u{i + 1}": e["nrr"] for i, e in enumerate(report["elements"])}}
    meta = {"channel": channel, **report}
    return _respond(request, scope, IkmReport, meta, ("ikm", IKM_COLUMNS, [flat]))


@router.get(
    "/v1/reports/sla",
    summary="SLA report",
    response_model=SlaReport,
    response_model_by_alias=True,
    responses=_csv_doc(SLA_COLUMNS),
    dependencies=[Readers],
)
def sla(
    request: Request,
    session: SessionDep,
    scope: ScopeDep,
    group_by: Literal["office", "channel", "month", "day"] = "month",
) -> Any:
    """Inquiries received in the period: responded, met, missed, open, open and overdue."""
    rows = reports.sla_report(session=session, scope=scope, group_by=group_by, now=utcnow())
    meta = {"group_by": group_by, "rows": rows}
    return _respond(request, scope, SlaReport, meta, ("sla", SLA_COLUMNS, rows))


@router.get(
    "/v1/reports/officers",
    summary="Officer performance",
    response_model=OfficersReport,
    response_model_by_alias=True,
    responses=_csv_doc(OFFICER_COLUMNS),
    dependencies=[Readers],
)
def officers(request: Request, session: SessionDep, scope: ScopeDep) -> Any:
    """Per officer credited with first responses in the period: volume, SLA, working time."""
    rows = reports.officers_report(session=session, scope=scope)
    flat = [
        {
            **r,
            "first_response_working_seconds_median": r["first_response_working_seconds"]["median"],
            "first_response_working_seconds_p90": r["first_response_working_seconds"]["p90"],
        }
        for r in rows
    ]
    return _respond(
        request, scope, OfficersReport, {"rows": rows}, ("officers", OFFICER_COLUMNS, flat)
    )


# -- the page ------------------------------------------------------------------------------

_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_ASSETS = {"reports.js": "text/javascript", "reports.css": "text/css"}


@router.get("/reports", include_in_schema=False)
def reports_page() -> FileResponse:
    """The reports page: asks for a bearer token and reads the JSON reports with it."""
    return FileResponse(STATIC / "reports.html", media_type="text/html", headers=_PAGE_HEADERS)


@router.get("/reports/assets/{name}", include_in_schema=False)
def reports_asset(name: Literal["reports.js", "reports.css"]) -> FileResponse:
    """The page's script and style sheet."""
    return FileResponse(STATIC / name, media_type=_ASSETS[name], headers=_PAGE_HEADERS)
