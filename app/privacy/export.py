"""Everything the service holds on one person, as one JSON document (UU 27/2022)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from app.channels.models import EmailAttachment, InboundEmail
from app.evaluation.models import Complaint, SurveyResponse
from app.inquiries.models import (
    Consultation,
    Inquiry,
    InquiryDocument,
    InquiryMessage,
)


def export(
    session: Session, inquiry_ids: list[uuid.UUID], complaints: list[Complaint]
) -> dict[str, Any]:
    """The person's inquiries (with messages, documents, consultations, mails and survey
    answers) and complaints."""
    inquiries = []
    for inquiry_id in inquiry_ids:
        inquiry = session.get(Inquiry, inquiry_id)
        if inquiry is None:
            continue
        inquiries.append(_inquiry(session, inquiry))
    return {
        "inquiries": inquiries,
        "complaints": [_complaint(c) for c in complaints],
    }


def _inquiry(session: Session, inquiry: Inquiry) -> dict[str, Any]:
    def rows(model: Any, order: Any) -> list[Any]:
        statement = select(model).where(model.inquiry_id == inquiry.id).order_by(order)
        return list(session.exec(statement).all())

    survey = session.exec(
        select(SurveyResponse).where(SurveyResponse.inquiry_id == inquiry.id)
    ).first()
    attachments = rows(EmailAttachment, col(EmailAttachment.filename))
    return {
        "reference": inquiry.reference,
        "office_code": inquiry.office_code,
        "channel": inquiry.channel,
        "status": inquiry.status,
        "received_at": inquiry.received_at,
        "ticket_number": inquiry.ticket_number,
        "anonymised_at": inquiry.anonymised_at,
        "requester": {
            "name": inquiry.requester_name,
            "email": inquiry.requester_email,
            "phone": inquiry.requester_phone,
            "handle": inquiry.requester_handle,
            "nik": inquiry.requester_nik,
            "npwp": inquiry.requester_npwp,
            "organization": inquiry.requester_organization,
        },
        "subject": inquiry.subject,
        "message": inquiry.message,
        "messages": [
            {"direction": m.direction, "kind": m.kind, "body": m.body, "sent_at": m.sent_at}
            for m in rows(InquiryMessage, col(InquiryMessage.sent_at))
        ],
        "documents": [
            {"type": d.type, "number": d.number} for d in rows(InquiryDocument, InquiryDocument.id)
        ],
        "consultations": [
            {"question": c.question, "answer": c.answer, "asked_at": c.asked_at}
            for c in rows(Consultation, Consultation.id)
        ],
        "emails": [
            {
                "sender": e.sender,
                "subject": e.subject,
                "received_at": e.received_at,
                "size": e.size,
                "attachments": [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                    for a in attachments
                    if a.inbound_email_id == e.id
                ],
            }
            for e in rows(InboundEmail, col(InboundEmail.received_at))
        ],
        "survey": None
        if survey is None
        else {
            "submitted_at": survey.submitted_at,
            "answers": {f"U{n}": getattr(survey, f"u{n}") for n in range(1, 10)},
            "respondent": {
                "age_band": survey.age_band,
                "sex": survey.sex,
                "education": survey.education,
                "occupation": survey.occupation,
            },
            "suggestion": survey.suggestion,
        },
    }


def _complaint(c: Complaint) -> dict[str, Any]:
    return {
        "number": c.number,
        "office_code": c.office_code,
        "source": c.source,
        "received_at": c.received_at,
        "name": c.name,
        "email": c.email,
        "phone": c.phone,
        "reference": c.reference,
        "message": c.message,
        "status": c.status,
        "response": c.response,
    }
