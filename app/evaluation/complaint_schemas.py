"""Request and response bodies of the complaint endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.schemas import Input, Instant, PlainLine, PlainText

Source = Literal["web", "sipuma", "mailbox", "bravo_1500225", "fax", "letter", "in_person"]
RecordedSource = Literal["sipuma", "mailbox", "bravo_1500225", "fax", "letter", "in_person"]
ComplaintStatus = Literal["received", "in_review", "responded", "closed"]

_EXAMPLE_IN: dict[str, Any] = {
    "office_code": "KANWIL-ACEH",
    "name": "Teuku Umar",
    "contact": {"email": "teuku.umar@example.com", "phone": None},
    "reference": "IQ-7K3M9Q2X",
    "category": "ordinary",
    "message": "Pertanyaan saya dijawab terlambat dan tidak lengkap.",
}
_EXAMPLE_OUT: dict[str, Any] = {
    "id": "0b9d8c1e-3c56-4f0e-9a53-0d6c1a2b3c4d",
    "number": "ADU-KANWIL-ACEH-2026-000001",
    "office_code": "KANWIL-ACEH",
    "source": "web",
    "category": "ordinary",
    "name": "Teuku Umar",
    "email": "teuku.umar@example.com",
    "phone": None,
    "reference": "IQ-7K3M9Q2X",
    "inquiry_id": None,
    "message": "Pertanyaan saya dijawab terlambat dan tidak lengkap.",
    "status": "received",
    "received_at": "2026-11-23T02:00:00Z",
    "first_response_due_at": "2026-11-25T09:00:00Z",
    "due_at": "2026-11-27T09:00:00Z",
    "due_explanation": "First response, 3 working days: ...",
    "first_responded_at": None,
    "responded_at": None,
    "closed_at": None,
    "response": None,
    "response_delivery": None,
    "created_by": "public",
    "version": 1,
}


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("must not be blank")
    return value


# Text fields of a complaint: trimmed, no control characters (app.core.schemas), not blank.
Line = Annotated[PlainLine, AfterValidator(_not_blank)]
Text = Annotated[PlainText, AfterValidator(_not_blank)]


class Contact(Input):
    """How to reach the complainant: an email, a phone number, or both."""

    email: str | None = Field(default=None, max_length=254, examples=["teuku.umar@example.com"])
    phone: str | None = Field(default=None, max_length=32, examples=["0812-3456-7890"])

    @model_validator(mode="after")
    def _at_least_one(self) -> Contact:
        if not (self.email and self.email.strip()) and not (self.phone and self.phone.strip()):
            raise ValueError("give an email or a phone number")
        return self


class ComplaintIn(Input):
    """A complaint from the public (web form or chat integration)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE_IN]})

    office_code: Line = Field(min_length=1, max_length=32)
    name: Line = Field(min_length=1, max_length=200)
    contact: Contact
    reference: PlainLine | None = Field(
        default=None, max_length=64, description="an inquiry reference or ticket number"
    )
    category: Line = Field(min_length=1, max_length=32, examples=["ordinary"])
    message: Text = Field(min_length=1, max_length=10_000)

    @field_validator("reference")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        return value or None


class ComplaintRecord(ComplaintIn):
    """A complaint that came by another channel, recorded with its source and date."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {**_EXAMPLE_IN, "source": "sipuma", "received_at": "2026-11-23T09:00:00+07:00"}
            ]
        },
    )

    source: RecordedSource
    received_at: Instant = Field(
        description="when the complaint reached the service, with its offset"
    )


class ComplaintMessage(Input):
    """The compliance unit's response to the complainant."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"message": "Terima kasih, pengaduan Anda kami tindak lanjuti."}]
        },
    )

    message: Text = Field(min_length=1, max_length=10_000)


class ComplaintReceipt(BaseModel):
    """What a complainant gets back: the number to quote, and when to expect answers."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": "ADU-KANWIL-ACEH-2026-000001",
                    "status": "received",
                    "received_at": "2026-11-23T02:00:00Z",
                    "first_response_due_at": "2026-11-25T09:00:00Z",
                    "due_at": "2026-11-27T09:00:00Z",
                }
            ]
        }
    )

    number: str
    status: ComplaintStatus
    received_at: datetime
    first_response_due_at: datetime
    due_at: datetime


class ComplaintOut(BaseModel):
    """A complaint as internal compliance and the head of office see it."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE_OUT]})

    id: uuid.UUID
    number: str
    office_code: str
    source: Source
    category: str
    name: str
    email: str | None
    phone: str | None
    reference: str | None
    inquiry_id: uuid.UUID | None
    message: str
    status: ComplaintStatus
    received_at: datetime
    first_response_due_at: datetime
    due_at: datetime
    due_explanation: str
    first_responded_at: datetime | None
    responded_at: datetime | None
    closed_at: datetime | None
    response: str | None
    response_delivery: Literal["outbox", "not_sent"] | None
    created_by: str
    version: int


class ComplaintPage(BaseModel):
    """One page of complaints, newest first."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_EXAMPLE_OUT], "next_offset": None}]}
    )

    items: list[ComplaintOut]
    next_offset: int | None = Field(description="offset of the next page; null on the last")


class ComplaintEventOut(BaseModel):
    """One entry of a complaint's audit trail."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "action": "responded",
                    "actor": "kepatuhan-1",
                    "from_status": "in_review",
                    "to_status": "responded",
                    "details": {"delivery": "outbox"},
                    "at": "2026-11-24T03:00:00Z",
                }
            ]
        },
    )

    action: str
    actor: str
    from_status: str | None
    to_status: str | None
    details: dict[str, object]
    at: datetime


class ComplaintDetail(ComplaintOut):
    """A complaint with its audit trail."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [{**_EXAMPLE_OUT, "events": []}]},
    )

    events: list[ComplaintEventOut]


class ComplaintCategoryOut(BaseModel):
    """A complaint category and its response target."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{"code": "misconduct", "name": "Sengketa ...", "target_working_days": 14}]
        },
    )

    code: str
    name: str
    target_working_days: int
