"""Public shapes of calendars, office hours and overrides."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.config import JsonDict

from app.calendar.engine import SUPPORTED_FIRST_YEAR, SUPPORTED_LAST_YEAR, normalise_hours
from app.core.schemas import Input

MAX_OVERRIDE_DAYS = 366
MAX_CALENDAR_DAYS = 366
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# A wall-clock time of day: HH:MM or HH:MM:SS, whole seconds, no offset. Not JSON Schema's
# `format: time`, which is RFC 3339's full-time and requires an offset.
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


def _local_time(value: object) -> object:
    if not isinstance(value, str | time):
        raise ValueError("a time of day is a string, HH:MM or HH:MM:SS")
    if isinstance(value, str) and not re.fullmatch(LOCAL_TIME_PATTERN, value):
        raise ValueError("hours are local wall-clock times, HH:MM or HH:MM:SS, without an offset")
    return value


LocalTime = Annotated[
    time,
    BeforeValidator(_local_time),
    WithJsonSchema({"type": "string", "pattern": LOCAL_TIME_PATTERN}),
]


class Interval(Input):
    """Opening hours within one day, local time, end exclusive."""

    model_config = ConfigDict(extra="forbid")

    start: LocalTime = Field(examples=["07:30"])
    end: LocalTime = Field(examples=["12:15"])

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


DayHours = Annotated[list[Interval], Field(max_length=8)]


def check_hours(hours: list[Interval]) -> list[Interval]:
    """Refuse overlapping intervals (touching ones are fine) and return them sorted."""
    ordered = sorted(hours, key=lambda i: i.start)
    for before, after in pairwise(ordered):
        if after.start < before.end:
            raise ValueError(f"intervals {before.start}-{before.end} and {after.start}- overlap")
    normalise_hours([(i.start, i.end) for i in ordered])
    return ordered


# The years the calendars hold, as a pattern of the date's text (JSON Schema has no range
# for dates); the check below stays the rule.
CALENDAR_DATE_PATTERN = r"^20(2[0-9]|3[0-5])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
CALENDAR_DATE: JsonDict = {"pattern": CALENDAR_DATE_PATTERN}


def _supported(day: date, field: str) -> None:
    if not SUPPORTED_FIRST_YEAR <= day.year <= SUPPORTED_LAST_YEAR:
        raise ValueError(
            f"{field} must fall in {SUPPORTED_FIRST_YEAR}..{SUPPORTED_LAST_YEAR}, the years "
            "the calendar covers"
        )


class OverrideCreate(Input):
    """A closure or other hours for a date range."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # _consistent's rule on hours, as schema: an open override has some, a closed
            # one none.
            "oneOf": [
                {
                    "required": ["kind", "hours"],
                    "properties": {"kind": {"const": "open"}, "hours": {"minItems": 1}},
                },
                {"properties": {"kind": {"const": "closed"}, "hours": {"maxItems": 0}}},
            ],
            "examples": [
                {
                    "start_date": "2026-11-25",
                    "end_date": "2026-11-25",
                    "kind": "closed",
                    "hours": [],
                    "reason": "Banjir: kantor ditutup",
                },
                {
                    "start_date": "2027-02-08",
                    "end_date": "2027-02-11",
                    "kind": "open",
                    "hours": [{"start": "08:00", "end": "15:00"}],
                    "reason": "Jam kerja Ramadan",
                },
            ],
        },
    )

    start_date: date = Field(json_schema_extra=CALENDAR_DATE)
    end_date: date = Field(json_schema_extra=CALENDAR_DATE)
    kind: Literal["closed", "open"] = Field(
        description="closed: no working hours; open: these hours (also on a weekend or holiday)"
    )
    hours: DayHours = Field(default_factory=list)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _consistent(self) -> OverrideCreate:
        _supported(self.start_date, "start_date")
        _supported(self.end_date, "end_date")
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if (self.end_date - self.start_date).days >= MAX_OVERRIDE_DAYS:
            raise ValueError(f"an override spans at most {MAX_OVERRIDE_DAYS} days")
        if self.kind == "open" and not self.hours:
            raise ValueError("an 'open' override needs hours")
        if self.kind == "closed" and self.hours:
            raise ValueError("a 'closed' override takes no hours")
        self.hours = check_hours(self.hours)
        return self


OVERRIDE_EXAMPLE: JsonDict = {
    "id": 3,
    "office_code": "KANWIL-ACEH",
    "start_date": "2026-12-31",
    "end_date": "2026-12-31",
    "kind": "closed",
    "hours": [],
    "reason": "Banjir",
    "created_by": "admin-1",
    "created_at": "2026-11-28T02:00:00Z",
}


class OverrideRead(BaseModel):
    """A calendar override as stored."""

    id: int
    office_code: str
    start_date: date
    end_date: date
    kind: Literal["closed", "open"]
    hours: list[Interval]
    reason: str
    created_by: str
    created_at: datetime


class OverrideCreated(OverrideRead):
    """The new override and how many open inquiries had their due time moved."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**OVERRIDE_EXAMPLE, "recomputed_inquiries": 12}]}
    )

    recomputed_inquiries: int = Field(description="open inquiries whose due time was recomputed")


class OverrideList(BaseModel):
    """Overrides of an office, by start date."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [OVERRIDE_EXAMPLE]}]})

    items: list[OverrideRead]


class WeeklyHours(Input):
    """Working hours of each weekday, local time; an empty list is a day off."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "monday": [
                        {"start": "07:30", "end": "12:15"},
                        {"start": "13:00", "end": "17:00"},
                    ],
                    "tuesday": [
                        {"start": "07:30", "end": "12:15"},
                        {"start": "13:00", "end": "17:00"},
                    ],
                    "wednesday": [
                        {"start": "07:30", "end": "12:15"},
                        {"start": "13:00", "end": "17:00"},
                    ],
                    "thursday": [
                        {"start": "07:30", "end": "12:15"},
                        {"start": "13:00", "end": "17:00"},
                    ],
                    "friday": [
                        {"start": "07:30", "end": "11:30"},
                        {"start": "13:15", "end": "17:00"},
                    ],
                    "saturday": [],
                    "sunday": [],
                }
            ]
        },
    )

    monday: DayHours
    tuesday: DayHours
    wednesday: DayHours
    thursday: DayHours
    friday: DayHours
    saturday: DayHours
    sunday: DayHours

    @model_validator(mode="after")
    def _no_overlaps(self) -> WeeklyHours:
        for name in WEEKDAYS:
            setattr(self, name, check_hours(getattr(self, name)))
        return self


class OfficeHours(WeeklyHours):
    """An office's weekly hours and whether they are the PMK 221/PMK.01/2021 default."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "office_code": "KANWIL-ACEH",
                    "is_default": True,
                    **{
                        day: [
                            {"start": "07:30:00", "end": "12:15:00"},
                            {"start": "13:00:00", "end": "17:00:00"},
                        ]
                        for day in WEEKDAYS[:4]
                    },
                    "friday": [
                        {"start": "07:30:00", "end": "11:30:00"},
                        {"start": "13:15:00", "end": "17:00:00"},
                    ],
                    "saturday": [],
                    "sunday": [],
                }
            ]
        },
    )

    office_code: str
    is_default: bool


class CalendarDay(BaseModel):
    """One date of an office's calendar."""

    date: date
    weekday: str = Field(examples=["monday"])
    working: bool
    hours: list[Interval]
    closing_at: datetime | None = Field(description="closing time, office local time")
    reason: str | None = Field(
        description="why the date is off (weekend, holiday name, closure reason), or why its "
        "hours differ",
        examples=["Cuti Bersama Hari Raya Natal"],
    )


class CalendarRead(BaseModel):
    """An office's calendar over a date range."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "office_code": "KANWIL-ACEH",
                    "timezone": "Asia/Jakarta",
                    "days": [
                        {
                            "date": "2026-12-23",
                            "weekday": "wednesday",
                            "working": True,
                            "hours": [
                                {"start": "07:30:00", "end": "12:15:00"},
                                {"start": "13:00:00", "end": "17:00:00"},
                            ],
                            "closing_at": "2026-12-23T17:00:00+07:00",
                            "reason": None,
                        },
                        {
                            "date": "2026-12-24",
                            "weekday": "thursday",
                            "working": False,
                            "hours": [],
                            "closing_at": None,
                            "reason": "Cuti Bersama Hari Raya Natal",
                        },
                    ],
                }
            ]
        }
    )

    office_code: str
    timezone: str
    days: list[CalendarDay]
