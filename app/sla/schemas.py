"""Public shapes of SLA policies and calculations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict

from app.core.channels import Channel
from app.core.schemas import Input, Instant
from app.offices.schemas import OfficeCode

PolicyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$"),
    Field(examples=["default", "email-kanwil-aceh"]),
]


POLICY_EXAMPLE: JsonDict = {
    "code": "default",
    "channel": None,
    "office_code": None,
    "target_working_days": 2,
    "late_intake_minutes": 120,
    "pause_when_awaiting_requester": True,
    "warn_before_working_minutes": 240,
    "resolution_target_working_days": None,
    "acknowledge": True,
    "updated_at": "2026-11-28T02:00:00Z",
}


class SlaPolicyWrite(Input):
    """An SLA policy's settings; the scope (channel, office) says where it applies."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "email",
                    "office_code": None,
                    "target_working_days": 2,
                    "late_intake_minutes": 120,
                    "pause_when_awaiting_requester": True,
                    "warn_before_working_minutes": 240,
                    "resolution_target_working_days": 5,
                    "acknowledge": True,
                }
            ]
        },
    )

    channel: Channel | None = Field(default=None, description="null: every channel")
    office_code: OfficeCode | None = Field(default=None, description="null: every office")
    target_working_days: int = Field(default=2, ge=1, le=60)
    late_intake_minutes: int = Field(default=120, ge=0, le=1440)
    pause_when_awaiting_requester: bool = True
    warn_before_working_minutes: int = Field(default=240, ge=0, le=100_000)
    resolution_target_working_days: int | None = Field(default=None, ge=1, le=60)
    acknowledge: bool = Field(
        default=True, description="send an automatic acknowledgement with the due time on intake"
    )


class SlaPolicyRead(SlaPolicyWrite):
    """An SLA policy as stored."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [POLICY_EXAMPLE]}
    )

    code: str
    updated_at: datetime


class SlaPolicyList(BaseModel):
    """Every SLA policy, by code."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [POLICY_EXAMPLE]}]})

    items: list[SlaPolicyRead]


class Span(Input):
    """Two instants, the second not before the first."""

    start: Instant
    end: Instant

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class Pause(Span):
    """A time the inquiry waited for the requester."""


class SlaCalculation(Input):
    """When would an inquiry received at this instant be due?"""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "office_code": "KANWIL-ACEH",
                    "received_at": "2026-11-23T15:30:00+07:00",
                    "channel": "email",
                }
            ]
        },
    )

    office_code: OfficeCode
    received_at: Instant = Field(description="must carry an offset")
    channel: Channel = Channel.email
    policy_code: PolicyCode | None = Field(
        default=None, description="default: the policy that applies to the office and channel"
    )
    paused: list[Pause] = Field(default_factory=list, max_length=100)


class SkippedDayRead(BaseModel):
    """A date not counted, and why."""

    date: date
    reason: str = Field(examples=["Akhir pekan"])


class SlaResult(BaseModel):
    """The due time, in the office's local time, with its explanation."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "due_at": "2026-11-25T17:00:00+07:00",
                    "received_at": "2026-11-23T15:30:00+07:00",
                    "start_day": "2026-11-24",
                    "late_intake": True,
                    "start_reason": "Received within 120 minutes of closing (17:00): day 1 "
                    "is the next working day.",
                    "counted_days": ["2026-11-24", "2026-11-25"],
                    "skipped_days": [],
                    "paused_working_seconds": 0,
                    "policy_code": "default",
                    "timezone": "Asia/Jakarta",
                    "explanation": "Received Mon 2026-11-23 15:30 WIB, within 120 minutes of "
                    "closing (17:00): day 1 is the next working day. ...",
                }
            ]
        }
    )

    due_at: datetime
    received_at: datetime
    start_day: date
    late_intake: bool
    start_reason: str
    counted_days: list[date]
    skipped_days: list[SkippedDayRead]
    paused_working_seconds: int
    policy_code: str
    timezone: str
    explanation: str


class WorkingTimeQuery(Span):
    """Working time of an office between two instants."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "office_code": "KANWIL-ACEH",
                    "start": "2026-11-23T09:00:00+07:00",
                    "end": "2026-11-24T09:00:00+07:00",
                }
            ]
        },
    )

    office_code: OfficeCode


class WorkingTimeResult(BaseModel):
    """Working seconds between two instants."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "office_code": "KANWIL-ACEH",
                    "start": "2026-11-23T09:00:00+07:00",
                    "end": "2026-11-24T09:00:00+07:00",
                    "working_seconds": 31500,
                    "working_minutes": 525.0,
                    "timezone": "Asia/Jakarta",
                }
            ]
        }
    )

    office_code: str
    start: datetime
    end: datetime
    working_seconds: int = Field(examples=[30600])
    working_minutes: float = Field(examples=[510.0])
    timezone: str
