"""The satisfaction survey: the requester's HTML page (``/survey/{code}``, the link sent
in every answer) and the same survey as JSON for integrations (``/v1/public/surveys``).
No token: the unguessable code is the key; rate-limited per client and per code."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core.db import SessionDep, run_and_commit
from app.core.errors import DomainError, problem_responses
from app.core.ratelimit import limit_public
from app.evaluation import survey_pages
from app.evaluation.survey import ELEMENT_CODES, ELEMENTS
from app.evaluation.survey_service import (
    SurveyAnswered,
    SurveyExpired,
    SurveyNotFound,
    SurveyNotOpen,
    SurveyState,
    SurveyStatus,
    SurveySubmission,
    record_survey,
    record_survey_at_once,
    submit_survey,
    survey_state,
)


class RateLimitedRoute(APIRoute):
    """A survey route: the public rate limit (per address, and per code and address
    against guessing) is counted before anything else, the body included, so that a
    client over it gets 429 however large or broken what it sends."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            limit_public(request, f"survey:{str(request.path_params.get('code', ''))[:64]}")
            return await handler(request)

        return limited


router = APIRouter(route_class=RateLimitedRoute)


class SurveyOption(BaseModel):
    value: int
    label: str


class SurveyElement(BaseModel):
    code: str
    name: str
    question: str
    options: list[SurveyOption]


_ELEMENTS = [
    SurveyElement(
        code=e.code,
        name=e.name,
        question=e.question,
        options=[SurveyOption(value=v, label=label) for v, label in enumerate(e.labels, 1)],
    )
    for e in ELEMENTS
]


class PublicSurvey(BaseModel):
    """A survey as an integration collecting it in a chat needs it; no personal data."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "open",
                    "office_code": "KPPBC-TMP-A-JKT",
                    "reference": "INQ-7K3M9Q2X",
                    "closes_at": "2026-12-29T03:15:00Z",
                    "elements": [
                        {
                            "code": "U1",
                            "name": "Persyaratan",
                            "question": ELEMENTS[0].question,
                            "options": [
                                {"value": v, "label": label}
                                for v, label in enumerate(ELEMENTS[0].labels, 1)
                            ],
                        }
                    ],
                }
            ]
        }
    )

    status: SurveyStatus
    office_code: str
    reference: str
    closes_at: datetime | None
    elements: list[SurveyElement]


class SurveyReceipt(BaseModel):
    """The response was recorded."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "answered", "reference": "INQ-7K3M9Q2X", "office_code": "KANWIL-ACEH"}
            ]
        }
    )

    status: Literal["answered"]
    reference: str
    office_code: str


@router.get(
    "/v1/public/surveys/{code}",
    tags=["public"],
    summary="A satisfaction survey (IKM) as data",
    response_model=PublicSurvey,
    responses=problem_responses(429, errors=[SurveyNotFound]),
)
def get_public_survey(code: str, request: Request, session: SessionDep) -> PublicSurvey:
    """The survey of `code`: its status, the inquiry's reference and office, and the nine
    elements with their questions and answer labels (PermenPAN-RB 14/2017)."""
    state = survey_state(session=session, code=code)
    return PublicSurvey(
        status=state.status,
        office_code=state.office_code,
        reference=state.reference,
        closes_at=state.closes_at,
        elements=_ELEMENTS,
    )


@router.post(
    "/v1/public/surveys/{code}",
    tags=["public"],
    summary="Answer a satisfaction survey",
    status_code=201,
    response_model=SurveyReceipt,
    responses=problem_responses(
        422, 429, errors=[SurveyNotFound, SurveyNotOpen, SurveyAnswered, SurveyExpired]
    ),
)
async def post_public_survey(
    code: str, request: Request, submission: SurveySubmission
) -> SurveyReceipt:
    """Record the requester's answers (all nine, 1-4 each), optional profile and
    suggestion. Once per survey; open from the first answer for `INFODESK_SURVEY_DAYS`.
    Rate-limited (before the body is read) like the survey's page."""
    # One statement in a transaction of its own (app.core.db.RawWriter), on the event loop
    # when that needs no wait, else in the thread pool; not the request session.
    # Measured with `python -m bench.bench_survey` (SQLite, 32 connections): server CPU per
    # submission 1,132 -> 425-437 us, throughput 18% -> 38-47% of /healthz's, p99 153 -> 29 ms.
    state = request.app.state
    recorded = await record_survey_at_once(
        writer=state.raw_writer, code=code, submission=submission
    )
    if recorded is None:
        recorded = await run_in_threadpool(
            partial(
                record_survey,
                writer=state.raw_writer,
                sessions=state.session_factory,
                code=code,
                submission=submission,
            )
        )
    return SurveyReceipt(
        status="answered", reference=recorded.reference, office_code=recorded.office_code
    )


# -- the HTML page (not in the OpenAPI document: it is for people, not integrations)


def _state_page(state: SurveyState) -> HTMLResponse:
    if state.status == "answered":
        return HTMLResponse(
            survey_pages.message_page(
                "Survei sudah diisi",
                "Survei untuk pertanyaan ini sudah diisi. Terima kasih atas penilaian Anda.",
                "This survey has already been answered. Thank you.",
                state.reference,
            )
        )
    if state.status == "not_open":
        return HTMLResponse(
            survey_pages.message_page(
                "Survei belum dibuka",
                "Survei dapat diisi setelah pertanyaan Anda dijawab.",
                "The survey opens once your inquiry has been answered.",
                state.reference,
            )
        )
    return HTMLResponse(
        survey_pages.message_page(
            "Survei sudah ditutup",
            "Masa pengisian survei untuk pertanyaan ini telah berakhir.",
            "This survey is closed.",
            state.reference,
        ),
        status_code=410,
    )


def _unknown() -> HTMLResponse:
    return HTMLResponse(
        survey_pages.message_page(
            "Survei tidak ditemukan",
            "Tautan survei tidak dikenal. Periksa kembali tautan pada pesan kami.",
            "Unknown survey link. Please check the link in our message.",
            None,
        ),
        status_code=404,
    )


@router.get("/survey/{code}", include_in_schema=False, response_class=HTMLResponse)
def survey_page(code: str, session: SessionDep) -> HTMLResponse:
    """The questionnaire, or what became of it."""
    try:
        state = survey_state(session=session, code=code)
    except SurveyNotFound:
        return _unknown()
    if state.status != "open":
        return _state_page(state)
    return HTMLResponse(survey_pages.form_page(code=code, reference=state.reference))


_FORM_FIELDS = (*ELEMENT_CODES, "age_band", "sex", "education", "occupation", "suggestion")
_PROFILE = ("age_band", "sex", "education", "occupation")


def _form_values(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=50, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return {}
    return {name: parsed[name][0] for name in _FORM_FIELDS if name in parsed}


def _answer(value: str) -> int | str:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 3 else value


def _submission(values: dict[str, str]) -> SurveySubmission | dict[str, str]:
    """The form as a submission, or the errors by field name."""
    profile = {k: values[k] for k in _PROFILE if values.get(k)}
    data = {
        # The answers are strict integers: the form's digits become ones here.
        "answers": {c: _answer(values[c]) for c in ELEMENT_CODES if values.get(c)},
        "respondent": profile or None,
        "suggestion": values.get("suggestion") or None,
    }
    try:
        return SurveySubmission.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            loc = [str(part) for part in error["loc"]]
            field = loc[1] if loc[0] in ("answers", "respondent") and len(loc) > 1 else loc[0]
            if field in ELEMENT_CODES:
                errors[field] = "Pilih salah satu jawaban. / Please choose one answer."
            elif field == "suggestion":
                errors[field] = "Maksimal 2000 karakter teks biasa. / At most 2000 characters."
            else:
                errors[field] = "Pilihan tidak dikenal. / Unknown choice."
        return errors


async def _body(request: Request) -> bytes:
    return await request.body()


@router.post("/survey/{code}", include_in_schema=False, response_class=HTMLResponse)
async def survey_form(
    code: str, session: SessionDep, body: Annotated[bytes, Depends(_body)]
) -> HTMLResponse:
    """Record the form; re-render it with the errors (422) when it is incomplete."""
    values = _form_values(body)
    return await run_and_commit(session, partial(_record_form, session, code, values))


def _record_form(session: Session, code: str, values: dict[str, str]) -> HTMLResponse:
    submission = _submission(values)
    if isinstance(submission, dict):
        # Incomplete: the form again with its errors, if the survey is still open.
        try:
            state = survey_state(session=session, code=code)
        except SurveyNotFound:
            return _unknown()
        if state.status != "open":
            return _refused(state)
        page_html = survey_pages.form_page(
            code=code, reference=state.reference, values=values, errors=submission
        )
        return HTMLResponse(page_html, status_code=422)
    # Complete: recorded in one go, like the JSON submission; the survey's state is read
    # only to explain a refusal.
    try:
        recorded = submit_survey(session=session, code=code, submission=submission)
    except SurveyNotFound:
        return _unknown()
    except (SurveyAnswered, SurveyNotOpen, SurveyExpired) as exc:
        refused = replace(survey_state(session=session, code=code), status=_REFUSED[type(exc)])
        return _refused(refused)
    return HTMLResponse(
        survey_pages.message_page(
            "Terima kasih",
            "Terima kasih, penilaian Anda sudah kami terima dan akan membantu kami "
            "meningkatkan layanan.",
            "Thank you: your rating has been recorded.",
            recorded.reference,
        )
    )


_REFUSED: dict[type[DomainError], SurveyStatus] = {
    SurveyAnswered: "answered",
    SurveyNotOpen: "not_open",
    SurveyExpired: "expired",
}


def _refused(state: SurveyState) -> HTMLResponse:
    """The page for a form sent to a survey that is not open: 409, or 410 once closed."""
    page = _state_page(state)
    if state.status != "expired":
        page.status_code = 409
    return page
