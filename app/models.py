"""Every table model, imported so that the metadata (and Alembic) knows them all."""

import app.channels.mailbox_models
import app.channels.models
import app.channels.webhook_models
import app.evaluation.models
import app.knowledge.article_models
import app.knowledge.template_models
import app.privacy.models
import app.search.models  # noqa: F401  (tables of the packages above inquiries)
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
