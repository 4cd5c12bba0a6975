"""One pure-ASGI middleware for what every request needs.

It assigns the request id, enforces the body size limit (413) and the JSON content
type (415), records Prometheus metrics and writes the access log. Being pure ASGI, it
costs far less per request than a stack of ``BaseHTTPMiddleware``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.context import request_id_var
from app.core.errors import internal_error, log_unexpected, problem_response

access_log = logging.getLogger("infodesk.access")

REQUESTS = Counter(
    "infodesk_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "infodesk_http_request_duration_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Media types the API accepts as request bodies; anything else is a 415.
ACCEPTED_MEDIA_TYPES = frozenset({"application/json", "application/merge-patch+json"})


@dataclass(frozen=True)
class BodyRule:
    """Another body size limit and media types for the paths under ``prefix`` (for
    example raw email, or the survey's HTML form)."""

    prefix: str
    media_types: frozenset[str]
    max_bytes: int
    # The 413's problem code, when the endpoint's own refusal has one (one code for one
    # refusal, whoever detects it).
    too_large_code: str = "payload_too_large"


class _BodyTooLarge(HTTPException):
    """Raised while the body is read, when it grows past the limit (a chunked body has no
    Content-Length to refuse it earlier). An HTTPException so that FastAPI passes it on
    instead of reporting a body it could not parse (400)."""

    def __init__(self, max_bytes: int, code: str) -> None:
        super().__init__(413, f"The request body exceeds {max_bytes} bytes.")
        self.problem_code = code


# Header limits: a bearer token is far smaller than 8 KB, and the whole header block of
# a legitimate request far smaller than 32 KB. Both are refused before any parsing.
MAX_AUTHORIZATION_BYTES = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024


class RequestMiddleware:
    """Request id, size and media-type checks, metrics and the access log."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, body_rules: Sequence[BodyRule] = ()
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_rules = tuple(body_rules)

    def _rule(self, path: str) -> tuple[frozenset[str] | None, int, str]:
        for rule in self.body_rules:
            if path.startswith(rule.prefix):
                return rule.media_types, rule.max_bytes, rule.too_large_code
        return None, self.max_body_bytes, "payload_too_large"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            media_types, max_bytes, too_large_code = self._rule(scope.get("path", ""))
            rejection = (
                self._oversized_headers(scope["headers"], headers)
                or self._reject(scope["method"], headers, media_types, max_bytes, too_large_code)
                or self._nul_in_url(scope)
            )
            if rejection is not None:
                await rejection(scope, receive, send_wrapper)
                return
            received = 0

            async def receive_limited() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > max_bytes:
                        raise _BodyTooLarge(max_bytes, too_large_code)
                return message

            try:
                await self.app(scope, receive_limited, send_wrapper)
            except _BodyTooLarge:
                if response_started:
                    raise
                await self._too_large(max_bytes, too_large_code)(scope, receive, send_wrapper)
            except Exception as exc:
                # Answered here rather than by Starlette's outermost handler, so that the
                # 500 carries the request id and the error goes no further: uvicorn would
                # log it again, message included.
                log_unexpected(exc)
                if response_started:
                    return
                await internal_error()(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            access_log.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)

    @staticmethod
    def _too_large(max_bytes: int, code: str = "payload_too_large") -> ASGIApp:
        return problem_response(413, code, f"The request body exceeds {max_bytes} bytes.")

    def _reject(
        self,
        method: str,
        headers: dict[bytes, bytes],
        media_types: frozenset[str] | None,
        max_bytes: int,
        too_large_code: str = "payload_too_large",
    ) -> ASGIApp | None:
        if method not in _BODY_METHODS:
            return None
        length = headers.get(b"content-length")
        if length is not None:
            try:
                if int(length) > max_bytes:
                    return self._too_large(max_bytes, too_large_code)
            except ValueError:
                return problem_response(400, "bad_request", "Content-Length is not a number.")
            if int(length) == 0:
                return None
        content_type = headers.get(b"content-type")
        if content_type is None:
            return None if length is None else self._unsupported(None, media_types)
        media_type = content_type.decode("latin-1").split(";", 1)[0].strip().lower()
        if media_types is not None:
            return None if media_type in media_types else self._unsupported(media_type, media_types)
        if media_type in ACCEPTED_MEDIA_TYPES or media_type.endswith("+json"):
            return None
        return self._unsupported(media_type, None)

    @staticmethod
    def _oversized_headers(
        raw: Sequence[tuple[bytes, bytes]], headers: dict[bytes, bytes]
    ) -> ASGIApp | None:
        if len(headers.get(b"authorization", b"")) > MAX_AUTHORIZATION_BYTES:
            return problem_response(
                431,
                "header_too_large",
                f"The Authorization header exceeds {MAX_AUTHORIZATION_BYTES} bytes.",
            )
        if sum(len(name) + len(value) for name, value in raw) > MAX_HEADER_BYTES:
            return problem_response(
                431, "header_too_large", f"The request headers exceed {MAX_HEADER_BYTES} bytes."
            )
        return None

    @staticmethod
    def _nul_in_url(scope: Scope) -> ASGIApp | None:
        # No identifier or filter contains NUL; PostgreSQL cannot even compare with one.
        raw = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if b"%00" in raw or b"\x00" in raw or "\x00" in scope.get("path", ""):
            return problem_response(
                422, "validation_failed", "NUL characters are not allowed in the URL."
            )
        return None

    @staticmethod
    def _unsupported(media_type: str | None, expected: frozenset[str] | None) -> ASGIApp:
        wanted = " or ".join(sorted(expected)) if expected else "application/json"
        detail = f"Send the body as {wanted} (got {media_type or 'no Content-Type'})."
        return problem_response(415, "unsupported_media_type", detail)
