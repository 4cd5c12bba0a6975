"""Intake: new inquiries and the requester's follow-ups, both idempotent.

The same (channel, channel_message_id) posted twice, even by two racing requests, makes
one inquiry (or one follow-up): the unique constraint on inbound messages decides, and
the loser of a race reads the winner's row. An ``Idempotency-Key`` does the same for
clients without message ids, scoped to the calling client.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

import psycopg
from psycopg import RawCursor
from pydantic import ValidationError
from sqlalchemy import delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.calendar.cache import CalendarCache
from app.calendar.engine import CalendarRangeError, WorkingCalendar
from app.core.channels import Channel
from app.core.config import get_settings
from app.core.db import RawWriter
from app.core.errors import Conflict, InvalidField, Unprocessable
from app.core.security import Principal
from app.inquiries import access, texts
from app.inquiries.clock import pause_so_far, schedule
from app.inquiries.errors import FollowUpChannel, InquiryClosed, MessageIdReused
from app.inquiries.events import record, touch
from app.inquiries.models import (
    Inquiry,
    InquiryDocument,
    InquiryEvent,
    InquiryMessage,
    OutboxMessage,
)
from app.inquiries.queries import Viewer
from app.inquiries.schemas import FollowUpIn, InquiryCreate, InquiryReceipt, SlaView
from app.inquiries.states import Status
from app.inquiries.workflow import etag_of, recipient
from app.offices.service import get_office
from app.sla.engine import (
    DueResult,
    SlaPolicy,
    at_risk_at,
    compute_due,
    sla_state,
    working_seconds_left,
)
from app.sla.models import SlaPolicyRecord
from app.sla.policies import PolicyCache, to_engine

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Clocks of integrations drift; a receipt further in the future than this is refused.
_FUTURE_TOLERANCE = timedelta(minutes=5)
# Intake writes through Core statements, without the unit of work's bookkeeping.
_INQUIRY = Inquiry.__table__  # type: ignore[attr-defined]
_MESSAGE = InquiryMessage.__table__  # type: ignore[attr-defined]
_DOCUMENT = InquiryDocument.__table__  # type: ignore[attr-defined]
_EVENT = InquiryEvent.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
_MESSAGE_KEY = ("office_code", "channel", "channel_message_id")


def new_reference() -> str:
    """A short, unguessable, human-friendly reference such as ``IQ-7K3F9QX2``."""
    # 40 random bits, 5 per character: one read of the system's randomness, not eight.
    bits = int.from_bytes(secrets.token_bytes(5))
    return "IQ-" + "".join(_CROCKFORD[(bits >> shift) & 31] for shift in range(35, -1, -5))


def _received(value: datetime | None, now: datetime, pointer: str) -> datetime:
    if value is None:
        return now
    if value > now + _FUTURE_TOLERANCE:
        raise InvalidField(pointer, "received_at lies in the future")
    return value


def _by_message_id(
    session: Session, office_code: str, channel: str, message_id: str, body: str | None = None
) -> Inquiry | None:
    """The inquiry holding the message ``message_id``; 409 ``message_id_reused`` when that
    message says something else than ``body`` (a new question must not be lost)."""
    row = session.exec(
        select(InquiryMessage.inquiry_id, InquiryMessage.body).where(
            InquiryMessage.office_code == office_code,
            InquiryMessage.channel == channel,
            InquiryMessage.channel_message_id == message_id,
        )
    ).first()
    if row is None:
        return None
    if body is not None and row[1] != body:
        raise MessageIdReused(
            "That channel message id was used for another message already; "
            "a new message needs a new id."
        )
    return session.get(Inquiry, row[0])


def fingerprint(data: InquiryCreate) -> str:
    """A digest of the request, to tell a retry from another request under the same key."""
    return hashlib.sha256(data.model_dump_json().encode()).hexdigest()


def _existing(
    session: Session, principal: Principal, data: InquiryCreate, key: str | None
) -> Inquiry | None:
    if data.channel_message_id is not None:
        found = _by_message_id(
            session, data.office_code, data.channel, data.channel_message_id, data.message
        )
        if found is not None:
            return found
    if key is None:
        return None
    found = session.exec(
        select(Inquiry).where(Inquiry.created_by == principal.sub, Inquiry.idempotency_key == key)
    ).first()
    if found is not None and found.idempotency_fingerprint != fingerprint(data):
        raise Unprocessable(
            "This Idempotency-Key was used for a different request; use a new key.",
            errors=[{"parameter": "Idempotency-Key", "detail": "reused for another request"}],
        )
    return found


@dataclass(frozen=True, slots=True)
class Posted:
    """The outcome of a post: the receipt, whether the inquiry is new, and the id of its
    inbound message when it is."""

    receipt: InquiryReceipt
    created: bool
    message_id: int | None = None


@dataclass(slots=True)
class _Rows:
    """The rows of one new inquiry: the inquiry, its inbound message, documents, audit
    event and, when the policy acknowledges, the receipt message and its outbox row (whose
    ``message_id`` the database assigns)."""

    inquiry: dict[str, Any]
    message: dict[str, Any]
    documents: list[dict[str, Any]]
    event: dict[str, Any]
    acknowledgement: dict[str, Any] | None
    outbox: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class _Written:
    """What the writes did: ``inquiry`` False when a unique constraint of the inquiry
    refused it (idempotency key, or a colliding random reference); ``message_id`` None
    when the inbound message had been recorded before."""

    inquiry: bool
    message_id: int | None


def _rows(
    data: InquiryCreate,
    principal: Principal,
    idempotency_key: str | None,
    policy_record: SlaPolicyRecord,
    zone: str,
    received_at: datetime,
    due: datetime,
    risk: datetime,
    now: datetime,
) -> _Rows:
    inquiry_id, reference, requester = uuid.uuid4(), new_reference(), data.requester
    channel = data.channel.value
    acknowledgement = outbox = None
    if policy_record.acknowledge:
        body = texts.acknowledgement(requester.name, reference, due, zone)
        acknowledgement = {
            "inquiry_id": inquiry_id,
            "office_code": data.office_code,
            "direction": "outbound",
            "kind": "acknowledgement",
            "channel": channel,
            "channel_message_id": None,
            "body": body,
            "sent_at": now,
            "created_at": now,
        }
        outbox = {
            "delivery_id": uuid.uuid4(),
            "inquiry_id": inquiry_id,
            "office_code": data.office_code,
            "kind": "acknowledgement",
            "channel": channel,
            "channel_account": data.channel_account,
            "recipient": recipient(channel, requester.email, requester.handle, requester.phone),
            "subject": texts.subject(reference, data.subject)
            if data.channel == Channel.email
            else None,
            "body": body,
            "inquiry_reference": reference,
            "requester_handle": requester.handle,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
    return _Rows(
        inquiry={
            "id": inquiry_id,
            "reference": reference,
            "office_code": data.office_code,
            "channel": channel,
            "channel_account": data.channel_account,
            "policy_code": policy_record.code,
            "status": Status.new.value,
            "subject": data.subject,
            "message": data.message,
            "requester_name": requester.name,
            "requester_email": requester.email,
            "requester_phone": requester.phone,
            "requester_handle": requester.handle,
            "requester_nik": requester.nik,
            "requester_npwp": requester.npwp,
            "requester_organization": requester.organization,
            "received_at": received_at,
            "due_at": due,
            "at_risk_at": risk,
            "paused_working_seconds": 0,
            "survey_code": secrets.token_urlsafe(12),
            "idempotency_key": idempotency_key,
            "idempotency_fingerprint": None if idempotency_key is None else fingerprint(data),
            "created_by": principal.sub,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        },
        message={
            "inquiry_id": inquiry_id,
            "office_code": data.office_code,
            "direction": "inbound",
            "kind": "request",
            "channel": channel,
            "channel_message_id": data.channel_message_id,
            "body": data.message,
            "sent_at": received_at,
            "created_at": now,
        },
        documents=[
            {"inquiry_id": inquiry_id, "type": d.type, "number": d.number, "legacy": d.legacy}
            for d in data.documents
        ],
        event={
            "inquiry_id": inquiry_id,
            "action": "created",
            "actor": principal.sub,
            "actor_roles": sorted(r.value for r in principal.roles),
            "from_status": None,
            "to_status": Status.new.value,
            "details": {"channel": channel},
            "at": now,
        },
        acknowledgement=acknowledgement,
        outbox=outbox,
    )


def _insert(session: Session, table: Any, values: dict[str, Any], **conflict: Any) -> int | None:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING`` the first primary key column: the
    key, or None when a unique constraint (of ``conflict``, else any) refused the row."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        module.insert(table)
        .values(**values)
        .on_conflict_do_nothing(**conflict)
        .returning(*table.primary_key.columns)
    )
    row = session.execute(statement).first()
    return None if row is None else row[0]


def _write(session: Session, rows: _Rows) -> _Written:
    """The rows, one statement each (SQLite, and any database)."""
    if _insert(session, _INQUIRY, rows.inquiry) is None:
        return _Written(inquiry=False, message_id=None)
    message_id = _insert(session, _MESSAGE, rows.message, index_elements=_MESSAGE_KEY)
    if message_id is None:
        return _Written(inquiry=True, message_id=None)
    if rows.documents:
        session.execute(insert(_DOCUMENT), rows.documents)
    session.execute(insert(_EVENT).values(**rows.event))
    if rows.acknowledgement is not None and rows.outbox is not None:
        receipt_id = _insert(session, _MESSAGE, rows.acknowledgement)
        session.execute(insert(_OUTBOX).values(**rows.outbox, message_id=receipt_id))
    return _Written(inquiry=True, message_id=message_id)


# Parameters PostgreSQL cannot type from the driver's value: JSON goes as text.
_JSON_COLUMNS = frozenset({"actor_roles", "details"})


@lru_cache(maxsize=64)
def _pg_statement(
    inquiry: tuple[str, ...],
    message: tuple[str, ...],
    documents: int,
    event: tuple[str, ...],
    acknowledgement: tuple[str, ...] | None,
    outbox: tuple[str, ...] | None,
    message_first: bool = False,
) -> str:
    """The one statement that writes a new inquiry on PostgreSQL (see ``_write_pg``), with
    ``$n`` parameters in the order ``_pg_parameters`` gives them. Its names are the tables'
    own columns, never input; every value is a bound parameter.

    ``message_first``: the inbound message is inserted first and the inquiry from it, so
    that a message seen before writes nothing at all, and an inquiry refused by one of its
    own unique constraints leaves the message without its inquiry, which the foreign key
    refuses at the statement's end: the statement then fails as a whole. For a statement
    that is a transaction of its own (``create_inquiry_at_once``)."""
    n = 2  # $1 and $2: the office and its calendar version

    def values(columns: tuple[str, ...]) -> str:
        nonlocal n
        out = []
        for column in columns:
            n += 1
            out.append(f"${n}::json" if column in _JSON_COLUMNS else f"${n}")
        return ", ".join(out)

    def insert(table: str, columns: tuple[str, ...]) -> tuple[str, str]:
        return f"INSERT INTO {table} ({', '.join(columns)})", f"SELECT {values(columns)}"

    inquiry_id = f"${3 + inquiry.index('id')}"
    # Placeholders are numbered in _pg_parameters' order, whatever the order of the parts.
    inquiry_sql, message_sql, event_sql = (
        insert("inquiry", inquiry),
        insert("inquiry_message", message),
        insert("inquiry_event", event),
    )
    key = f"ON CONFLICT ({', '.join(_MESSAGE_KEY)}) DO NOTHING RETURNING id"
    ok = "ok AS (SELECT FROM office WHERE code = $1 AND active AND calendar_version = $2)"
    if message_first:
        parts = [
            ok,
            f"m AS ({message_sql[0]} {message_sql[1]} FROM ok {key})",
            f"i AS ({inquiry_sql[0]} {inquiry_sql[1]} FROM m ON CONFLICT DO NOTHING RETURNING id)",
        ]
        written = "i"
    else:
        parts = [
            ok,
            f"i AS ({inquiry_sql[0]} {inquiry_sql[1]} FROM ok ON CONFLICT DO NOTHING RETURNING id)",
            f"m AS ({message_sql[0]} {message_sql[1]} FROM i {key})",
        ]
        written = "m"
    parts.append(f"e AS ({event_sql[0]} {event_sql[1]} FROM {written})")
    if documents:
        rows = ", ".join(f"({values(('type', 'number', 'legacy'))})" for _ in range(documents))
        parts.append(
            "d AS (INSERT INTO inquiry_document (inquiry_id, type, number, legacy) "  # noqa: S608
            f"SELECT {inquiry_id}, v.t, v.n, v.l FROM {written}, (VALUES {rows}) AS v (t, n, l))"
        )
    if acknowledgement is not None and outbox is not None:
        ack = insert("inquiry_message", acknowledgement)
        parts.append(f"a AS ({ack[0]} {ack[1]} FROM {written} RETURNING id)")
        parts.append(
            f"o AS (INSERT INTO outbox_message ({', '.join(outbox)}, message_id) "  # noqa: S608
            f"SELECT {values(outbox)}, a.id FROM a)"
        )
    return (
        "WITH "  # noqa: S608
        + ",\n".join(parts)
        + "\nSELECT EXISTS (SELECT FROM ok), EXISTS (SELECT FROM i), (SELECT id FROM m)"
    )


def _pg_statement_of(rows: _Rows, *, message_first: bool = False) -> str:
    """``_pg_statement`` for these rows."""
    return _pg_statement(
        tuple(rows.inquiry),
        tuple(rows.message),
        len(rows.documents),
        tuple(rows.event),
        None if rows.acknowledgement is None else tuple(rows.acknowledgement),
        None if rows.outbox is None else tuple(rows.outbox),
        message_first,
    )


def _pg_parameters(rows: _Rows, calendar_version: int) -> list[Any]:
    """The values of ``_pg_statement``'s parameters, in order."""
    params: list[Any] = [rows.inquiry["office_code"], calendar_version]
    params += rows.inquiry.values()
    params += rows.message.values()
    params += (json.dumps(v) if k in _JSON_COLUMNS else v for k, v in rows.event.items())
    for document in rows.documents:
        params += (document["type"], document["number"], document["legacy"])
    if rows.acknowledgement is not None and rows.outbox is not None:
        params += rows.acknowledgement.values()
        params += rows.outbox.values()
    return params


def _write_pg(session: Session, rows: _Rows, calendar_version: int) -> _Written | None:
    """The rows in one statement and one round trip (PostgreSQL's data-modifying ``WITH``;
    foreign keys are checked at its end). Each insert reads the one before it, so nothing
    is written after a refusal: the office must be active and its calendar still the
    version the due time was computed on (else None: reload and compute again), and the
    inquiry and its inbound message are ``ON CONFLICT DO NOTHING``.

    Executed on the session's own connection and transaction by a psycopg ``RawCursor``
    (``$n`` parameters, which the driver neither parses nor converts): measured with
    `python -m bench.bench_inquiries` and py-spy, see docs/performance.md."""
    statement = _pg_statement_of(rows)
    connection = cast("psycopg.Connection[Any]", session.connection().connection.driver_connection)
    with RawCursor(connection) as cursor:
        cursor.execute(statement, _pg_parameters(rows, calendar_version))
        row = cursor.fetchone()
    assert row is not None
    office_ok, inquiry, message_id = row
    if not office_ok:
        return None
    return _Written(inquiry=inquiry, message_id=message_id)


def _sla_view(
    calendar: WorkingCalendar,
    policy: SlaPolicy,
    policy_code: str,
    due: DueResult,
    risk: datetime,
    now: datetime,
) -> SlaView:
    """A new inquiry's clock, from the one computation of its due time (the same view
    ``app.inquiries.clock.view`` gives of the stored inquiry)."""
    return SlaView(
        policy_code=policy_code,
        due_at=due.due_at.astimezone(calendar.tz),
        start_day=due.start_day,
        late_intake=due.late_intake,
        state=sla_state(calendar, policy, due.due_at, now),
        working_seconds_left=working_seconds_left(calendar, due.due_at, now),
        at_risk_at=risk.astimezone(calendar.tz),
        first_response_at=None,
        outcome=None,
    )


@dataclass(frozen=True, slots=True)
class _New:
    """A new inquiry computed once: its rows, and its clock for the receipt."""

    rows: _Rows
    calendar: WorkingCalendar
    policy: SlaPolicy
    policy_code: str
    due: DueResult
    risk: datetime

    def receipt(self, data: InquiryCreate, now: datetime) -> InquiryReceipt:
        inquiry_id = self.rows.inquiry["id"]
        return InquiryReceipt(
            id=inquiry_id,
            reference=self.rows.inquiry["reference"],
            office_code=data.office_code,
            channel=data.channel,
            status=Status.new,
            received_at=self.rows.inquiry["received_at"],
            sla=_sla_view(self.calendar, self.policy, self.policy_code, self.due, self.risk, now),
            etag=etag_of(inquiry_id, 1),
        )


def _new(
    data: InquiryCreate,
    principal: Principal,
    idempotency_key: str | None,
    policy_record: SlaPolicyRecord,
    policy: SlaPolicy,
    calendar: WorkingCalendar,
    received_at: datetime,
    now: datetime,
) -> _New:
    """The due time, computed once, and the rows of a new inquiry (CalendarRangeError when
    the receipt or its due time falls outside the calendar)."""
    due = compute_due(calendar, policy, received_at)
    risk = at_risk_at(calendar, policy, due.due_at)
    rows = _rows(
        data,
        principal,
        idempotency_key,
        policy_record,
        calendar.tz.key,
        received_at,
        due.due_at,
        risk,
        now,
    )
    return _New(rows, calendar, policy, policy_record.code, due, risk)


def _earlier(
    session: Session,
    calendars: CalendarCache,
    policies: PolicyCache,
    principal: Principal,
    inquiry: Inquiry,
    now: datetime,
) -> Posted:
    viewer = Viewer(session, calendars, policies, principal, now)
    return Posted(viewer.receipt(inquiry), created=False)


def _calendar(
    session: Session, calendars: CalendarCache, office_code: str
) -> tuple[WorkingCalendar, int]:
    """The office's calendar checked against the office row (NotFound, or 422 when the
    office takes no inquiries), and the version it was built from."""
    office = get_office(session=session, code=office_code)
    if not office.active:
        raise InvalidField("#/office_code", "this office does not take inquiries now")
    version = office.calendar_version
    return calendars.get(session, office.code, fresh=True, version=version), version


def create_inquiry(
    *,
    session: Session,
    calendars: CalendarCache,
    policies: PolicyCache,
    principal: Principal,
    data: InquiryCreate,
    idempotency_key: str | None,
    now: datetime,
    maybe_written: uuid.UUID | None = None,
) -> Posted:
    """Record a new inquiry; ``created`` is False when it had been posted before (same
    channel message id in the office, or the caller's same idempotency key).

    The due time is computed once, for the rows and the receipt alike. No look-up first
    and no savepoint: the inquiry and its message are ``INSERT ... ON CONFLICT DO
    NOTHING``, so the unique constraints decide (a racing post of the same message waits
    for the other transaction, then yields), and the rare loser removes the one row it
    wrote and answers with the winner's inquiry. On PostgreSQL the rows go in one
    statement that also verifies the office's calendar version the due time was computed
    on, so the office row needs no read of its own while the cached calendar is current.

    ``maybe_written``: the id of an inquiry that ``create_inquiry_at_once`` may have
    committed before its connection failed; if it is there, it is this post's."""
    access.ensure_office_staff(principal, data.office_code)
    access.ensure_channel(principal, data.channel)
    if maybe_written is not None:
        written_before = session.get(Inquiry, maybe_written)
        if written_before is not None:
            earlier = _earlier(session, calendars, policies, principal, written_before, now)
            return Posted(earlier.receipt, created=True)
    postgres = session.get_bind().dialect.name == "postgresql"
    known = calendars.known(data.office_code) if postgres else None
    try:
        if data.channel == Channel.email and data.requester.email is None:
            raise InvalidField("#/requester/email", "an email inquiry needs the requester's email")
        received_at = _received(data.received_at, now, "#/received_at")
    except InvalidField:
        # An unknown or closed office is the first refusal.
        _calendar(session, calendars, data.office_code)
        raise
    policy_record = policies.resolve(session, data.office_code, data.channel)
    policy = policies.engine_policy(policy_record)
    for _attempt in range(4):
        calendar, version = known or _calendar(session, calendars, data.office_code)
        try:
            new = _new(
                data, principal, idempotency_key, policy_record, policy, calendar, received_at, now
            )
        except CalendarRangeError as exc:
            if known is not None:
                known = None
                continue  # the office's row decides first, and a changed calendar may fit
            raise InvalidField("#/received_at", str(exc)) from exc
        rows = new.rows
        written = _write_pg(session, rows, version) if postgres else _write(session, rows)
        if written is None:
            # The office changed since its calendar was cached (or is unknown or closed):
            # read it, and compute again.
            known = None
            continue
        if not written.inquiry or written.message_id is None:
            if written.inquiry:
                # A racing (or earlier) post of the same message won: this inquiry goes.
                session.execute(delete(_INQUIRY).where(_INQUIRY.c.id == rows.inquiry["id"]))
            # Else the caller's idempotency key was used before (or by a racing request
            # that committed first), or the random reference collided.
            existing = _existing(session, principal, data, idempotency_key)
            if existing is not None:
                return _earlier(session, calendars, policies, principal, existing, now)
            continue
        return Posted(new.receipt(data, now), created=True, message_id=written.message_id)
    raise Conflict("Could not record the inquiry; try again.")


async def create_inquiry_at_once(
    *,
    writer: RawWriter,
    calendars: CalendarCache,
    policies: PolicyCache,
    principal: Principal,
    data: InquiryCreate,
    idempotency_key: str | None,
    now: datetime,
) -> tuple[Posted | None, uuid.UUID | None]:
    """``create_inquiry`` on the event loop, in the common case: PostgreSQL, the office's
    calendar and the policies in memory, a new message. The rows go in ``_pg_statement``
    (``message_first``) on one of the loop's own connections, a transaction of its own
    (the request's only one), with the same checks: the office active and its calendar
    the version the due time was computed on, the inquiry and its message refused by
    their unique constraints.

    The first value is None when the loop cannot decide: another database, a cache to
    fill, a refusal to explain, a message or key seen before, a failure. Then the caller
    runs ``create_inquiry``, which decides as always, with the second value as
    ``maybe_written``: the id of an inquiry that may have been committed when the
    connection failed. What this saves, measured with `python -m bench.bench_inquiries`:
    docs/performance.md (*Intake*)."""
    access.ensure_office_staff(principal, data.office_code)
    access.ensure_channel(principal, data.channel)
    known = calendars.known(data.office_code)
    policy_record = policies.peek(data.office_code, data.channel)
    if known is None or policy_record is None or writer.dialect_name() != "postgresql":
        return None, None
    if data.channel == Channel.email and data.requester.email is None:
        return None, None
    if data.received_at is not None and data.received_at > now + _FUTURE_TOLERANCE:
        return None, None
    received_at = data.received_at or now
    calendar, version = known
    policy = policies.engine_policy(policy_record)
    try:
        new = _new(
            data, principal, idempotency_key, policy_record, policy, calendar, received_at, now
        )
    except CalendarRangeError:
        return None, None
    rows = new.rows
    inquiry_id = rows.inquiry["id"]
    statement = _pg_statement_of(rows, message_first=True)
    try:
        async with writer.postgres() as connection:
            if connection is None:
                return None, None
            async with psycopg.AsyncRawCursor(connection) as cursor:
                await cursor.execute(statement, _pg_parameters(rows, version))
                row = await cursor.fetchone()
    except psycopg.errors.ForeignKeyViolation:
        return None, None  # the inquiry was refused: nothing was written
    except Exception:
        return None, inquiry_id
    if row is None or not all(row[:2]) or row[2] is None:
        return None, None  # nothing was written
    return Posted(new.receipt(data, now), created=True, message_id=row[2]), None


def _same_inquiry(seen: Inquiry | None, inquiry: Inquiry) -> bool:
    """False (posted before) when the message is this inquiry's; 409 when another's."""
    if seen is None or seen.id != inquiry.id:
        raise MessageIdReused("That channel message id was used for another message already.")
    return False


def _follow_up_channel(principal: Principal, data: FollowUpIn) -> Channel:
    """The channel the follow-up names; when it names none, the one channel of the token's
    ``channels`` claim (422 when the claim is absent or names several)."""
    if data.channel is not None:
        return data.channel
    if principal.channels is not None and len(principal.channels) == 1:
        return next(iter(principal.channels))
    raise InvalidField(
        "#/channel",
        "name the follow-up's channel (it may be left out only when the token's channels "
        "claim names exactly one)",
    )


def _check_channel(inquiry: Inquiry, channel: Channel, via_email: bool) -> None:
    """A follow-up comes by the inquiry's own channel: an email inquiry's as mail (the
    email endpoint or the mailbox), any other inquiry's from its channel's integration,
    never as mail."""
    if channel != inquiry.channel:
        raise FollowUpChannel(
            f"This inquiry came by {inquiry.channel}; a follow-up by {channel} cannot join it."
        )
    if (inquiry.channel == Channel.email) != via_email:
        expected = "as mail" if inquiry.channel == Channel.email else "from its integration"
        raise FollowUpChannel(f"Follow-ups of this {inquiry.channel} inquiry come {expected}.")


def _closed_long_ago(inquiry: Inquiry, now: datetime) -> bool:
    days = get_settings().reopen_days
    return inquiry.closed_at is None or now - inquiry.closed_at > timedelta(days=days)


def _continue_in_new(
    *,
    session: Session,
    calendars: CalendarCache,
    policies: PolicyCache,
    principal: Principal,
    old: Inquiry,
    data: FollowUpIn,
    now: datetime,
) -> Inquiry:
    """A new inquiry for a follow-up to one closed long ago, linked to it both ways (the
    new one's ``previous_inquiry_id``, an audit event on each)."""
    try:
        body = InquiryCreate.model_validate(
            {
                "office_code": old.office_code,
                "channel": old.channel,
                "channel_account": old.channel_account,
                "channel_message_id": data.channel_message_id,
                "received_at": data.received_at,
                "requester": {
                    "name": old.requester_name,
                    "email": old.requester_email,
                    "phone": old.requester_phone,
                    "handle": old.requester_handle,
                    "nik": old.requester_nik,
                    "npwp": old.requester_npwp,
                    "organization": old.requester_organization,
                },
                "subject": old.subject,
                "message": data.message,
            }
        )
    except ValidationError:
        # The requester's data is gone (erased or past retention): nothing to reach them by.
        raise InquiryClosed(
            "The inquiry was closed long ago and its requester's data is no longer held; "
            "post the message as a new inquiry."
        ) from None
    posted = create_inquiry(
        session=session,
        calendars=calendars,
        policies=policies,
        principal=principal,
        data=body,
        idempotency_key=None,
        now=now,
    )
    new = session.get(Inquiry, posted.receipt.id)
    assert new is not None
    new.previous_inquiry_id = old.id
    session.add(new)
    record(session, new, principal, "continues", None, None, {"reference": old.reference})
    record(
        session,
        old,
        principal,
        "continued",
        Status.closed,
        Status.closed,
        {"reference": new.reference, "inquiry_id": str(new.id)},
    )
    session.flush()
    return new


def _reopen_for_follow_up(
    session: Session, principal: Principal, inquiry: Inquiry, now: datetime
) -> None:
    inquiry.status = Status.in_progress
    inquiry.closed_at = None
    inquiry.reopened_at = now
    record(
        session,
        inquiry,
        principal,
        "reopen",
        Status.closed,
        Status.in_progress,
        {"by": "follow_up"},
    )


def post_follow_up(
    *,
    session: Session,
    calendars: CalendarCache,
    policies: PolicyCache,
    principal: Principal,
    inquiry: Inquiry,
    data: FollowUpIn,
    now: datetime,
    via_email: bool = False,
) -> tuple[Inquiry, bool]:
    """Record the requester's follow-up; an inquiry awaiting them resumes its clock, one
    closed within ``INFODESK_REOPEN_DAYS`` is reopened, and one closed before that is
    continued in a new inquiry linked to it (returned instead). ``via_email``: the follow-up
    came as a mail (the email channel's own path). The follow-up's channel must be the
    inquiry's, and one the token's ``channels`` claim names."""
    access.ensure_may(session, principal, "follow_up", inquiry)
    channel = _follow_up_channel(principal, data)
    access.ensure_channel(principal, channel)
    _check_channel(inquiry, channel, via_email)
    if data.channel_message_id is not None:
        seen = _by_message_id(
            session, inquiry.office_code, inquiry.channel, data.channel_message_id, data.message
        )
        if seen is not None:
            if seen.previous_inquiry_id == inquiry.id:
                return seen, False  # posted before, and continued in a new inquiry
            return inquiry, _same_inquiry(seen, inquiry)
    if inquiry.status == Status.closed:
        if _closed_long_ago(inquiry, now):
            new = _continue_in_new(
                session=session,
                calendars=calendars,
                policies=policies,
                principal=principal,
                old=inquiry,
                data=data,
                now=now,
            )
            return new, True
        _reopen_for_follow_up(session, principal, inquiry, now)
    received_at = _received(data.received_at, now, "#/received_at")
    if received_at < inquiry.received_at:
        raise InvalidField("#/received_at", "a follow-up cannot precede the inquiry")
    message = InquiryMessage(
        inquiry_id=inquiry.id,
        office_code=inquiry.office_code,
        direction="inbound",
        kind="follow_up",
        channel=inquiry.channel,
        channel_message_id=data.channel_message_id,
        body=data.message,
        sent_at=received_at,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        # A racing post of the same message won.
        assert data.channel_message_id is not None
        seen = _by_message_id(
            session, inquiry.office_code, inquiry.channel, data.channel_message_id
        )
        return inquiry, _same_inquiry(seen, inquiry)
    before = Status(inquiry.status)
    if before == Status.awaiting_requester:
        calendar = calendars.get(session, inquiry.office_code, fresh=True)
        policy = to_engine(
            policies.resolve(
                session, inquiry.office_code, Channel(inquiry.channel), inquiry.policy_code
            )
        )
        resumed_at = max(received_at, inquiry.awaiting_since or received_at)
        inquiry.paused_working_seconds += pause_so_far(calendar, policy, inquiry, resumed_at)
        inquiry.awaiting_since = None
        clock = schedule(calendar, policy, inquiry.received_at, inquiry.paused_working_seconds)
        inquiry.due_at, inquiry.at_risk_at = clock.due_at, clock.at_risk_at
        inquiry.status = Status.in_progress
    touch(inquiry, now)
    session.add(inquiry)
    record(
        session,
        inquiry,
        principal,
        "follow_up",
        before,
        Status(inquiry.status),
        {"message_id": message.id},
    )
    session.flush()
    return inquiry, True
