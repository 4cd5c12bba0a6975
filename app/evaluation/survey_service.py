"""The satisfaction survey of one inquiry: its state, and recording the one response.

A survey opens with the inquiry's first answer or escalation notice
(``Inquiry.first_response_at``), stays open ``INFODESK_SURVEY_DAYS`` calendar days, and
takes one response: the unique ``survey_response.inquiry_id`` decides a race.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, DomainError, NotFound
from app.evaluation.models import SurveyResponse
from app.evaluation.survey import AGE_BANDS, ELEMENT_CODES, ELEMENTS
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


Answer = Field(ge=1, le=4)


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
    suggestion: str | None = Field(default=None, max_length=SUGGESTION_MAX)

    @field_validator("suggestion")
    @classmethod
    def _plain_text(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in value):
            raise ValueError("control characters are not allowed")
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


def _inquiry(session: Session, code: str) -> Inquiry:
    inquiry = None
    if 0 < len(code) <= 32:
        inquiry = session.exec(select(Inquiry).where(Inquiry.survey_code == code)).first()
    if inquiry is None:
        raise SurveyNotFound("No survey with this code.")
    return inquiry


def _answered(session: Session, inquiry: Inquiry) -> bool:
    found = session.exec(
        select(SurveyResponse.id).where(SurveyResponse.inquiry_id == inquiry.id)
    ).first()
    return found is not None


def _state(session: Session, inquiry: Inquiry, now: datetime) -> SurveyState:
    opened = inquiry.first_response_at
    closes = opened + timedelta(days=get_settings().survey_days) if opened else None
    status: SurveyStatus
    if _answered(session, inquiry):
        status = "answered"
    elif opened is None:
        status = "not_open"
    elif closes is not None and now >= closes:
        status = "expired"
    else:
        status = "open"
    return SurveyState(
        inquiry.survey_code, inquiry.reference, inquiry.office_code, status, opened, closes
    )


def survey_state(*, session: Session, code: str, now: datetime | None = None) -> SurveyState:
    """The survey of ``code`` (SurveyNotFound for an unknown code)."""
    return _state(session, _inquiry(session, code), now or utcnow())


# Built once: the statements' cache keys then cost nothing per submission.
_SURVEY_OF_CODE = select(  # type: ignore[call-overload]
    Inquiry.id,
    Inquiry.reference,
    Inquiry.office_code,
    Inquiry.channel,
    Inquiry.first_response_at,
).where(Inquiry.survey_code == bindparam("code"))
_TABLE = SurveyResponse.__table__  # type: ignore[attr-defined]
_INSERT = {
    postgres: module.insert(_TABLE)
    .on_conflict_do_nothing(index_elements=["inquiry_id"])
    .returning(_TABLE.c.id)
    for postgres, module in ((False, sqlite), (True, postgresql))
}


def submit_survey(
    *, session: Session, code: str, submission: SurveySubmission, now: datetime | None = None
) -> SurveyState:
    """Record the response to the survey of ``code``; refused unless the survey is open.

    The hot path is two statements: read the inquiry's survey fields, then insert with
    ``ON CONFLICT (inquiry_id) DO NOTHING``: no row back means another response is
    there already (also when a concurrent one committed first)."""
    now = now or utcnow()
    found = None
    if 0 < len(code) <= 32:
        found = session.execute(_SURVEY_OF_CODE, {"code": code}).first()
    if found is None:
        raise SurveyNotFound("No survey with this code.")
    inquiry_id, reference, office_code, channel, opened = found
    if opened is None:
        raise SurveyNotOpen("The survey opens with the first answer to the inquiry.")
    closes = opened + timedelta(days=get_settings().survey_days)
    if now >= closes:
        answered = session.execute(
            select(SurveyResponse.id).where(SurveyResponse.inquiry_id == inquiry_id)
        ).first()
        if answered is not None:
            raise SurveyAnswered("This survey has already been answered.")
        raise SurveyExpired("The survey is closed.")
    respondent = submission.respondent or Respondent()
    answers = submission.answers
    values = {
        "inquiry_id": inquiry_id,
        "office_code": office_code,
        "channel": channel,
        **{c.lower(): getattr(answers, c) for c in ELEMENT_CODES},
        "age_band": respondent.age_band,
        "sex": respondent.sex,
        "education": respondent.education,
        "occupation": respondent.occupation,
        "suggestion": submission.suggestion,
        "submitted_at": now,
    }
    statement = _INSERT[session.get_bind().dialect.name == "postgresql"]
    if session.execute(statement, values).first() is None:
        raise SurveyAnswered("This survey has already been answered.")
    return SurveyState(code, reference, office_code, "answered", opened, closes)


def element_options() -> list[dict[str, object]]:
    """The questionnaire as data: each element with its question and labelled options."""
    return [
        {
            "code": e.code,
            "name": e.name,
            "question": e.question,
            "options": [{"value": v, "label": label} for v, label in enumerate(e.labels, 1)],
        }
        for e in ELEMENTS
    ]
