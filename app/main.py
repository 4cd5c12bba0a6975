"""The FastAPI application: routers, error handling, middleware and the OpenAPI document."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from http import HTTPStatus
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.calendar.cache import CalendarCache
from app.calendar.engine import SUPPORTED_FIRST_YEAR, SUPPORTED_LAST_YEAR
from app.calendar.holidays import indonesian_holidays
from app.calendar.router import router as calendar_router
from app.channels.inbound_router import router as inbound_router
from app.channels.mailboxes_router import router as mailboxes_router
from app.channels.outbox_router import router as outbox_router
from app.channels.webhooks_router import router as webhooks_router
from app.channels.worker import BackgroundWorker
from app.core.config import Settings, get_settings
from app.core.db import (
    RawWriter,
    SessionSlots,
    request_session,
    session_factory,
    write_session,
)
from app.core.errors import PROBLEM_JSON, FieldError, Problem, install_error_handlers
from app.core.gate import RowGate
from app.core.logging import configure_logging
from app.core.middleware import BodyRule, RequestMiddleware
from app.core.ratelimit import RateLimiter
from app.evaluation.complaints_router import router as complaints_router
from app.evaluation.reports_router import router as reports_router
from app.evaluation.survey_router import router as survey_router
from app.inquiries import recompute
from app.inquiries.public import router as public_router
from app.inquiries.router import router as inquiries_router
from app.inquiries.templating import set_template_resolver
from app.knowledge.articles_router import router as articles_router
from app.knowledge.templates import fill_for_answer
from app.knowledge.templates_router import router as templates_router
from app.offices.router import router as offices_router
from app.ops.router import router as ops_router
from app.privacy.retention import retention_forever
from app.privacy.router import router as privacy_router
from app.search.index import install as install_search
from app.search.router import router as search_router
from app.sla.policies import PolicyCache
from app.sla.router import router as sla_router

API_VERSION = "0.1.0"

DESCRIPTION = """\
The information-request service of a DJBC (Indonesian Customs and Excise) office.

The public asks questions about customs and excise by email, web-chat and social-media
direct messages. An officer answers, or escalates and gives the requester a ticket
number, within **2 working days** of receipt (*Standar Pelayanan*, layanan informasi).

Every error is an RFC 9457 `application/problem+json` document with a stable `code`;
every response carries an `X-Request-ID`. Authenticate with a bearer JWT from the
organisation's identity provider (`infodesk token` prints one in development).
"""

TAGS = [
    {"name": "offices", "description": "The directory of offices."},
    {
        "name": "calendar",
        "description": "Office working calendars: hours, national holidays and cuti bersama, "
        "closures and other hours.",
    },
    {"name": "sla", "description": "SLA policies and due-time arithmetic in working time."},
    {
        "name": "inquiries",
        "description": "Questions from the public: intake from every channel, the officer's "
        "workflow, answers and escalation tickets, the audit trail.",
    },
    {
        "name": "channels",
        "description": "Email in, office mailboxes, webhook endpoints and the outbox of "
        "messages to requesters.",
    },
    {
        "name": "complaints",
        "description": "Complaints (pengaduan) about the service, handled by internal "
        "compliance: recording, due times in working days, response and closing.",
    },
    {
        "name": "reports",
        "description": "SLA, satisfaction (IKM) and officer reports per office and period, "
        "as JSON or CSV (head, supervisor, compliance, admin).",
    },
    {
        "name": "knowledge",
        "description": "Answer templates with placeholders, kept as versions, and the "
        "knowledge base of articles for officers.",
    },
    {
        "name": "search",
        "description": "Full-text search in Indonesian over answered inquiries, answer "
        "templates and knowledge articles.",
    },
    {"name": "public", "description": "For requesters, without a token."},
    {"name": "operations", "description": "Liveness, readiness and metrics."},
    {
        "name": "personal data",
        "description": "Export and erasure of a person's data, and the audit of identity-number "
        "reads (UU 27/2022).",
    },
]


def _app_models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    pending = list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__.startswith("app."):
            found.append(model)
    return found


def _restore_examples(components: dict[str, Any]) -> None:
    # FastAPI drops every None from the document, examples included, which would make an
    # example such as {"ticket_number": null} invalid against its own schema.
    for model in _app_models():
        extra = model.model_config.get("json_schema_extra")
        if isinstance(extra, dict) and "examples" in extra and model.__name__ in components:
            components[model.__name__]["examples"] = extra["examples"]


# Refusals of a request body that come before the endpoint (app.core.middleware, and
# FastAPI's reading of the body), so that no route lists them itself.
_BODY_REFUSALS = {
    "400": ("bad_request", "the body cannot be read (JSON that is not UTF-8)"),
    "413": ("payload_too_large", "the body is larger than the limit"),
    "415": ("unsupported_media_type", "the body's Content-Type is not one the operation takes"),
}


def _document_body_refusals(responses: dict[str, Any]) -> None:
    for status, (code, meaning) in _BODY_REFUSALS.items():
        if status in responses:
            continue
        responses[status] = {
            "description": f"{HTTPStatus(int(status)).phrase}. Codes:\n- `{code}`: {meaning}",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "x-problem-codes": [code],
        }


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components["Problem"].pop("$defs", None)
    components["FieldError"] = FieldError.model_json_schema()
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                # Errors are problem documents only; FastAPI also lists application/json.
                if PROBLEM_JSON in content and status[0] in "45":
                    content.pop("application/json", None)
            if "requestBody" in operation:
                _document_body_refusals(operation.setdefault("responses", {}))
            # FastAPI's own 422 entry uses its HTTPValidationError; ours is a problem.
            validation = operation.get("responses", {}).get("422")
            if validation is not None:
                validation["content"] = {
                    PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }
                validation["description"] = "Validation failed"
    _restore_examples(components)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


@cache
def _freeze_start_up() -> None:
    """Take what start-up built (modules, schemas, routes, the holiday table), which lives
    as long as the process, out of the garbage collector's sight, so that its full
    collections stop walking it: at 32 connections this cut intake's p99 from 156 to 52 ms
    and its CPU by a tenth (docs/performance.md, *Garbage collection*). Once per process."""
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # One worker thread per pooled connection: a request that runs never waits for a
    # connection behind another thread's idle one, and the pool timeout stays a safety net.
    settings = get_settings()
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = settings.request_threads
    # The holiday table takes ~150 ms to build; do it before the first request needs it.
    await run_in_threadpool(indonesian_holidays, SUPPORTED_FIRST_YEAR, SUPPORTED_LAST_YEAR + 1)
    # `infodesk serve` delivers the outbox itself unless INFODESK_EMBEDDED_WORKER=false.
    worker = BackgroundWorker(extra=(retention_forever,)) if settings.embedded_worker else None
    if worker is not None:
        worker.start()
    _freeze_start_up()
    try:
        yield
    finally:
        if worker is not None:
            await run_in_threadpool(worker.shutdown)
        _app.state.public_limiter.close()
        await _app.state.raw_writer.aclose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPIOffline(
        title="infodesk",
        version=API_VERSION,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        static_url="/static/docs",
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url="/redoc" if settings.docs_enabled else None,
        lifespan=_lifespan,
    )
    install_error_handlers(app)
    recompute.subscribe()
    # Starlette tries routes in order, so the busiest come first: SLA arithmetic is asked
    # for by other systems all day long, the probes only every few seconds.
    app.include_router(sla_router)
    app.include_router(ops_router)
    # Survey submissions come in bursts after answers go out, from requesters' phones.
    app.include_router(survey_router)
    # The desk's own traffic: intake from every channel, the officers' queue and actions.
    app.include_router(inquiries_router)
    app.include_router(offices_router)
    app.include_router(calendar_router)
    app.include_router(public_router)
    app.include_router(inbound_router)
    app.include_router(mailboxes_router)
    app.include_router(webhooks_router)
    app.include_router(outbox_router)
    app.include_router(complaints_router)
    app.include_router(reports_router)
    app.include_router(templates_router)
    app.include_router(articles_router)
    app.include_router(search_router)
    app.include_router(privacy_router)
    install_search()
    app.state.settings = settings
    # As many request sessions at once as request threads (whose number the lifespan sets).
    app.state.session_slots = SessionSlots(
        settings.request_threads, settings.db_pool_timeout_seconds
    )
    app.state.calendars = CalendarCache(settings.calendar_cache_seconds)
    app.state.policies = PolicyCache(settings.calendar_cache_seconds)
    app.state.session_factory = session_factory
    # A request's session where an endpoint opens it itself (app.core.db.request_session).
    app.state.request_session = request_session
    app.state.write_session = write_session
    app.state.raw_writer = RawWriter()
    app.state.row_gate = RowGate()
    app.state.public_limiter = RateLimiter(
        settings.public_lookups_per_minute, settings.rate_limit_storage
    )
    # Answers from templates: the workflow (app.inquiries) finds them through this hook.
    set_template_resolver(fill_for_answer)
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_rules=(
            # Raw mail from a gateway: RFC 5322 bytes, up to the mail size limit.
            BodyRule(
                "/v1/channels/email/inbound",
                frozenset({"message/rfc822"}),
                settings.max_email_bytes,
                too_large_code="email_too_large",
            ),
            # The survey's HTML form, posted by a browser without JavaScript.
            BodyRule(
                "/survey/",
                frozenset({"application/x-www-form-urlencoded"}),
                64 * 1024,
            ),
        ),
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
