"""The delivery worker: takes due outbox rows, sends them, records what came of it.

One round: (1) claim up to a batch of due rows in a short transaction, leasing them
(``locked_until``/``locked_by``); on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so that
several workers share the rows and a killed worker's rows are taken again once its lease
runs out. A row is due only when no earlier row of the same inquiry is still pending, so
an inquiry's messages go out in order. (2) Deliver outside any transaction: mail over
SMTP (one connection per server) in a thread while the webhooks go out concurrently.
(3) Record every outcome in one transaction: delivered, retried later with exponential
back-off and jitter (``Retry-After`` honoured) or, after about a day or at once for a
permanent refusal, dead.

Delivery is at least once: a worker killed after sending but before recording sends
again, with the same ``Message-ID``/``webhook-id`` (the delivery id), so that receivers
can drop the repeat. The worker wakes on PostgreSQL's ``LISTEN/NOTIFY`` (a trigger on
``outbox_message``) and polls SQLite every half second.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.calendar.cache import CalendarCache
from app.channels import imap, metrics
from app.channels.outcomes import Attempt
from app.channels.smtp import MailJob, mail_jobs, send_mails
from app.channels.webhooks import (
    WebhookJob,
    deliver_webhooks,
    failed,
    webhook_client,
    webhook_jobs,
)
from app.core.channels import Channel
from app.core.config import get_settings
from app.core.db import get_engine, utcnow, writer
from app.inquiries.models import OutboxMessage
from app.sla.policies import PolicyCache

logger = logging.getLogger("infodesk.worker")

NOTIFY_CHANNEL = "infodesk_outbox"
SQLITE_POLL_SECONDS = 0.5
# Even with LISTEN, look again this often: retries come due without a notification.
POSTGRES_POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 3600.0
CHANNELS = (Channel.email.value, Channel.webchat.value, Channel.social.value)

_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


def log_failure(what: str, exc: BaseException) -> None:
    """Log a failure by its type and where it happened, never its message: that can
    quote an address, a subject or a statement's parameters."""
    logger.error(
        "%s: %s",
        what,
        type(exc).__name__,
        extra={"trace": "".join(traceback.format_tb(exc.__traceback__))},
    )


def next_attempt_at(
    *,
    attempts: int,
    created_at: datetime,
    now: datetime,
    attempt: Attempt,
    backoff: float,
    max_age: float,
    jitter: float | None = None,
) -> datetime | None:
    """When to try again after the ``attempts``-th failed attempt, or None (give up).

    The first retry comes ``backoff`` seconds after the first failure, each later one
    twice as late (at most an hour), plus up to a quarter more at random so that many
    rows failing together do not retry together; a receiver's ``Retry-After`` is waited
    for when it asks for longer. A row older than ``max_age`` by then is given up.
    """
    if not attempt.retryable:
        return None
    spread = random.random() if jitter is None else jitter  # noqa: S311 (not security)
    delay = min(backoff * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    delay *= 1 + 0.25 * spread
    if attempt.retry_after is not None:
        delay = max(delay, attempt.retry_after)
    when = now + timedelta(seconds=delay)
    if when > created_at + timedelta(seconds=max_age):
        return None
    return when


class Worker:
    """Delivers the outbox; ``run`` until ``stop`` is set, or ``run_once`` in tests."""

    def __init__(
        self,
        *,
        engine: Engine | None = None,
        name: str | None = None,
        batch_size: int | None = None,
        stop: threading.Event | None = None,
        office_codes: Sequence[str] | None = None,
    ) -> None:
        settings = get_settings()
        self.engine = engine or get_engine()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size = batch_size or settings.delivery_batch_size
        self.stop = stop or threading.Event()
        self.is_postgres = self.engine.dialect.name == "postgresql"
        # Only these offices' rows (a worker per group of offices); None: every office.
        self.office_codes = list(office_codes) if office_codes else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None

    # -- one round ------------------------------------------------------------------------

    def claim(self) -> list[OutboxMessage]:
        """Lease up to a batch of due rows, each the earliest pending of its inquiry."""
        settings = get_settings()
        now = utcnow()
        # The earliest pending row of each inquiry goes first; rows without an inquiry
        # wait for nothing. (A scalar subquery per candidate: an index probe on
        # ix_outbox_message_inquiry_pending, whatever the table's statistics say.)
        earlier = aliased(OutboxMessage)
        first_pending = (
            select(func.min(earlier.id))
            .where(
                col(earlier.inquiry_id) == col(OutboxMessage.inquiry_id),
                col(earlier.status) == "pending",
            )
            .scalar_subquery()
        )
        in_turn = or_(
            col(OutboxMessage.inquiry_id).is_(None), col(OutboxMessage.id) == first_pending
        )
        free = or_(col(OutboxMessage.locked_until).is_(None), col(OutboxMessage.locked_until) < now)
        conditions = [
            col(OutboxMessage.status) == "pending",
            col(OutboxMessage.next_attempt_at) <= now,
            free,
            col(OutboxMessage.channel).in_(CHANNELS),
            in_turn,
        ]
        if self.office_codes is not None:
            conditions.append(col(OutboxMessage.office_code).in_(self.office_codes))
        order = (col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        lease = now + timedelta(seconds=settings.delivery_lease_seconds)
        if self.is_postgres:
            # Row locks, skipping rows another worker is claiming right now.
            query = (
                select(OutboxMessage)
                .where(*conditions)
                .order_by(*order)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True, of=OutboxMessage)
            )
            with Session(writer(self.engine), expire_on_commit=False) as session:
                rows = list(session.scalars(query))
                if rows:
                    session.connection().execute(
                        update(_OUTBOX)
                        .where(_OUTBOX.c.id.in_([r.id for r in rows]))
                        .values(locked_until=lease, locked_by=self.name)
                    )
                session.commit()
                session.expunge_all()
            return rows
        # SQLite: look for candidates in a read transaction, so that an idle poll never
        # takes the write lock; lease only what is still free, in a short write one.
        with Session(self.engine) as session:
            ids = list(
                session.scalars(
                    select(col(OutboxMessage.id))
                    .where(*conditions)
                    .order_by(*order)
                    .limit(self.batch_size)
                )
            )
            session.rollback()
        if not ids:
            return []
        with Session(writer(self.engine), expire_on_commit=False) as session:
            leased = set(
                session.connection()
                .execute(
                    update(_OUTBOX)
                    .where(
                        _OUTBOX.c.id.in_(ids),
                        _OUTBOX.c.status == "pending",
                        or_(_OUTBOX.c.locked_until.is_(None), _OUTBOX.c.locked_until < now),
                    )
                    .values(locked_until=lease, locked_by=self.name)
                    .returning(_OUTBOX.c.id)
                )
                .scalars()
            )
            rows = (
                list(
                    session.scalars(select(OutboxMessage).where(col(OutboxMessage.id).in_(leased)))
                )
                if leased
                else []
            )
            session.commit()
            session.expunge_all()
        position = {row_id: i for i, row_id in enumerate(ids)}
        rows.sort(key=lambda r: position[r.id])
        return rows

    def _jobs(self, rows: Sequence[OutboxMessage]) -> list[MailJob | WebhookJob | Attempt]:
        mail_rows = [r for r in rows if r.channel == Channel.email]
        hook_rows = [r for r in rows if r.channel != Channel.email]
        with Session(self.engine) as session:
            mails = iter(mail_jobs(session=session, rows=mail_rows) if mail_rows else [])
            hooks = iter(webhook_jobs(session=session, rows=hook_rows) if hook_rows else [])
            session.rollback()
        return [next(mails) if r.channel == Channel.email else next(hooks) for r in rows]

    async def _send(
        self, jobs: Sequence[MailJob | WebhookJob | Attempt], deadline: float | None
    ) -> list[Attempt]:
        mails = [j for j in jobs if isinstance(j, MailJob)]
        hooks = [j for j in jobs if isinstance(j, WebhookJob)]
        if self._client is None:
            self._client = webhook_client()
        sent_by_mail, sent_by_hook = await asyncio.gather(
            asyncio.to_thread(send_mails, mails, deadline=deadline),
            deliver_webhooks(self._client, hooks, deadline=deadline),
            return_exceptions=True,
        )
        # The senders never raise for a receiver's fault; if one raises anyway (a bug),
        # its rows are tried again later instead of failing the whole round.
        mail_attempts = (
            [failed(sent_by_mail)] * len(mails)
            if isinstance(sent_by_mail, BaseException)
            else sent_by_mail
        )
        hook_attempts = (
            [failed(sent_by_hook)] * len(hooks)
            if isinstance(sent_by_hook, BaseException)
            else sent_by_hook
        )
        sent_mails, sent_hooks = iter(mail_attempts), iter(hook_attempts)
        return [
            next(sent_mails)
            if isinstance(j, MailJob)
            else next(sent_hooks)
            if isinstance(j, WebhookJob)
            else j
            for j in jobs
        ]

    def deliver(
        self, rows: Sequence[OutboxMessage], *, deadline: float | None = None
    ) -> list[Attempt]:
        """Send ``rows`` outside any transaction; one attempt each, in order. No send
        starts after ``deadline`` (``time.monotonic()``): those rows are NOT_SENT."""
        jobs = self._jobs(rows)
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(self._send(jobs, deadline))

    def record(self, rows: Sequence[OutboxMessage], attempts: Sequence[Attempt]) -> None:
        """Record the outcomes in one transaction; rows no longer leased to this worker
        (taken over after the lease, or marked bounced meanwhile) are left alone."""
        settings = get_settings()
        now = utcnow()
        params: list[dict[str, Any]] = []
        unsent: list[int] = []
        for row, attempt in zip(rows, attempts, strict=True):
            if attempt.not_sent:
                unsent.append(row.id or 0)
                continue
            tries = row.attempts + 1
            status, when, error = "delivered", row.next_attempt_at, None
            if attempt.delivered:
                outcome = "delivered"
            else:
                retry = next_attempt_at(
                    attempts=tries,
                    created_at=row.requeued_at or row.created_at,
                    now=now,
                    attempt=attempt,
                    backoff=settings.delivery_backoff_seconds,
                    max_age=settings.delivery_max_age_seconds,
                )
                error = (attempt.error or "failed")[:500]
                if retry is None:
                    status, outcome = "dead", "dead"
                else:
                    status, outcome, when = "pending", "retry", retry
            metrics.DELIVERIES.labels(channel=row.channel, outcome=outcome).inc()
            params.append(
                {
                    "b_id": row.id,
                    "b_status": status,
                    "b_attempts": tries,
                    "b_next": when,
                    "b_error": error,
                    "b_delivered": now if status == "delivered" else None,
                    "b_now": now,
                }
            )
        with Session(writer(self.engine)) as session:
            if params:
                session.connection().execute(self._outcome_statement(), params)
            if unsent:
                # Released as they were: due again at once, for this or another worker.
                session.connection().execute(
                    update(_OUTBOX)
                    .where(
                        _OUTBOX.c.id.in_(unsent),
                        _OUTBOX.c.locked_by == self.name,
                        _OUTBOX.c.status == "pending",
                    )
                    .values(locked_until=None, locked_by=None)
                )
            session.commit()

    def _outcome_statement(self) -> Any:
        return (
            update(_OUTBOX)
            .where(
                _OUTBOX.c.id == bindparam("b_id"),
                _OUTBOX.c.locked_by == self.name,
                _OUTBOX.c.status == "pending",
            )
            .values(
                status=bindparam("b_status"),
                attempts=bindparam("b_attempts"),
                next_attempt_at=bindparam("b_next"),
                last_error=bindparam("b_error"),
                delivered_at=bindparam("b_delivered"),
                locked_until=None,
                locked_by=None,
                updated_at=bindparam("b_now"),
            )
        )

    def run_once(self) -> int:
        """One round: claim, deliver, record; returns how many rows it handled.

        Sends start only in the first half of the lease, so that a send under way ends
        before another worker may take the row; the rest are released unchanged."""
        started = time.monotonic()
        rows = self.claim()
        if not rows:
            return 0
        deadline = started + get_settings().delivery_lease_seconds / 2
        try:
            attempts = self.deliver(rows, deadline=deadline)
        except Exception as exc:
            # Nothing is known to have gone out: every row is tried again later.
            log_failure("delivery failed", exc)
            attempts = [failed(exc)] * len(rows)
        self.record(rows, attempts)
        return len(rows)

    # -- the loop -------------------------------------------------------------------------

    def _listener(self) -> Any:
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        connection = psycopg.connect(url, autocommit=True)
        connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
        return connection

    def _wait(self, listener: Any) -> None:
        if listener is None:
            self.stop.wait(SQLITE_POLL_SECONDS)
            return
        for _ in listener.notifies(timeout=POSTGRES_POLL_SECONDS, stop_after=1):
            break

    def run(self) -> None:
        """Deliver until ``stop`` is set; the round under way is finished first."""
        listener = None
        try:
            while not self.stop.is_set():
                if self.is_postgres and listener is None:
                    try:
                        listener = self._listener()
                    except Exception:
                        logger.warning("cannot LISTEN for outbox rows; polling")
                try:
                    handled = self.run_once()
                except Exception as exc:
                    log_failure("delivery round failed", exc)
                    handled = 0
                    if listener is not None:
                        listener.close()
                        listener = None
                    self.stop.wait(SQLITE_POLL_SECONDS)
                if handled < self.batch_size and not self.stop.is_set():
                    try:
                        self._wait(listener if self.is_postgres else None)
                    except Exception:
                        logger.warning("outbox notification connection lost")
                        listener = None
                        self.stop.wait(SQLITE_POLL_SECONDS)
        finally:
            if listener is not None:
                listener.close()
            self.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP client and the event loop."""
        if self._loop is not None:
            if self._client is not None:
                self._loop.run_until_complete(self._client.aclose())
                self._client = None
            self._loop.close()
            self._loop = None


def poll_mail_forever(stop: threading.Event) -> None:
    """Fetch the offices' IMAP mailboxes every ``imap_poll_seconds`` until ``stop``."""
    settings = get_settings()
    calendars = CalendarCache(settings.calendar_cache_seconds)
    policies = PolicyCache(settings.calendar_cache_seconds)
    while not stop.is_set():
        try:
            imap.poll_mailboxes(calendars=calendars, policies=policies)
        except Exception as exc:
            log_failure("mailbox polling failed", exc)
        stop.wait(settings.imap_poll_seconds)


class BackgroundWorker:
    """The worker and the mailbox poller in daemon threads (``infodesk serve``)."""

    def __init__(self, extra: Sequence[Callable[[threading.Event], None]] = ()) -> None:
        """``extra``: more periodic jobs (each runs until the event is set), such as the
        retention of personal data, which lives in a package above this one."""
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(
                target=Worker(stop=self.stop).run, name="infodesk-delivery", daemon=True
            ),
            threading.Thread(
                target=poll_mail_forever, args=(self.stop,), name="infodesk-imap", daemon=True
            ),
            *(
                threading.Thread(target=job, args=(self.stop,), name=f"infodesk-{n}", daemon=True)
                for n, job in enumerate(extra)
            ),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Let the current round finish, then stop."""
        self.stop.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
