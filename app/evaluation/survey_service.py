"""The satisfaction survey of one inquiry: its state, and recording the one response.

A survey opens with the inquiry's first answer or escalation notice
(``Inquiry.first_response_at``), stays open ``INFODESK_SURVEY_DAYS`` calendar days, and
takes one response: the unique ``survey_response.inquiry_id`` decides a race.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.core.config import get_settings
from app.core.db import RawWriter, utcnow
from app.core.errors import Conflict, DomainError, NotFound
from app.core.schemas import PlainText
from app.evaluation.models import SurveyResponse
from app.evaluation.survey import AGE_BANDS, ELEMENT_CODES
from app.inquiries.models import Inquiry

SurveyStatus = Literal["open", "answered", "expired", "not_open"]
AgeBand = Literal["<20", "20-29", "30-39", "40-49", "50-59", "60+"]
Sex = Literal["L", "P"]
Education = Literal["SD", "SMP", "SMA", "D1-D3", "D4/S1", "S2", "S3"]
Occupation = Literal["PNS", "TNI", "POLRI", "swasta", "wirausaha", "lainnya"]
SUGGESTION_MAX = 2000
assert set(AgeBand.__args__) == set(AGE_BANDS)  # type: ignore[attr-defined]


class SurveyNotFound(NotFound):
    code, title = "survey_not_found", "Survey not found"


class SurveyNotOpen(Conflict):
    code, title = "survey_not_open", "Survey not open yet"


class SurveyAnswered(Conflict):
    code, title = "survey_answered", "Survey already answered"


class SurveyExpired(DomainError):
    status, code, title = 410, "survey_expired", "Survey closed"


# Strict: an answer is a JSON integer, never true, "3" or 4.0 (the HTML form's digit
# strings are converted before validation).
Answer = Field(ge=1, le=4, strict=True)


class SurveyAnswers(BaseModel):
    """The nine answers, 1-4 each, all required."""

    model_config = ConfigDict(extra="forbid")

    U1: int = Answer
    U2: int = Answer
    U3: int = Answer
    U4: int = Answer
    U5: int = Answer
    U6: int = Answer
    U7: int = Answer
    U8: int = Answer
    U9: int = Answer


class Respondent(BaseModel):
    """The questionnaire's optional respondent profile."""

    model_config = ConfigDict(extra="forbid")

    age_band: AgeBand | None = None
    sex: Sex | None = Field(default=None, description="L (laki-laki) or P (perempuan)")
    education: Education | None = None
    occupation: Occupation | None = None


class SurveySubmission(BaseModel):
    """One requester's response."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "answers": {code: 4 if code == "U4" else 3 for code in ELEMENT_CODES},
                    "respondent": {
                        "age_band": "30-39",
                        "sex": "P",
                        "education": "D4/S1",
                        "occupation": "swasta",
                    },
                    "suggestion": "Jawaban cepat dan jelas.",
                }
            ]
        },
    )

    answers: SurveyAnswers
    respondent: Respondent | None = None
    suggestion: PlainText | None = Field(default=None, max_length=SUGGESTION_MAX)

    @field_validator("suggestion")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


@dataclass(frozen=True)
class SurveyState:
    """What anyone holding the code may see of a survey: no personal data."""

    code: str
    reference: str
    office_code: str
    status: SurveyStatus
    opened_at: datetime | None
    closes_at: datetime | None


# Core statements on the tables, built once: executed on the session's connection they
# skip the ORM's execution layer, and their cache keys cost nothing per submission.
_INQUIRY = Inquiry.__table__  # type: ignore[attr-defined]
_TABLE = SurveyResponse.__table__  # type: ignore[attr-defined]
_SURVEY_OF_CODE = select(
    _INQUIRY.c.id,
    _INQUIRY.c.reference,
    _INQUIRY.c.office_code,
    _INQUIRY.c.channel,
    _INQUIRY.c.first_response_at,
).where(_INQUIRY.c.survey_code == bindparam("code"))
_ANSWERED = select(_TABLE.c.id).where(_TABLE.c.inquiry_id == bindparam("inquiry_id"))
_ANSWER_COLUMNS = (
    *(c.lower() for c in ELEMENT_CODES),
    "age_band",
    "sex",
    "education",
    "occupation",
    "suggestion",
    "submitted_at",
)
# The whole submission in one statement: the response is inserted only when the survey
# of the code is open (opened, after the `opened_after` instant) and unanswered, and the
# row back carries what the receipt shows. The unique inquiry_id decides a race.
_RECORD = {
    postgres: module.insert(_TABLE)
    .from_select(
        ["inquiry_id", "office_code", "channel", *_ANSWER_COLUMNS],
        select(
            _INQUIRY.c.id,
            _INQUIRY.c.office_code,
            _INQUIRY.c.channel,
            *(bindparam(name, type_=_TABLE.c[name].type) for name in _ANSWER_COLUMNS),
        ).where(
            _INQUIRY.c.survey_code == bindparam("code"),
            _INQUIRY.c.first_response_at > bindparam("opened_after"),
        ),
    )
    .on_conflict_do_nothing(index_elements=["inquiry_id"])
    .returning(
        # By the code again: SQLite scans the table for a subquery correlated with the
        # row inserted, and SQLAlchemy would not correlate it anyway.
        select(_INQUIRY.c.reference)
        .where(_INQUIRY.c.survey_code == bindparam("code"))
        .scalar_subquery(),
        _TABLE.c.office_code,
    )
    for postgres, module in ((False, sqlite), (True, postgresql))
}


@dataclass(frozen=True)
class _Survey:
    inquiry_id: uuid.UUID
    reference: str
    office_code: str
    channel: str
    opened_at: datetime | None

    @property
    def closes_at(self) -> datetime | None:
        opened = self.opened_at
        return opened + timedelta(days=get_settings().survey_days) if opened else None


def _survey(session: Session, code: str) -> _Survey:
    """The survey fields of the inquiry with ``code``; SurveyNotFound for none."""
    found = None
    if 0 < len(code) <= 32:
        found = session.connection().execute(_SURVEY_OF_CODE, {"code": code}).first()
    if found is None:
        raise SurveyNotFound("No survey with this code.")
    return _Survey(*found)


def _answered(session: Session, survey: _Survey) -> bool:
    found = session.connection().execute(_ANSWERED, {"inquiry_id": survey.inquiry_id}).first()
    return found is not None


def survey_state(*, session: Session, code: str, now: datetime | None = None) -> SurveyState:
    """The survey of ``code`` (SurveyNotFound for an unknown code)."""
    now = now or utcnow()
    survey = _survey(session, code)
    opened, closes = survey.opened_at, survey.closes_at
    status: SurveyStatus
    if _answered(session, survey):
        status = "answered"
    elif opened is None:
        status = "not_open"
    elif closes is not None and now >= closes:
        status = "expired"
    else:
        status = "open"
    return SurveyState(code, survey.reference, survey.office_code, status, opened, closes)


@dataclass(frozen=True)
class Recorded:
    """A response was recorded for the inquiry with this reference and office."""

    reference: str
    office_code: str


def _values(code: str, submission: SurveySubmission, now: datetime) -> dict[str, object]:
    respondent = submission.respondent or Respondent()
    answers = submission.answers
    return {
        "code": code,
        "opened_after": now - timedelta(days=get_settings().survey_days),
        **{c.lower(): getattr(answers, c) for c in ELEMENT_CODES},
        "age_band": respondent.age_band,
        "sex": respondent.sex,
        "education": respondent.education,
        "occupation": respondent.occupation,
        "suggestion": submission.suggestion,
        "submitted_at": now,
    }


def submit_survey(
    *, session: Session, code: str, submission: SurveySubmission, now: datetime | None = None
) -> Recorded:
    """Record the response to the survey of ``code``; refused unless the survey is open.

    One statement when the survey is open (``_RECORD``); only when it inserts nothing are
    the survey's fields read, to say why: unknown (404), not open yet or answered (409),
    closed (410)."""
    now = now or utcnow()
    if 0 < len(code) <= 32:
        connection = session.connection()
        statement = _RECORD[connection.dialect.name == "postgresql"]
        row = connection.execute(statement, _values(code, submission, now)).first()
        if row is not None:
            return Recorded(row[0], row[1])
    raise _refusal(session, code, now)


async def record_survey_at_once(
    *, writer: RawWriter, code: str, submission: SurveySubmission, now: datetime | None = None
) -> Recorded | None:
    """``record_survey`` when it can be done without waiting (``RawWriter.first_at_once``,
    on the event loop); None when not (then ``record_survey`` does it, and explains a
    refusal)."""
    if not 0 < len(code) <= 32:
        return None
    statement = _RECORD[writer.dialect_name() == "postgresql"]
    row = await writer.first_at_once(statement, _values(code, submission, now or utcnow()))
    return Recorded(row[0], row[1]) if row is not None else None


def record_survey(
    *,
    writer: RawWriter,
    sessions: Callable[[], AbstractContextManager[Session]],
    code: str,
    submission: SurveySubmission,
    now: datetime | None = None,
) -> Recorded:
    """``submit_survey`` as one statement in a transaction of its own (``writer``): the
    JSON submissions' path, which comes in bursts after answers go out. When nothing is
    recorded, a read of the survey (in a session from ``sessions``) says why."""
    now = now or utcnow()
    if 0 < len(code) <= 32:
        statement = _RECORD[writer.dialect_name() == "postgresql"]
        row = writer.first(statement, _values(code, submission, now))
        if row is not None:
            return Recorded(row[0], row[1])
    with sessions() as session:
        raise _refusal(session, code, now)


def _refusal(session: Session, code: str, now: datetime) -> DomainError:
    """Why a response to the survey of ``code`` was not recorded."""
    survey = _survey(session, code)
    if survey.opened_at is None:
        return SurveyNotOpen("The survey opens with the first answer to the inquiry.")
    closes = survey.closes_at
    if closes is not None and now >= closes and not _answered(session, survey):
        return SurveyExpired("The survey is closed.")
    return SurveyAnswered("This survey has already been answered.")
