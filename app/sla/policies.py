"""SLA policies: storage, choice by office and channel, and a per-process cache."""

from __future__ import annotations

import threading
import time as clock

from sqlmodel import Session, col, select

from app.calendar.cache import SessionFactory
from app.core import changes
from app.core.channels import Channel
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, Unprocessable
from app.offices.models import Office
from app.sla.engine import SlaPolicy
from app.sla.models import DEFAULT_POLICY_CODE, SlaPolicyRecord
from app.sla.schemas import SlaPolicyWrite


def to_engine(record: SlaPolicyRecord) -> SlaPolicy:
    """The engine's view of a stored policy."""
    return SlaPolicy(
        code=record.code,
        target_working_days=record.target_working_days,
        late_intake_minutes=record.late_intake_minutes,
        pause_when_awaiting_requester=record.pause_when_awaiting_requester,
        warn_before_working_minutes=record.warn_before_working_minutes,
        resolution_target_working_days=record.resolution_target_working_days,
    )


def choose(records: list[SlaPolicyRecord], office_code: str, channel: Channel) -> SlaPolicyRecord:
    """The most specific policy: office and channel, office, channel, then the default."""
    best: tuple[int, str] | None = None
    chosen: SlaPolicyRecord | None = None
    for record in records:
        if record.office_code not in (None, office_code) or record.channel not in (None, channel):
            continue
        rank = (2 if record.office_code else 0) + (1 if record.channel else 0)
        # Among equally specific policies the smallest code wins, so the choice is stable.
        key = (-rank, record.code)
        if best is None or key < best:
            best, chosen = key, record
    if chosen is None:
        raise NotFound("No SLA policy applies; the default policy is missing.")
    return chosen


class PolicyCache:
    """Every policy, reloaded when older than ``ttl`` or changed through this process."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._records: list[SlaPolicyRecord] | None = None
        self._by_code: dict[str, SlaPolicyRecord] = {}
        self._engine: dict[tuple[str, int], SlaPolicy] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def peek(
        self, office_code: str, channel: Channel, code: str | None = None
    ) -> SlaPolicyRecord | None:
        """The policy from memory while the cache is fresh; None when it must be reloaded."""
        if self._records is None or clock.monotonic() - self._loaded_at >= self.ttl:
            return None
        return self._pick(self._records, office_code, channel, code)

    def load(
        self,
        session_factory: SessionFactory,
        office_code: str,
        channel: Channel,
        code: str | None = None,
    ) -> SlaPolicyRecord:
        """Like :meth:`resolve`, with a session of its own."""
        with session_factory() as session:
            return self.resolve(session, office_code, channel, code)

    def _pick(
        self, records: list[SlaPolicyRecord], office_code: str, channel: Channel, code: str | None
    ) -> SlaPolicyRecord:
        if code is None:
            return choose(records, office_code, channel)
        record = self._by_code.get(code)
        if record is None:
            raise NotFound(f"No SLA policy with code {code}.")
        return record

    def _load(self, session: Session) -> list[SlaPolicyRecord]:
        now = clock.monotonic()
        records = self._records
        if records is None or now - self._loaded_at >= self.ttl:
            records = list(session.exec(select(SlaPolicyRecord)))
            for record in records:
                session.expunge(record)
            with self._lock:
                self._records = records
                self._by_code = {r.code: r for r in records}
                self._loaded_at = now
        return records

    def resolve(
        self, session: Session, office_code: str, channel: Channel, code: str | None = None
    ) -> SlaPolicyRecord:
        """The named policy, or the one that applies to the office and channel."""
        return self._pick(self._load(session), office_code, channel, code)

    def engine_policy(self, record: SlaPolicyRecord) -> SlaPolicy:
        """The engine's view of ``record``, kept for as long as that version lives."""
        key = (record.code, record.version)
        policy = self._engine.get(key)
        if policy is None:
            if len(self._engine) > 1000:
                self._engine.clear()
            policy = self._engine[key] = to_engine(record)
        return policy

    def invalidate(self) -> None:
        """Reload on next use."""
        with self._lock:
            self._records = None


def list_policies(*, session: Session) -> list[SlaPolicyRecord]:
    """Every policy, by code."""
    return list(session.exec(select(SlaPolicyRecord).order_by(col(SlaPolicyRecord.code))))


def get_policy(*, session: Session, code: str) -> SlaPolicyRecord:
    """The policy with ``code``, or NotFound."""
    record = session.get(SlaPolicyRecord, code)
    if record is None:
        raise NotFound(f"No SLA policy with code {code}.")
    return record


class PolicyConflict(Conflict):
    """Another policy already applies to the same channel and office."""

    code = "policy_conflict"


class DefaultPolicyScoped(Unprocessable):
    """The default policy applies everywhere; it takes no channel or office."""

    code = "default_policy_scoped"


class PolicyOfficeUnknown(Unprocessable):
    """The policy names an office that does not exist."""

    code = "unknown_office"


def put_policy(
    *, session: Session, code: str, data: SlaPolicyWrite
) -> tuple[SlaPolicyRecord, bool, int]:
    """Create or replace the policy ``code``; returns it, whether it is new and how many
    open inquiries' due times moved.

    Open inquiries already under a replaced policy get their due times recomputed; a new
    policy applies to inquiries received from now on.
    """
    if code == DEFAULT_POLICY_CODE and (data.channel or data.office_code):
        raise DefaultPolicyScoped(
            "The default policy applies everywhere; it takes no channel or office."
        )
    if data.office_code is not None and session.get(Office, data.office_code) is None:
        raise PolicyOfficeUnknown(
            f"No office with code {data.office_code}.",
            errors=[{"pointer": "#/office_code", "detail": "unknown office"}],
        )
    clash = session.exec(
        select(SlaPolicyRecord.code).where(
            SlaPolicyRecord.code != code,
            col(SlaPolicyRecord.channel).is_(None)
            if data.channel is None
            else SlaPolicyRecord.channel == data.channel,
            col(SlaPolicyRecord.office_code).is_(None)
            if data.office_code is None
            else SlaPolicyRecord.office_code == data.office_code,
        )
    ).first()
    if clash is not None:
        raise PolicyConflict(f"Policy {clash} already applies to that channel and office.")
    record = session.get(SlaPolicyRecord, code)
    created = record is None
    if record is None:
        record = SlaPolicyRecord(code=code, **data.model_dump())
    else:
        for field, value in data.model_dump().items():
            setattr(record, field, value)
        record.version += 1
        record.updated_at = utcnow()
    session.add(record)
    session.flush()
    # Open inquiries under a replaced policy move (app.inquiries.recompute subscribes).
    moved = 0 if created else changes.publish(session, changes.PolicyChanged(record.code))
    return record, created, moved
