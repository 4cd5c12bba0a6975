"""The record of every read that showed an identity number in full (UU 27/2022).

NIK and NPWP, and document numbers that carry an NPWP, are shown unmasked only to the
officers working the inquiry's office. Each response that shows one is recorded (who,
when, which inquiry, which numbers) before it leaves, so that internal compliance can see
who looked at whose numbers. A read that cannot be recorded is not served.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, Session, SQLModel

from app.core.db import UTCDateTime, utcnow
from app.core.security import Principal
from app.inquiries import access
from app.inquiries.models import Inquiry
from app.inquiries.schemas import InquiryDetail


class IdentityRead(SQLModel, table=True):
    """One response that showed an inquiry's identity numbers in full."""

    __tablename__ = "identity_read"
    __table_args__ = (
        Index("ix_identity_read_office_code_at", "office_code", "at"),
        Index("ix_identity_read_inquiry_id", "inquiry_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    actor_roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    inquiry_id: uuid.UUID = Field(nullable=False)
    office_code: str = Field(sa_column=Column(String(32), nullable=False))
    # Which numbers were shown: "nik", "npwp", "documents".
    fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def shown_in_full(detail: InquiryDetail) -> list[str]:
    """The identity numbers ``detail`` shows unmasked."""
    shown = []
    if detail.requester.nik and "*" not in detail.requester.nik:
        shown.append("nik")
    if detail.requester.npwp and "*" not in detail.requester.npwp:
        shown.append("npwp")
    if any(
        d.type in access.IDENTITY_DOCUMENTS and d.number and "*" not in d.number
        for d in detail.documents
    ):
        shown.append("documents")
    return shown


def record(
    session: Session, principal: Principal, inquiry: Inquiry, fields: list[str], now: datetime
) -> None:
    """Add the record of one read; flushed, committed with the caller's transaction."""
    session.add(
        IdentityRead(
            at=now,
            actor=principal.sub,
            actor_roles=sorted(r.value for r in principal.roles),
            inquiry_id=inquiry.id,
            office_code=inquiry.office_code,
            fields=fields,
        )
    )
    session.flush()
