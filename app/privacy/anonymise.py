"""Anonymising a requester's data: on request (erasure) or after the retention period.

What is removed: the requester's identity (name, contacts, NIK, NPWP, organisation), the
texts they wrote and that were written to them, the numbers of their documents, their
mails and attachments, the addresses and texts of deliveries, their complaints' contacts
and texts, and their survey suggestions. What stays: offices, channels, instants, status,
SLA figures, ticket and complaint numbers, survey scores and the audit trail, so that
statistics and reports keep counting them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Executable, delete, update
from sqlmodel import Session, col, select

from app.channels.models import EmailAttachment, InboundEmail
from app.channels.storage import get_store
from app.evaluation.models import Complaint, SurveyResponse
from app.inquiries.models import (
    Consultation,
    Inquiry,
    InquiryDocument,
    InquiryMessage,
    OutboxMessage,
)
from app.search.models import SearchEntry

REMOVED = "[dihapus]"
ANONYMOUS = "Anonim"


@dataclass
class Anonymised:
    """What one anonymisation touched, and the stored blobs to delete after commit."""

    inquiries: int = 0
    messages: int = 0
    documents: int = 0
    emails: int = 0
    attachments: int = 0
    deliveries: int = 0
    complaints: int = 0
    survey_suggestions: int = 0
    blobs: set[str] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if isinstance(v, int)}


def anonymise(
    session: Session,
    inquiry_ids: list[uuid.UUID],
    complaints: list[Complaint],
    now: datetime,
) -> Anonymised:
    """Remove the personal data of these inquiries and complaints (flushed, not committed)."""
    done = Anonymised()
    if inquiry_ids:
        ids = col(Inquiry.id).in_(inquiry_ids)
        done.inquiries = _rows(
            session,
            update(Inquiry)
            .where(ids)
            .values(
                requester_name=ANONYMOUS,
                requester_email=None,
                requester_phone=None,
                requester_handle=None,
                requester_nik=None,
                requester_npwp=None,
                requester_organization=None,
                subject=None,
                message=REMOVED,
                anonymised_at=now,
            ),
        )
        of_inquiries = col(InquiryMessage.inquiry_id).in_(inquiry_ids)
        done.messages = _rows(
            session, update(InquiryMessage).where(of_inquiries).values(body=REMOVED)
        )
        done.documents = _rows(
            session,
            delete(InquiryDocument).where(col(InquiryDocument.inquiry_id).in_(inquiry_ids)),
        )
        session.execute(
            update(Consultation)
            .where(col(Consultation.inquiry_id).in_(inquiry_ids))
            .values(question=REMOVED, answer=None)
        )
        outbox = col(OutboxMessage.inquiry_id).in_(inquiry_ids)
        # Nothing more goes out to an erased requester.
        session.execute(
            update(OutboxMessage)
            .where(outbox, col(OutboxMessage.status) == "pending")
            .values(status="dead", last_error="requester data erased")
        )
        done.deliveries = _rows(
            session,
            update(OutboxMessage)
            .where(outbox)
            .values(recipient="", subject=None, body=REMOVED, requester_handle=None),
        )
        emails = col(InboundEmail.inquiry_id).in_(inquiry_ids)
        done.blobs |= set(session.exec(select(InboundEmail.raw_key).where(emails)).all())
        done.emails = _rows(
            session, update(InboundEmail).where(emails).values(sender=None, subject=None)
        )
        attachments = col(EmailAttachment.inquiry_id).in_(inquiry_ids)
        done.blobs |= set(session.exec(select(EmailAttachment.blob_key).where(attachments)).all())
        done.attachments = _rows(
            session, update(EmailAttachment).where(attachments).values(filename=REMOVED)
        )
        # The question and answer leave the search index with the rest.
        session.execute(delete(SearchEntry).where(col(SearchEntry.inquiry_id).in_(inquiry_ids)))
        done.survey_suggestions = _rows(
            session,
            update(SurveyResponse)
            .where(
                col(SurveyResponse.inquiry_id).in_(inquiry_ids),
                col(SurveyResponse.suggestion).is_not(None),
            )
            .values(suggestion=None),
        )
    for complaint in complaints:
        complaint.name = ANONYMOUS
        complaint.email = None
        complaint.phone = None
        complaint.message = REMOVED
        if complaint.response is not None:
            complaint.response = REMOVED
        session.add(complaint)
    done.complaints = len(complaints)
    session.flush()
    session.expire_all()
    # A blob still referenced by data that stays (the same attachment in another
    # person's mail) is kept.
    if done.blobs:
        kept = set(
            session.exec(
                select(InboundEmail.raw_key).where(
                    col(InboundEmail.raw_key).in_(done.blobs),
                    col(InboundEmail.sender).is_not(None),
                )
            ).all()
        ) | set(
            session.exec(
                select(EmailAttachment.blob_key).where(
                    col(EmailAttachment.blob_key).in_(done.blobs),
                    col(EmailAttachment.filename) != REMOVED,
                )
            ).all()
        )
        done.blobs -= kept
    return done


def delete_blobs(keys: set[str]) -> None:
    """Delete stored mail and attachments; run once the anonymisation is committed."""
    store = get_store()
    for key in keys:
        store.delete(key)


def _rows(session: Session, statement: Executable) -> int:
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
