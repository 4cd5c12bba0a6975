"""Health, readiness and Prometheus metrics, for the orchestrator and monitoring."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.core.config import Settings
from app.core.db import get_engine
from app.core.errors import NotFound, Unauthorized, problem_responses
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


metrics_scheme = HTTPBearer(
    scheme_name="metricsToken",
    description="INFODESK_METRICS_TOKEN, when INFODESK_METRICS_ACCESS=token.",
    auto_error=False,
)


def _metrics_allowed(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(metrics_scheme)],
) -> None:
    """/metrics as INFODESK_METRICS_ACCESS says: open, with its own bearer token, or off."""
    settings: Settings = request.app.state.settings
    if settings.metrics_access == "open":
        return
    if settings.metrics_access == "off" or not settings.metrics_token:
        raise NotFound("metrics are not served here")
    if credentials is None or not hmac.compare_digest(
        credentials.credentials.encode(), settings.metrics_token.encode()
    ):
        raise Unauthorized(
            "metrics need their bearer token",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
        # Without a model, so that FastAPI does not list text/plain for the problems too.
        **{
            status: {k: v for k, v in response.items() if k != "model"}
            for status, response in problem_responses(401, 404).items()
        },
    },
    dependencies=[Depends(_metrics_allowed)],
)
async def metrics() -> Response:
    """Request counts by route and status and a latency histogram, in Prometheus text."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
