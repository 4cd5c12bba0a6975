"""The officer's workflow: assign, request information, consult, answer, escalate,
resolve, close and reopen.

Each action checks the caller's right, the ETag (``If-Match``) and the state machine,
changes the inquiry, writes its audit event and, for texts meant for the requester, the
message and its outbox row, all in the request's transaction. The first answer or
escalation notice fixes the SLA outcome; nothing afterwards changes it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app.calendar.cache import CalendarCache
from app.calendar.engine import WorkingCalendar
from app.core.channels import Channel
from app.core.config import get_settings
from app.core.errors import Forbidden, NotFound
from app.core.security import Principal, Role
from app.inquiries import access, hooks, texts
from app.inquiries.clock import pause_so_far, schedule
from app.inquiries.errors import (
    AssigneeTaken,
    ConsultationClosed,
    InquiryChanged,
    InvalidTransition,
)
from app.inquiries.events import record, touch
from app.inquiries.models import Consultation, Inquiry, InquiryMessage, OutboxMessage
from app.inquiries.schemas import ConsultationIn, EscalateIn
from app.inquiries.states import TRANSITIONS, Status
from app.inquiries.templating import FilledTemplate, fill_template
from app.inquiries.tickets import TicketNumberAllocator
from app.offices import units
from app.sla.engine import SlaPolicy
from app.sla.policies import PolicyCache, to_engine


def etag(inquiry: Inquiry) -> str:
    """The entity tag of the inquiry's current version."""
    return etag_of(inquiry.id, inquiry.version)


def etag_of(inquiry_id: object, version: int) -> str:
    """The entity tag of version ``version`` of the inquiry ``inquiry_id``."""
    return f'"{inquiry_id}-v{version}"'


def recipient(channel: str, email: str | None, handle: str | None, phone: str | None) -> str:
    """Where the requester's texts go: their address by email, else their channel handle
    (or, lacking one, their address or phone number)."""
    if channel == Channel.email:
        return email or ""
    return handle or email or phone or ""


def load(session: Session, inquiry_id: object, *, for_update: bool = False) -> Inquiry:
    """The inquiry, or NotFound; locked for the transaction when ``for_update``."""
    inquiry = session.get(Inquiry, inquiry_id, with_for_update=for_update)
    if inquiry is None:
        raise NotFound("No such inquiry.")
    return inquiry


def outbox_row(inquiry: Inquiry, message: InquiryMessage, now: datetime) -> OutboxMessage:
    """The outbox row delivering the flushed outbound ``message`` to the requester."""
    assert message.id is not None
    return OutboxMessage(
        inquiry_id=inquiry.id,
        message_id=message.id,
        office_code=inquiry.office_code,
        kind=message.kind,
        channel=inquiry.channel,
        channel_account=inquiry.channel_account,
        recipient=recipient(
            inquiry.channel,
            inquiry.requester_email,
            inquiry.requester_handle,
            inquiry.requester_phone,
        ),
        subject=texts.subject(inquiry.reference, inquiry.subject, inquiry.ticket_number)
        if inquiry.channel == Channel.email
        else None,
        body=message.body,
        inquiry_reference=inquiry.reference,
        requester_handle=inquiry.requester_handle,
        ticket_number=inquiry.ticket_number,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )


class Workflow:
    """Actions on one inquiry by one caller."""

    def __init__(
        self,
        *,
        session: Session,
        calendars: CalendarCache,
        policies: PolicyCache,
        principal: Principal,
        inquiry: Inquiry,
        now: datetime,
    ) -> None:
        self.session = session
        self.calendars = calendars
        self.policies = policies
        self.principal = principal
        self.inquiry = inquiry
        self.now = now

    def _begin(self, action: str, if_match: str | None) -> Status:
        access.ensure_may(self.session, self.principal, action, self.inquiry)
        self._check_etag(if_match)
        current = Status(self.inquiry.status)
        allowed, _ = TRANSITIONS[action]
        if current not in allowed:
            raise InvalidTransition(
                f"Cannot {action.replace('_', '-')} an inquiry that is {current.value}.",
                current_status=current.value,
            )
        return current

    def _check_etag(self, if_match: str | None) -> None:
        if if_match is None:
            return
        current = etag(self.inquiry)
        # If-Match may list several tags (RFC 9110); weak tags never match.
        tags = {t.strip() for t in if_match.split(",")}
        if current not in tags and "*" not in tags:
            raise InquiryChanged(
                "The inquiry has changed since you read it; read it again.", current_etag=current
            )

    def _finish(
        self, action: str, before: Status, after: Status | None, details: dict[str, object]
    ) -> Inquiry:
        if after is not None:
            self.inquiry.status = after
        touch(self.inquiry, self.now)
        self.session.add(self.inquiry)
        record(
            self.session,
            self.inquiry,
            self.principal,
            action,
            before,
            Status(self.inquiry.status),
            details,
        )
        self.session.flush()
        return self.inquiry

    def _policy(self) -> SlaPolicy:
        record_ = self.policies.resolve(
            self.session,
            self.inquiry.office_code,
            Channel(self.inquiry.channel),
            self.inquiry.policy_code,
        )
        return to_engine(record_)

    def _calendar(self) -> WorkingCalendar:
        # The office's calendar as this transaction sees it. Reading its version does not
        # flush the inquiry's pending changes: they go in the action's last flush, so the
        # inquiry is updated once (each UPDATE of it touches all its indexes).
        with self.session.no_autoflush:
            return self.calendars.get(self.session, self.inquiry.office_code, fresh=True)

    def _end_pause(self) -> None:
        inquiry = self.inquiry
        if inquiry.awaiting_since is None:
            return
        calendar = self._calendar()
        policy = self._policy()
        inquiry.paused_working_seconds += pause_so_far(calendar, policy, inquiry, self.now)
        inquiry.awaiting_since = None
        clock = schedule(calendar, policy, inquiry.received_at, inquiry.paused_working_seconds)
        inquiry.due_at, inquiry.at_risk_at = clock.due_at, clock.at_risk_at

    def _claim_if_new(self, before: Status) -> None:
        if before == Status.new:
            self.inquiry.assignee = self.inquiry.assignee or self.principal.sub

    def _to_requester(
        self, kind: str, body: str, template: FilledTemplate | None = None
    ) -> InquiryMessage:
        # Flushed for its id (the outbox row and the event name it), with what the action
        # has changed on the inquiry so far: request-info and answer send before they
        # change it, so that the inquiry is updated once, by the action's last flush.
        inquiry = self.inquiry
        message = InquiryMessage(
            inquiry_id=inquiry.id,
            office_code=inquiry.office_code,
            direction="outbound",
            kind=kind,
            channel=inquiry.channel,
            body=body,
            author=self.principal.sub,
            template_id=template.template_id if template else None,
            template_code=template.code if template else None,
            template_version=template.version if template else None,
            sent_at=self.now,
        )
        self.session.add(message)
        self.session.flush()
        self.session.add(outbox_row(inquiry, message, self.now))
        return message

    def _first_response(self) -> None:
        inquiry = self.inquiry
        if inquiry.first_response_at is None:
            inquiry.first_response_at = self.now
            inquiry.sla_outcome = "met" if self.now <= inquiry.due_at else "missed"
            inquiry.first_responder = self.principal.sub
            calendar = self._calendar()
            paused = (
                inquiry.paused_working_seconds
                if self._policy().pause_when_awaiting_requester
                else 0
            )
            elapsed = calendar.working_seconds_between(inquiry.received_at, self.now)
            inquiry.first_response_working_seconds = max(0, elapsed - paused)

    def _survey_url(self) -> str:
        return f"{get_settings().public_base_url.rstrip('/')}/survey/{self.inquiry.survey_code}"

    # The actions, one method each.

    def assign(self, assignee: str, if_match: str | None) -> Inquiry:
        """Give the inquiry to ``assignee``; an officer may only take it themselves."""
        before = self._begin("assign", if_match)
        if not self.principal.has_any({Role.coordinator, Role.supervisor}):
            if assignee != self.principal.sub:
                raise Forbidden("an officer may assign inquiries only to themselves")
            if self.inquiry.assignee not in (None, self.principal.sub):
                raise AssigneeTaken(
                    "The inquiry is assigned to someone else; a coordinator can reassign it.",
                    current_status=self.inquiry.status,
                )
        self.inquiry.assignee = assignee
        after = Status.in_progress if before == Status.new else None
        return self._finish("assign", before, after, {"assignee": assignee})

    def request_info(self, message: str, if_match: str | None) -> Inquiry:
        """Ask the requester for missing data; the clock pauses as the policy says."""
        before = self._begin("request_info", if_match)
        inquiry = self.inquiry
        body = texts.info_request(inquiry.requester_name, inquiry.reference, message)
        sent = self._to_requester("info_request", body)
        self._claim_if_new(before)
        if inquiry.awaiting_since is None:
            inquiry.awaiting_since = self.now
        return self._finish(
            "request_info", before, Status.awaiting_requester, {"message_id": sent.id}
        )

    def consult(self, data: ConsultationIn, if_match: str | None) -> Consultation:
        """Ask a coordinator, the supervisor or a related unit; internal only."""
        before = self._begin("consult", if_match)
        unit_office = None
        if data.unit_code is not None:
            unit_office = units.find_unit(
                session=self.session, office_code=self.inquiry.office_code, unit_code=data.unit_code
            ).home_office_code
        self._claim_if_new(before)
        consultation = Consultation(
            inquiry_id=self.inquiry.id,
            with_role=data.with_,
            unit_code=data.unit_code,
            unit_office_code=unit_office,
            question=data.question,
            asked_by=self.principal.sub,
            asked_at=self.now,
        )
        self.session.add(consultation)
        self.session.flush()
        after = Status.in_progress if before == Status.new else None
        self._finish(
            "consult",
            before,
            after,
            {"consultation_id": consultation.id, "with": data.with_, "unit_code": data.unit_code},
        )
        return consultation

    def reply(self, consultation_id: int, answer: str, if_match: str | None) -> Consultation:
        """Answer a consultation: its addressee (a unit's member for a unit)."""
        consultation = self.session.get(Consultation, consultation_id)
        if consultation is None or consultation.inquiry_id != self.inquiry.id:
            raise NotFound("No such consultation.")
        principal = self.principal
        is_unit_addressee = consultation.with_role == "unit" and access.unit_consulted(
            principal, self.inquiry, consultation
        )
        if not is_unit_addressee:
            access.ensure_may(self.session, principal, "reply", self.inquiry)
            if consultation.with_role == "unit" or not principal.has_any(
                {Role(consultation.with_role)}
            ):
                raise Forbidden(f"this consultation is addressed to the {consultation.with_role}")
        self._check_etag(if_match)
        if consultation.answered_at is not None:
            raise ConsultationClosed(
                "This consultation has been answered already.",
                current_status=self.inquiry.status,
            )
        consultation.answer = answer
        consultation.answered_by = principal.sub
        consultation.answered_at = self.now
        self.session.add(consultation)
        status = Status(self.inquiry.status)
        self._finish("consultation_reply", status, None, {"consultation_id": consultation.id})
        return consultation

    def answer(
        self, message: str | None, if_match: str | None, template: str | None = None
    ) -> Inquiry:
        """Send the answer, written by hand or from a template (then ``message`` is extra
        text after it); the first answer or escalation fixes the SLA outcome."""
        before = self._begin("answer", if_match)
        self._end_pause()
        inquiry = self.inquiry
        # Filled after the pause ended, so that {{batas_waktu}} is the due time as it is now.
        filled = fill_template(self.session, inquiry, template) if template else None
        text = "\n\n".join(part for part in (filled and filled.text, message) if part)
        body = texts.answer(inquiry.requester_name, inquiry.reference, text, self._survey_url())
        sent = self._to_requester("answer", body, filled)
        self._claim_if_new(before)
        inquiry.answered_at = self.now
        hooks.answered(self.session, inquiry, text, self.now)
        self._first_response()
        details: dict[str, object] = {"message_id": sent.id, "sla_outcome": inquiry.sla_outcome}
        if filled is not None:
            details |= {"template": filled.code, "template_version": filled.version}
        return self._finish("answer", before, Status.answered, details)

    def escalate(self, data: EscalateIn, if_match: str | None) -> Inquiry:
        """Hand over to a unit with a ticket number, which the requester receives. An
        inquiry escalated before keeps its number: the requester already has it."""
        before = self._begin("escalate", if_match)
        inquiry = self.inquiry
        unit = units.find_unit(
            session=self.session, office_code=inquiry.office_code, unit_code=data.unit_code
        )
        self._claim_if_new(before)
        self._end_pause()
        number = inquiry.ticket_number
        if number is None:
            tz = self.calendars.get(self.session, inquiry.office_code).tz
            number = TicketNumberAllocator().allocate(
                self.session, inquiry.office_code, self.now.astimezone(tz).year
            )
        inquiry.ticket_number = number
        inquiry.escalated_unit_code = data.unit_code
        inquiry.escalated_unit_office = unit.home_office_code
        inquiry.escalated_at = self.now
        body = texts.escalation_notice(
            inquiry.requester_name, inquiry.reference, number, data.message, self._survey_url()
        )
        sent = self._to_requester("escalation_notice", body)
        self._first_response()
        return self._finish(
            "escalate",
            before,
            Status.escalated,
            {
                "ticket_number": number,
                "unit_code": data.unit_code,
                "reason": data.reason,
                "message_id": sent.id,
                "sla_outcome": inquiry.sla_outcome,
            },
        )

    def resolve(self, message: str, if_match: str | None) -> Inquiry:
        """The escalated ticket's final answer to the requester."""
        before = self._begin("resolve", if_match)
        inquiry = self.inquiry
        assert inquiry.ticket_number is not None
        body = texts.resolution(
            inquiry.requester_name,
            inquiry.reference,
            inquiry.ticket_number,
            message,
            self._survey_url(),
        )
        sent = self._to_requester("resolution", body)
        inquiry.resolved_at = self.now
        hooks.answered(self.session, inquiry, message, self.now)
        return self._finish("resolve", before, Status.resolved, {"message_id": sent.id})

    def close(self, if_match: str | None) -> Inquiry:
        """Close an answered or resolved inquiry."""
        before = self._begin("close", if_match)
        self.inquiry.closed_at = self.now
        return self._finish("close", before, Status.closed, {})

    def reopen(self, if_match: str | None) -> Inquiry:
        """Take a closed inquiry up again; its SLA outcome stays as it was."""
        before = self._begin("reopen", if_match)
        self.inquiry.closed_at = None
        self.inquiry.reopened_at = self.now
        return self._finish("reopen", before, Status.in_progress, {})
