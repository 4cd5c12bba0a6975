"""Prometheus metrics of delivery: the outbox's backlog, read at scrape time, and the
worker's deliveries by channel and outcome."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlmodel import Session, col

from app.core.db import get_engine, utcnow
from app.inquiries.models import OutboxMessage

logger = logging.getLogger("infodesk.metrics")

DELIVERIES = Counter(
    "infodesk_deliveries",
    "Delivery attempts of outbox rows by channel and outcome (delivered, retry, dead).",
    ["channel", "outcome"],
)


class OutboxCollector(Collector):
    """The pending rows and the age of the oldest, queried when scraped; nothing (but no
    error) when the database cannot be reached."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with Session(get_engine()) as session:
                count, oldest = session.execute(
                    select(func.count(), func.min(col(OutboxMessage.created_at))).where(
                        col(OutboxMessage.status) == "pending"
                    )
                ).one()
        except Exception:
            logger.warning("outbox metrics unavailable: database unreachable")
            return
        pending = GaugeMetricFamily("infodesk_outbox_pending", "Outbox rows waiting for delivery.")
        pending.add_metric([], float(count))
        yield pending
        age = GaugeMetricFamily(
            "infodesk_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox row waiting for delivery (0 when none).",
        )
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)  # SQLite's aggregate skips the column type
        age.add_metric([], max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0.0)
        yield age

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registration must not query the database.
        return iter(())


COLLECTOR = OutboxCollector()
REGISTRY.register(COLLECTOR)
