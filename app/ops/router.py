"""Health, readiness and Prometheus metrics, for the orchestrator and monitoring."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.core.db import get_engine
from app.core.migrations import head_revision

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """Liveness."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    """Readiness: the database answers and its schema is at the latest migration."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "database": "ok",
                    "migration": "0003",
                    "expected_migration": "0003",
                }
            ]
        }
    )

    status: str = Field(examples=["ready"])
    database: str = Field(examples=["ok"])
    migration: str | None = Field(description="revision the database is at", examples=["0001"])
    expected_migration: str = Field(examples=["0001"])


@router.get("/healthz", summary="Liveness", response_model=Health)
async def healthz() -> Health:
    """Answers while the process is alive; checks nothing else."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready"}},
)
def readyz() -> Response:
    """Ready when the database is reachable and migrated to the latest revision."""
    expected = head_revision()
    try:
        with get_engine().connect() as connection:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        body = Readiness(
            status="not ready", database="unreachable", migration=None, expected_migration=expected
        )
        return JSONResponse(body.model_dump(), status_code=503)
    ready = current == expected
    body = Readiness(
        status="ready" if ready else "not ready",
        database="ok",
        migration=current,
        expected_migration=expected,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics() -> Response:
    """Request counts by route and status and a latency histogram, in Prometheus text."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
