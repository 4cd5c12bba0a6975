"""Public shapes of inquiry requests and responses."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from app.core.channels import Channel
from app.core.schemas import Input, Instant
from app.inquiries import examples
from app.inquiries import identifiers as ids
from app.inquiries.states import Status
from app.inquiries.templating import TemplateCode
from app.offices.schemas import OfficeCode

MAX_MESSAGE = 20_000

SlaStateName = Literal["on_track", "at_risk", "breached", "paused", "met", "missed"]
DocumentType = Literal[
    "nomor_aju", "npwp", "nitku", "nppbkc", "awb", "container", "hs_code", "bl", "other"
]


def _via(normalise: object) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalise(value)  # type: ignore[operator,no-any-return]
        except ids.IdentifierError as exc:
            raise ValueError(exc.message) from None

    return AfterValidator(check)


Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE)
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
ChannelMessageId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Field(description="the channel's own id of the message; posting it again is a no-op"),
]
Email = Annotated[str, StringConstraints(max_length=254), _via(ids.normalize_email)]
Phone = Annotated[
    str,
    StringConstraints(max_length=40),
    _via(ids.normalize_phone),
    Field(description="Indonesian number, stored as +62...", examples=["0812-3456-7890"]),
]
Handle = Annotated[str, StringConstraints(max_length=100), _via(ids.normalize_handle)]
Nik = Annotated[str, StringConstraints(max_length=40), _via(ids.normalize_nik)]
Npwp = Annotated[str, StringConstraints(max_length=40), _via(ids.normalize_npwp)]


class RequesterIn(Input):
    """Who asks; a name and at least one way to reach them."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    email: Email | None = None
    phone: Phone | None = None
    handle: Handle | None = Field(default=None, examples=["@warga_aceh"])
    nik: Nik | None = Field(default=None, description="16-digit national identity number")
    npwp: Npwp | None = Field(default=None, description="tax number, 15 or 16 digits")
    organization: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None

    @model_validator(mode="after")
    def _reachable(self) -> RequesterIn:
        if not (self.email or self.phone or self.handle):
            raise ValueError("give at least one way to reach the requester: email, phone or handle")
        return self


class DocumentIn(Input):
    """A customs document the question is about."""

    model_config = ConfigDict(extra="forbid")

    type: DocumentType
    number: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    legacy: StrictBool = Field(
        default=False, description="set by the service for old NPPBKC formats"
    )

    @model_validator(mode="after")
    def _normalise(self) -> DocumentIn:
        try:
            if self.type == "nppbkc":
                parsed = ids.normalize_nppbkc(self.number)
                self.number, self.legacy = parsed.value, parsed.legacy
            else:
                self.number = ids.normalize_document(self.type, self.number)
                self.legacy = False
        except ids.IdentifierError as exc:
            raise ValueError(f"{self.type}: {exc.message}") from None
        return self


class InquiryCreate(Input):
    """A new inquiry as a channel integration (or an officer) posts it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "office_code": "KANWIL-ACEH",
                    "channel": "social",
                    "channel_account": "instagram:@bc_aceh",
                    "channel_message_id": "ig-17890000000000001",
                    "received_at": "2026-11-23T09:00:00+07:00",
                    "requester": {
                        "name": "Cut Nyak Dhien",
                        "handle": "@cutnyak",
                        "email": "cut.nyak@example.com",
                    },
                    "subject": "Barang kiriman tertahan",
                    "message": "Paket saya dengan AWB 126-12345675 tertahan, apa yang harus "
                    "saya lakukan?",
                    "documents": [{"type": "awb", "number": "126-12345675"}],
                }
            ]
        },
    )

    office_code: OfficeCode
    channel: Channel
    channel_account: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = Field(default=None, examples=["instagram:@bc_aceh"])
    channel_message_id: ChannelMessageId | None = None
    received_at: Instant | None = Field(default=None, description="default: now")
    requester: RequesterIn
    subject: ShortText | None = None
    message: Text
    documents: list[DocumentIn] = Field(default_factory=list, max_length=50)


class FollowUpIn(Input):
    """The requester's follow-up message, relayed by the integration."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "social",
                    "message": "Nomor AWB saya 126-12345675.",
                    "channel_message_id": "ig-17890000000000002",
                    "received_at": "2026-11-23T10:00:00+07:00",
                }
            ]
        },
    )

    channel: Channel | None = Field(
        default=None,
        description="the channel the follow-up came by, which must be the inquiry's (409 "
        "`follow_up_channel` otherwise); required unless the token's `channels` claim "
        "names exactly one channel, which is then the default",
    )
    message: Text
    channel_message_id: ChannelMessageId | None = None
    received_at: Instant | None = Field(default=None, description="default: now")


class AssignIn(Input):
    """Who works the inquiry."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"assignee": "198001012005011001"}]}
    )

    assignee: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class MessageIn(Input):
    """A text for the requester."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"message": "Mohon kirimkan nomor AWB kiriman Anda."}]},
    )

    message: Text


class AnswerIn(Input):
    """The answer: a text, or a template's code with optional extra text after it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"message": "Silakan ajukan dokumen pelengkap melalui CEISA."},
                {"template": "kiriman-tertahan"},
                {
                    "template": "kiriman-tertahan",
                    "message": "Dokumen dapat dikirim ke bcaceh@customs.go.id.",
                },
            ],
            # _something_to_send, as schema.
            "anyOf": [
                {"required": ["message"], "properties": {"message": {"type": "string"}}},
                {"required": ["template"], "properties": {"template": {"type": "string"}}},
            ],
        },
    )

    message: Text | None = Field(
        default=None, description="the answer, or extra text after the template's"
    )
    template: TemplateCode | None = Field(
        default=None, description="answer with this template, its placeholders filled"
    )

    @model_validator(mode="after")
    def _something_to_send(self) -> AnswerIn:
        if self.message is None and self.template is None:
            raise ValueError("give a message, a template, or both")
        return self


class ConsultationIn(Input):
    """A question to a coordinator, the supervisor or a related unit (internal)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"with": "unit", "unit_code": "P2", "question": "Apakah kiriman ini terkena NPD?"}
            ],
            # _unit, as schema: a unit code with a unit, and only with one.
            "oneOf": [
                {
                    "required": ["with", "unit_code"],
                    "properties": {"with": {"const": "unit"}, "unit_code": {"type": "string"}},
                },
                {
                    "properties": {
                        "with": {"enum": ["coordinator", "supervisor"]},
                        "unit_code": {"type": "null"},
                    }
                },
            ],
        },
    )

    with_: Literal["coordinator", "supervisor", "unit"] = Field(alias="with")
    unit_code: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None
    ) = None
    question: Text

    @model_validator(mode="after")
    def _unit(self) -> ConsultationIn:
        if self.with_ == "unit" and not self.unit_code:
            raise ValueError("unit_code is required when consulting a unit")
        if self.with_ != "unit" and self.unit_code:
            raise ValueError("unit_code is only for consulting a unit")
        return self


class ConsultationReplyIn(Input):
    """The answer to a consultation."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"answer": "Ya, silakan arahkan ke P2."}]}
    )

    answer: Text


class EscalateIn(Input):
    """Hand the inquiry to a related unit; the requester gets a ticket number."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "unit_code": "PERBEND",
                    "reason": "Perlu pemeriksaan data pembayaran",
                    "message": "Pertanyaan Anda kami teruskan ke unit terkait.",
                }
            ]
        },
    )

    unit_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    reason: ShortText
    message: Text


class SlaView(BaseModel):
    """The inquiry's SLA clock."""

    policy_code: str
    due_at: datetime = Field(description="office local time")
    start_day: date
    late_intake: bool
    state: SlaStateName
    working_seconds_left: int
    at_risk_at: datetime
    first_response_at: datetime | None
    outcome: Literal["met", "missed"] | None


class RequesterView(BaseModel):
    """The requester; NIK and NPWP masked where the caller does not need them."""

    name: str
    email: str | None
    phone: str | None
    handle: str | None
    nik: str | None
    npwp: str | None
    organization: str | None


class DocumentView(BaseModel):
    """A referenced document."""

    type: str
    number: str
    legacy: bool


class DeliveryView(BaseModel):
    """Where the delivery of an outbound message to the requester stands."""

    status: Literal["pending", "delivered", "dead", "bounced"]
    attempts: int
    delivered_at: datetime | None
    last_error: str | None


class TemplateUse(BaseModel):
    """The answer template a message was written from; the message's body is the text
    as it was sent."""

    id: int
    code: str
    version: int


class MessageView(BaseModel):
    """A message to or from the requester."""

    id: int
    direction: Literal["inbound", "outbound"]
    kind: str
    body: str
    author: str | None
    sent_at: datetime
    template: TemplateUse | None = Field(
        default=None, description="the template and version the message was written from"
    )
    delivery: DeliveryView | None = Field(
        default=None, description="outbound messages: the delivery state (outbox)"
    )


class ConsultationView(BaseModel):
    """An internal consultation."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.CONSULTATION]})

    id: int
    with_: str = Field(serialization_alias="with")
    unit_code: str | None
    question: str
    asked_by: str
    asked_at: datetime
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None


class InquirySummary(BaseModel):
    """An inquiry in a list."""

    id: uuid.UUID
    reference: str
    office_code: str
    channel: Channel
    status: Status
    subject: str | None
    requester: RequesterView
    assignee: str | None
    received_at: datetime
    ticket_number: str | None
    escalated_unit_code: str | None
    sla: SlaView
    etag: str


class InquiryDetail(InquirySummary):
    """An inquiry with its messages, documents and consultations."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.DETAIL]})

    channel_account: str | None
    message: str
    previous_inquiry_id: uuid.UUID | None = Field(
        default=None, description="the inquiry this one continues (a follow-up to a closed one)"
    )
    documents: list[DocumentView]
    messages: list[MessageView]
    consultations: list[ConsultationView]
    answered_at: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


class InquiryReceipt(BaseModel):
    """What a channel integration learns of the inquiry it posted: enough to tell the
    requester their reference and when to expect an answer, nothing internal."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.RECEIPT]})

    id: uuid.UUID
    reference: str
    office_code: str
    channel: Channel
    status: Status
    received_at: datetime
    sla: SlaView
    etag: str


Sort = Literal["due_at", "-received_at"]


class QueueQuery(BaseModel):
    """The work queue's filters, order and page: the list's query parameters, read by
    FastAPI as one model (one validation instead of one per parameter)."""

    model_config = ConfigDict(frozen=True)

    status: list[Status] | None = None
    office_code: str | None = Field(default=None, max_length=32)
    channel: Channel | None = None
    assignee: str | None = Field(default=None, max_length=200, description="`me` or a subject")
    sla_state: SlaStateName | None = None
    due_before: Instant | None = Field(
        default=None, description="with an offset, e.g. 2026-11-30T17:00:00+07:00"
    )
    q: str | None = Field(default=None, min_length=1, max_length=200)
    sort: Sort = "due_at"
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=500)


class InquiryPage(BaseModel):
    """A page of inquiries; pass ``next_cursor`` as ``cursor`` for the next."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.PAGE]})

    items: list[InquirySummary]
    next_cursor: str | None


class EventView(BaseModel):
    """An audit trail entry."""

    id: int
    action: str
    actor: str
    actor_roles: list[str]
    from_status: str | None
    to_status: str | None
    details: dict[str, object]
    at: datetime


class EventList(BaseModel):
    """An inquiry's audit trail, oldest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.EVENTS]})

    items: list[EventView]


class PublicTicket(BaseModel):
    """What a requester may see of their escalation ticket."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.PUBLIC_TICKET]})

    ticket_number: str
    reference: str
    status: Literal["escalated", "resolved", "closed"]
    received_at: datetime
    escalated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
