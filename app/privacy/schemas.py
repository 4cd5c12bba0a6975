"""Public shapes of the personal-data endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.schemas import Input, PlainLine

_IDENTIFIERS = ("email", "phone", "nik")


def _only(given: str) -> dict[str, Any]:
    # Given: text that is not blank; the others left out, null or blank (blank text counts
    # as not given, as in _exactly_one).
    blank = {"anyOf": [{"type": "null"}, {"type": "string", "pattern": r"^\s*$"}]}
    return {
        "required": [given],
        "properties": {
            name: {"type": "string", "pattern": r"\S"} if name == given else blank
            for name in _IDENTIFIERS
        },
    }


class Subject(Input):
    """The person, by exactly one identifier: email, phone number or NIK."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"anyOf": [_only(name) for name in _IDENTIFIERS]}
    )

    email: PlainLine | None = Field(default=None, max_length=254, examples=["cut.nyak@example.com"])
    phone: PlainLine | None = Field(default=None, max_length=32, examples=["0812-3456-7890"])
    nik: PlainLine | None = Field(default=None, max_length=32, examples=["1171024108900001"])

    @model_validator(mode="after")
    def _exactly_one(self) -> Subject:
        given = [k for k in ("email", "phone", "nik") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of email, phone or nik")
        return self

    def identifier(self) -> tuple[Literal["email", "phone", "nik"], str]:
        for kind in ("email", "phone", "nik"):
            value = getattr(self, kind)
            if value:
                return kind, value
        raise AssertionError("validated: exactly one identifier")


class EraseIn(Subject):
    """Erase a person's data; why, for the audit (for example the request's letter)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"email": "cut.nyak@example.com", "reason": "Permohonan penghapusan 12/2026"}
            ],
            # A model's json_schema_extra replaces its base's: Subject's rule again.
            "anyOf": [_only(name) for name in _IDENTIFIERS],
        },
    )

    reason: PlainLine = Field(min_length=3, max_length=500)


class Erased(BaseModel):
    """What an erasure removed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "counts": {
                        "inquiries": 2,
                        "messages": 6,
                        "documents": 1,
                        "emails": 1,
                        "attachments": 0,
                        "deliveries": 4,
                        "complaints": 1,
                        "survey_suggestions": 1,
                    }
                }
            ]
        }
    )

    counts: dict[str, int]


class PersonalDataExport(BaseModel):
    """Everything held on one person."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "exported_at": "2026-11-29T03:00:00Z",
                    "inquiries": [
                        {
                            "reference": "IQ-7K3M9Q2X",
                            "office_code": "KANWIL-ACEH",
                            "requester": {"name": "Cut Nyak Dhien", "nik": "1171024108900001"},
                            "messages": [],
                        }
                    ],
                    "complaints": [],
                }
            ]
        }
    )

    exported_at: datetime
    inquiries: list[dict[str, Any]]
    complaints: list[dict[str, Any]]


class IdentityReadView(BaseModel):
    """One read that showed an inquiry's identity numbers in full."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    actor_roles: list[str]
    inquiry_id: uuid.UUID
    office_code: str
    fields: list[str] = Field(examples=[["nik", "npwp"]])


class IdentityReadPage(BaseModel):
    """Identity-number reads, newest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 41,
                            "at": "2026-11-29T03:00:00Z",
                            "actor": "officer-7",
                            "actor_roles": ["officer"],
                            "inquiry_id": "3f8e8a52-8c1e-4f65-9a55-0d5f1b9a7c11",
                            "office_code": "KANWIL-ACEH",
                            "fields": ["nik"],
                        }
                    ],
                    "next_before_id": None,
                }
            ]
        }
    )

    items: list[IdentityReadView]
    next_before_id: int | None = Field(
        description="pass as before_id for the next page; null on the last page"
    )
