"""Domain errors and their one mapping to RFC 9457 ``application/problem+json``.

Domain code raises the small exception classes below; they know nothing of HTTP
beyond a status. The handlers installed by :func:`install_error_handlers` turn them,
validation errors, database integrity errors and anything unexpected into problem
documents. No stack trace or SQL ever reaches a client.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.core.context import request_id_var

logger = logging.getLogger("infodesk.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://infodesk.beacukai.go.id/problems/"


class DomainError(Exception):
    """Base of every error the service reports to a client on purpose."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class PreconditionFailed(DomainError):
    status, code, title = 412, "precondition_failed", "Precondition failed"


class Unprocessable(DomainError):
    status, code, title = 422, "validation_failed", "Request is not valid"


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Not allowed"


class DatabaseBusy(DomainError):
    """A lock or a connection was not free in time; the client may retry shortly."""

    status, code, title = 503, "database_busy", "Busy"


RETRY_SOON = {"Retry-After": "2"}


class RateLimited(DomainError):
    status, code, title = 429, "rate_limited", "Too many requests"


class InvalidField(Unprocessable):
    """A single field that is well-typed but not acceptable (e.g. a bad check digit)."""

    def __init__(self, pointer: str, detail: str) -> None:
        # "#/..." points into the body; anything else names a query, path or header parameter.
        where = "pointer" if pointer.startswith("#") else "parameter"
        super().__init__(detail, errors=[{where: pointer, "detail": detail}])


class FieldError(BaseModel):
    """One invalid input."""

    detail: str = Field(examples=["Field required"])
    pointer: str | None = Field(
        default=None, description="JSON Pointer into the request body", examples=["#/name"]
    )
    parameter: str | None = Field(
        default=None, description="name of the query, path or header parameter"
    )


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(examples=[PROBLEM_TYPE_BASE + "not_found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["No office with code KPPBC-XYZ"])
    code: str = Field(description="stable machine-readable error code", examples=["not_found"])
    request_id: str | None = Field(default=None, description="also in the X-Request-ID header")
    errors: list[FieldError] | None = None


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response carrying the current request id."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


def _pointer(loc: Sequence[int | str]) -> dict[str, str]:
    if not loc:
        return {"pointer": "#"}
    where, *path = loc
    if where == "body":
        escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
        return {"pointer": "#/" + "/".join(escaped) if path else "#"}
    return {"parameter": str(path[0]) if path else str(where)}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid value"))
        # Pydantic prefixes messages of errors raised by our validators.
        message = message.removeprefix("Value error, ")
        errors.append({"detail": message, **_pointer(error.get("loc", ()))})
    return errors


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = exc.extra.pop("headers", None)
    return problem_response(
        exc.status, exc.code, exc.detail, title=exc.title, headers=headers, **exc.extra
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    detail = "; ".join(
        f"{e.get('pointer') or e.get('parameter')}: {e['detail']}" for e in errors[:5]
    )
    return problem_response(
        422, "validation_failed", detail, title="Request is not valid", errors=errors
    )


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """The methods some route serves on the request's path, for a 405's ``Allow`` header.

    The router names only the methods of the first route that matched the path, while
    FastAPI makes one route per method (``GET`` and ``POST`` on ``/v1/inquiries`` are
    two), so its header would leave out the others. Each method is tried against the
    routes instead; this runs on the 405 path only."""
    scope = {key: value for key, value in request.scope.items() if key != "fastapi"}
    allowed = []
    for method in _METHODS:
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "problem_code", None) or _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": allowed_methods(request)}
    return problem_response(exc.status_code, code, detail, headers=headers)


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    # The constraint name is ours and stable; the SQL and values are not shown.
    logger.warning("integrity error: %s", type(getattr(exc, "orig", exc)).__name__)
    return problem_response(
        409, "conflict", "The request conflicts with the current state of the resource."
    )


async def _data_error(_request: Request, exc: Exception) -> JSONResponse:
    # A value the database cannot hold (out of range, unrepresentable): the client's input.
    logger.warning("data error: %s", type(getattr(exc, "orig", exc)).__name__)
    return problem_response(
        422,
        "validation_failed",
        "A value in the request cannot be stored.",
        title="Request is not valid",
    )


# SQLSTATEs of a lock wait or statement that ran out of time (PostgreSQL), and SQLite's
# message when its busy timeout ran out.
_BUSY_SQLSTATES = frozenset({"55P03", "57014"})


async def _database_timeout(_request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database busy: %s", type(getattr(exc, "orig", exc)).__name__)
    return problem_response(
        503,
        "database_busy",
        "The resource is busy; try again shortly.",
        title="Busy",
        headers=RETRY_SOON,
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) in _BUSY_SQLSTATES or "database is locked" in str(orig):
        return await _database_timeout(request, exc)
    logger.error("database error: %s", type(orig).__name__)
    return problem_response(
        503,
        "database_unavailable",
        "The database is not reachable; try again shortly.",
        headers={"Retry-After": "5"},
    )


def log_unexpected(exc: BaseException) -> None:
    """Log where an unexpected error happened, never its message: messages of validation
    and database errors can quote what a requester sent."""
    logger.error(
        "unhandled error",
        extra={
            "error": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "trace": "".join(traceback.format_tb(exc.__traceback__)),
        },
    )


def internal_error() -> JSONResponse:
    """The 500 problem document."""
    return problem_response(
        500, "internal_error", "An unexpected error occurred; quote the request id."
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log_unexpected(exc)
    return internal_error()


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to a problem document."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeout, _database_timeout)
    app.add_exception_handler(Exception, _unexpected)


def problem_responses(
    *statuses: int, errors: Sequence[type[DomainError]] = ()
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem documents for ``statuses`` and
    for the domain ``errors`` a route may raise: each status lists its stable ``code``
    values (in the description and as ``x-problem-codes``), so that clients branch on a
    code, never on English."""
    by_status: dict[int, list[type[DomainError]]] = {}
    for error in errors:
        by_status.setdefault(error.status, []).append(error)
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, *by_status}):
        description = HTTPStatus(status).phrase
        entry: dict[str, Any] = {
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        listed = sorted(by_status.get(status, []), key=lambda e: e.code)
        if listed:
            lines = [f"- `{e.code}`: {_first_line(e.__doc__)}" for e in listed]
            description += ". Codes:\n" + "\n".join(lines)
            entry["x-problem-codes"] = [e.code for e in listed]
        entry["description"] = description
        responses[status] = entry
    return responses


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n")[0]
