"""Polling the offices' IMAP mailboxes (placeholder until mailboxes exist)."""

from __future__ import annotations

from app.calendar.cache import CalendarCache
from app.sla.policies import PolicyCache


def poll_mailboxes(*, calendars: CalendarCache, policies: PolicyCache) -> int:
    """Fetch new mail of every office mailbox into inquiries; returns how many were read."""
    del calendars, policies
    return 0
