"""The inquiry workflow: states and which action may move an inquiry from which state."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where an inquiry stands."""

    new = "new"
    in_progress = "in_progress"
    awaiting_requester = "awaiting_requester"
    answered = "answered"
    escalated = "escalated"
    resolved = "resolved"
    closed = "closed"


# Before the first answer or escalation: the SLA clock is running (or paused).
WORKABLE = frozenset({Status.new, Status.in_progress, Status.awaiting_requester})

# action -> the states it may start from; the state it leads to, None: unchanged.
TRANSITIONS: dict[str, tuple[frozenset[Status], Status | None]] = {
    "assign": (WORKABLE, None),
    "request_info": (WORKABLE, Status.awaiting_requester),
    "consult": (WORKABLE | {Status.escalated}, None),
    "answer": (WORKABLE, Status.answered),
    "escalate": (WORKABLE, Status.escalated),
    "resolve": (frozenset({Status.escalated}), Status.resolved),
    "close": (frozenset({Status.answered, Status.resolved}), Status.closed),
    "reopen": (frozenset({Status.closed}), Status.in_progress),
}
