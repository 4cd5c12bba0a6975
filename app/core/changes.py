"""Changes to reference data that other packages react to, without the changed package
knowing them: a calendar or SLA policy change moves the due times of open inquiries, but
``calendar`` and ``sla`` sit below ``inquiries`` and never import it.

A package publishes a change inside the request's transaction; each subscriber acts in
the same transaction and returns a count (for example, how many inquiries moved).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlmodel import Session


@dataclass(frozen=True)
class CalendarChanged:
    """An office's working calendar changed between two local dates (None: unbounded)."""

    office_code: str
    first_day: date | None
    last_day: date | None


@dataclass(frozen=True)
class PolicyChanged:
    """An SLA policy was replaced."""

    policy_code: str


ChangeT = TypeVar("ChangeT", CalendarChanged, PolicyChanged)
Subscriber = Callable[[Session, Any], int]

_subscribers: dict[type, list[Subscriber]] = {}


def subscribe(kind: type[ChangeT], subscriber: Callable[[Session, ChangeT], int]) -> None:
    """Call ``subscriber`` on every change of ``kind`` (once, however often subscribed)."""
    found = _subscribers.setdefault(kind, [])
    if subscriber not in found:
        found.append(subscriber)


def publish(session: Session, change: CalendarChanged | PolicyChanged) -> int:
    """Tell the subscribers of ``change``; the sum of their counts."""
    return sum(subscriber(session, change) for subscriber in _subscribers.get(type(change), []))
