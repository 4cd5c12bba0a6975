"""The outcome of one delivery attempt, whatever the channel: plain values the senders
return and the worker acts on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt to deliver an outbox row came to.

    ``delivered``: the receiver took it (2xx, or SMTP accepted it). Otherwise ``retryable``
    says whether to try again later (timeouts, connection errors, 408/425/429/5xx, SMTP
    4xx) or give up at once (other 4xx, SMTP 5xx); ``retry_after`` is the receiver's own
    wish in seconds (``Retry-After``), and ``error`` a short text without personal data.
    """

    delivered: bool
    retryable: bool = False
    error: str | None = None
    retry_after: float | None = None
    # Not tried at all (the worker's lease was running out): the row is released as it
    # was, and the attempt is not counted.
    not_sent: bool = False


DELIVERED = Attempt(delivered=True)
NOT_SENT = Attempt(delivered=False, retryable=True, not_sent=True)
