"""The FastAPI application: routers, error handling, middleware and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline

from app.core.config import Settings, get_settings
from app.core.errors import PROBLEM_JSON, FieldError, Problem, install_error_handlers
from app.core.logging import configure_logging
from app.core.middleware import RequestMiddleware
from app.offices.router import router as offices_router
from app.ops.router import router as ops_router

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
    {"name": "operations", "description": "Liveness, readiness and metrics."},
]


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
            # FastAPI's own 422 entry uses its HTTPValidationError; ours is a problem.
            validation = operation.get("responses", {}).get("422")
            if validation is not None:
                validation["content"] = {
                    PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }
                validation["description"] = "Validation failed"
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


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
        swagger_ui_parameters={"persistAuthorization": True},
    )
    install_error_handlers(app)
    app.include_router(ops_router)
    app.include_router(offices_router)
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
