"""Every table model, imported so that the metadata (and Alembic) knows them all."""

from app.calendar.models import CalendarOverride
from app.inquiries.identity_reads import IdentityRead
from app.inquiries.models import (
    Consultation,
    Inquiry,
    InquiryDocument,
    InquiryEvent,
    InquiryMessage,
    OutboxMessage,
    TicketCounter,
)
from app.offices.models import Office
from app.sla.models import SlaPolicyRecord

__all__ = [
    "CalendarOverride",
    "Consultation",
    "IdentityRead",
    "Inquiry",
    "InquiryDocument",
    "InquiryEvent",
    "InquiryMessage",
    "Office",
    "OutboxMessage",
    "SlaPolicyRecord",
    "TicketCounter",
]
