"""What each shortcut around FastAPI saves on its route, measured alone.

Issue 9's rule: a shortcut stays only if it saves at least 10% of its route's cost. Each
case serves one route two ways in the same application: as FastAPI designs it (declared
body, ``response_model``, ``Annotated`` dependencies) and with one shortcut. The two take
turns in short batches on the same route table (ABBA). The cost is the process's CPU
time per request (``time.process_time``, worker threads included), with requests handed
to the ASGI application directly, so that neither an HTTP client nor the rest of a
shared machine's load counts; each variant's cost is its cheapest batch.

A request's cost in production also includes the HTTP server's work. That is measured
once, as uvicorn's CPU per ``GET /healthz`` (from /proc) less the application's own, and
the verdict is the saving over the route's cost with it ("route"); "app" is the saving
over the application's cost alone, an upper bound.

Shortcuts measured:
- the SLA routes: the JSON body validated from the bytes by hand (``read_json``), the
  model serialised into a raw ``Response`` (``json_response``), the bearer check called
  in the body instead of through ``Depends``; and all three together, as they were;
- the bearer header read by hand rather than by FastAPI's ``HTTPBearer`` (on every
  authenticated route; measured on the cheapest, the SLA calculation);
- the work queue (``GET /v1/inquiries``) and raw email in: the raw ``Response``;
- the routes re-sorted after registration so that the docs pages come last.

Needs a PostgreSQL server (BENCH_POSTGRES_URL, default the local test server) for the
queue and email cases; a database is created for the run and dropped afterwards.
Run: `.venv/bin/python -m bench.bench_shortcuts [sla] [bearer] [order] [queue] [email]`
(all by default; BENCH_PAIRS batches of each variant, default 60). Takes about two minutes.
"""

import gc
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import anyio
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy import create_engine, text
from starlette.routing import BaseRoute

from app.calendar.engine import SUPPORTED_FIRST_YEAR, SUPPORTED_LAST_YEAR
from app.calendar.holidays import indonesian_holidays
from app.channels.inbound import receive_email
from app.channels.inbound_router import InboundResultView, _raw_body
from app.cli import migrate_and_seed
from app.core.channels import Channel
from app.core.config import get_settings
from app.core.db import SessionDep, utcnow
from app.core.errors import Unauthorized
from app.core.schemas import Instant
from app.core.security import (
    CurrentPrincipal,
    Principal,
    create_token,
    current_principal,
    decode_token,
)
from app.inquiries import queries
from app.inquiries.router import queue_page
from app.inquiries.router import router as inquiries_router
from app.inquiries.schemas import InquiryPage, SlaStateName
from app.inquiries.states import Status
from app.main import create_app
from app.sla import service
from app.sla.schemas import SlaCalculation, SlaResult, WorkingTimeQuery, WorkingTimeResult
from bench.bench_email_in import CORPUS, _fresh
from bench.bench_inquiries import FILL
from bench.loadgen import load, request_bytes
from bench.server import cpu_seconds, in_process_database, running_server

PAIRS = int(os.environ.get("BENCH_PAIRS", "60"))
QUEUE_ROWS = 5000
AIM = 0.10
# CPU per request that uvicorn adds to the application's own, measured in main().
SERVER_COST = [0.0]
ModelT = TypeVar("ModelT", bound=BaseModel)


# The shortcuts, as the routes had them (app/core/fastpath.py, removed since).


async def read_json(request: Request, model: type[ModelT]) -> ModelT:
    """The body validated as ``model`` straight from the JSON bytes."""
    body = await request.body()
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = [
            {**error, "loc": ("body", *error["loc"])}
            for error in exc.errors(include_url=False, include_context=False)
        ]
        raise RequestValidationError(errors, body=None) from None


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """``model`` serialised straight into a raw response."""
    return Response(
        model.__pydantic_serializer__.to_json(model),
        status_code=status_code,
        media_type="application/json",
    )


async def principal_by_hand(request: Request) -> Principal:
    """The caller, from the Authorization header read by hand (as app.core.security did
    before it used HTTPBearer)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required")
    return await decode_token(token.strip(), get_settings())


def docs_last(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """The routes with the docs pages and their static files last (as app.main sorted
    them after registration)."""

    def is_docs(route: object) -> bool:
        path = getattr(route, "path", "")
        return path in {"/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"} or str(
            path
        ).startswith("/static")

    return sorted(routes, key=is_docs)


# A minimal ASGI client: the request goes straight to the application.


@dataclass
class Call:
    method: str
    path: str
    query: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""


async def send_one(app: FastAPI, call: Call) -> tuple[int, bytes]:
    """Hand ``call`` to ``app``; the response's status and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": call.method,
        "scheme": "http",
        "path": call.path,
        "raw_path": call.path.encode(),
        "query_string": call.query,
        "root_path": "",
        "headers": [(b"host", b"bench"), *call.headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    done = anyio.Event()
    delivered = False
    status_code = 0
    body = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": call.body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status_code
        if message["type"] == "http.response.start":
            status_code = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    await app(scope, receive, send)
    return status_code, bytes(body)


def json_call(path: str, token: str, body: object) -> Call:
    return Call(
        "POST",
        path,
        headers=(
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
        ),
        body=json.dumps(body).encode(),
    )


# The measurement.

Setup = Callable[[], None]
MakeCall = Callable[[int], Call]


@dataclass
class Variant:
    label: str
    install: Setup


async def cpu_per_request(app: FastAPI, make: MakeCall, n: int, expect: int, at: int) -> float:
    """CPU seconds per request over ``n`` requests, numbered from ``at``."""
    started = time.process_time()
    for i in range(at, at + n):
        got, body = await send_one(app, make(i))
        if got != expect:
            raise RuntimeError(f"{make(i).path}: expected {expect}, got {got}: {body[:300]!r}")
    return (time.process_time() - started) / n


async def compare(
    app: FastAPI,
    title: str,
    designed: Variant,
    shortcut: Variant,
    make: MakeCall,
    batch: int,
    expect: int,
) -> None:
    """Print the CPU per request of both variants and what the shortcut saves.

    The variants take turns in short batches (ABBA), so that both meet the same load
    from the rest of the machine. Other processes only ever add to a batch's CPU time
    (shared caches and cores), so each variant's cost is its cheapest batch, as timeit
    takes the minimum; the median over pairs of batches is printed beside it.
    """
    counter = 0
    pairs: list[tuple[float, float]] = []
    for variant in (designed, shortcut):  # warm both
        variant.install()
        await cpu_per_request(app, make, batch, expect, counter)
        counter += batch
    for pair in range(PAIRS):
        cost: dict[str, float] = {}
        for variant in (designed, shortcut) if pair % 2 == 0 else (shortcut, designed):
            variant.install()
            await send_one(app, make(counter))  # FastAPI rebuilds its routes on the first
            counter += 1
            cost[variant.label] = await cpu_per_request(app, make, batch, expect, counter)
            counter += batch
        pairs.append((cost[designed.label], cost[shortcut.label]))
    designed.install()
    base = min(d for d, _ in pairs)
    fast = min(s for _, s in pairs)
    paired = statistics.median(1 - s / d for d, s in pairs)
    # The route's whole cost includes the HTTP server's work on the request.
    saving = (base - fast) / (base + SERVER_COST[0])
    verdict = "KEEP" if saving >= AIM else "DROP"
    print(
        f"{title:<50} {base * 1e6:5.0f} us -> {fast * 1e6:5.0f} us: app {1 - fast / base:6.1%} "
        f"(pairs {paired:6.1%}), route {saving:6.1%}  {verdict}"
    )


def owner(app: FastAPI, path: str, method: str) -> tuple[APIRouter, int]:
    """The router that holds the application's route for ``method path``, and its index
    there (FastAPI keeps included routers whole rather than copying their routes)."""
    for entry in app.router.routes:
        router = getattr(entry, "original_router", None)
        for i, route in enumerate(getattr(router, "routes", ())):
            if getattr(route, "path", None) == path and method in getattr(route, "methods", ()):
                assert isinstance(router, APIRouter)
                return router, i
    raise LookupError(f"{method} {path}")


def current(app: FastAPI, path: str, method: str) -> BaseRoute:
    router, index = owner(app, path, method)
    return router.routes[index]


def swapper(app: FastAPI, path: str, method: str, route: BaseRoute) -> Setup:
    """Put ``route`` in the place of the application's route for ``method path``."""
    router, index = owner(app, path, method)

    def install() -> None:
        router.routes[index] = route
        router._mark_routes_changed()  # FastAPI rebuilds its view of the router

    return install


def built(path: str, endpoint: Callable[..., Any], method: str, **kwargs: Any) -> BaseRoute:
    router = APIRouter()
    router.add_api_route(path, endpoint, methods=[method], **kwargs)
    return router.routes[0]


# The cases.


def sla_variants(
    model: type[BaseModel], compute: Callable[[service.Sources, Any], Awaitable[BaseModel]]
) -> list[tuple[str, Callable[..., Any]]]:
    """The SLA route for ``model`` with each shortcut alone, and with all of them as the
    route had them. (The annotations name ``model`` itself, hence no postponed
    annotations in this module.)"""

    async def body_by_hand(request: Request, _principal: CurrentPrincipal) -> Any:
        return await compute(sources_of(request), await read_json(request, model))

    async def raw_response(query: model, _principal: CurrentPrincipal, request: Request) -> Any:
        return json_response(await compute(sources_of(request), query))

    async def bearer_in_body(query: model, request: Request) -> Any:
        await current_principal(request)
        return await compute(sources_of(request), query)

    async def all_three(request: Request) -> Response:
        await principal_by_hand(request)
        query = await read_json(request, model)
        return json_response(await compute(sources_of(request), query))

    return [
        ("body read by hand", body_by_hand),
        ("raw Response", raw_response),
        ("bearer check in the body", bearer_in_body),
        ("all three (as before)", all_three),
    ]


def sources_of(request: Request) -> service.Sources:
    state = request.app.state
    return service.Sources(state.calendars, state.policies, state.session_factory)


async def sla_cases(app: FastAPI, token: str) -> None:
    def calc(i: int) -> Call:
        body = {
            "office_code": "KANWIL-ACEH",
            "channel": ("email", "webchat", "social")[i % 3],
            "received_at": f"2026-03-{1 + i % 28:02d}T{8 + i % 10:02d}:15:00+07:00",
        }
        return json_call("/v1/sla/calculate", token, body)

    def wt(i: int) -> Call:
        day = 1 + i % 20
        body = {
            "office_code": "KANWIL-ACEH",
            "start": f"2026-03-{day:02d}T08:00:00+07:00",
            "end": f"2026-03-{day + 7:02d}T16:00:00+07:00",
        }
        return json_call("/v1/sla/working-time", token, body)

    for path, make, model, result, compute in (
        ("/v1/sla/calculate", calc, SlaCalculation, SlaResult, service.calculate),
        ("/v1/sla/working-time", wt, WorkingTimeQuery, WorkingTimeResult, service.working_time),
    ):
        designed = Variant("designed", swapper(app, path, "POST", current(app, path, "POST")))
        for label, endpoint in sla_variants(model, compute):
            route = built(path, endpoint, "POST", response_model=result)
            shortcut = Variant("shortcut", swapper(app, path, "POST", route))
            await compare(app, f"POST {path}: {label}", designed, shortcut, make, 100, 200)


async def bearer_case(app: FastAPI, token: str) -> None:
    path = "/v1/sla/calculate"

    async def calculate(
        query: SlaCalculation,
        _principal: Annotated[Principal, Depends(principal_by_hand)],
        request: Request,
    ) -> SlaResult:
        return await service.calculate(sources_of(request), query)

    def calc(i: int) -> Call:
        body = {
            "office_code": "KANWIL-ACEH",
            "channel": "email",
            "received_at": f"2026-03-{1 + i % 28:02d}T09:15:00+07:00",
        }
        return json_call(path, token, body)

    route = built(path, calculate, "POST", response_model=SlaResult)
    await compare(
        app,
        f"POST {path}: header read without HTTPBearer",
        Variant("designed", swapper(app, path, "POST", current(app, path, "POST"))),
        Variant("shortcut", swapper(app, path, "POST", route)),
        calc,
        100,
        200,
    )


async def order_cases(app: FastAPI, token: str) -> None:
    registered = list(app.router.routes)
    sorted_routes = docs_last(registered)
    ahead = registered.index(sorted_routes[0])
    print(f"routes: {len(registered)}; docs routes ahead of the API's: {ahead}")

    def use(routes: list[BaseRoute]) -> Setup:
        def install() -> None:
            app.router.routes[:] = routes
            app.router._mark_routes_changed()

        return install

    def healthz(i: int) -> Call:
        return Call("GET", "/healthz")

    def calc(i: int) -> Call:
        body = {
            "office_code": "KANWIL-ACEH",
            "channel": "email",
            "received_at": f"2026-03-{1 + i % 28:02d}T09:15:00+07:00",
        }
        return json_call("/v1/sla/calculate", token, body)

    designed = Variant("designed", use(registered))
    shortcut = Variant("shortcut", use(sorted_routes))
    await compare(app, "GET /healthz: docs routes last", designed, shortcut, healthz, 200, 200)
    await compare(
        app, "POST /v1/sla/calculate: docs routes last", designed, shortcut, calc, 100, 200
    )


async def queue_case(app: FastAPI, token: str) -> None:
    # The route as app.inquiries.router has it, but answering with a raw Response.
    async def raw_response(
        request: Request,
        principal: CurrentPrincipal,
        status_: Annotated[list[Status] | None, Query(alias="status")] = None,
        office_code: Annotated[str | None, Query(max_length=32)] = None,
        channel: Channel | None = None,
        assignee: Annotated[str | None, Query(max_length=200)] = None,
        sla_state: SlaStateName | None = None,
        due_before: Annotated[Instant | None, Query()] = None,
        q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        sort: Annotated[queries.Sort, Query()] = "due_at",
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> Response:
        query = queries.QueueQuery(
            status=status_,
            office_code=office_code,
            channel=channel,
            assignee=assignee,
            sla_state=sla_state,
            due_before=due_before,
            q=q,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        return json_response(await queue_page(request, principal, query))

    path = "/v1/inquiries"
    designed_route = current(app, path, "GET")
    route = built(
        path,
        raw_response,
        "GET",
        response_model=InquiryPage,
        dependencies=list(inquiries_router.dependencies),
    )
    auth = ((b"authorization", f"Bearer {token}".encode()),)

    def page(i: int) -> Call:
        return Call("GET", path, query=b"limit=50", headers=auth)

    await compare(
        app,
        "GET /v1/inquiries?limit=50: raw Response",
        Variant("designed", swapper(app, path, "GET", designed_route)),
        Variant("shortcut", swapper(app, path, "GET", route)),
        page,
        10,
        200,
    )


async def inbound_case(app: FastAPI, token: str) -> None:
    def raw_response(
        request: Request,
        raw: Annotated[bytes, Depends(_raw_body)],
        session: SessionDep,
        principal: CurrentPrincipal,
        office_code: Annotated[str, Query(min_length=1, max_length=32)],
    ) -> Response:
        result = receive_email(
            session=session,
            calendars=request.app.state.calendars,
            policies=request.app.state.policies,
            office_code=office_code,
            raw=raw,
            principal=principal,
            now=utcnow(),
        )
        view = InboundResultView(
            outcome=result.outcome,
            inquiry_id=result.inquiry_id,
            reference=result.reference,
            reason=result.reason,
        )
        return json_response(view, 201 if result.outcome == "created" else 200)

    path = "/v1/channels/email/inbound"
    designed_route = current(app, path, "POST")
    route = built(
        path,
        raw_response,
        "POST",
        status_code=status.HTTP_201_CREATED,
        response_model=InboundResultView,
    )
    mail = (CORPUS / "qp_indonesian.eml").read_bytes()
    run = uuid.uuid4().hex[:8]
    headers = (
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"message/rfc822"),
    )

    def post(i: int) -> Call:
        return Call(
            "POST",
            path,
            query=b"office_code=KANWIL-ACEH",
            headers=headers,
            body=_fresh(mail, run, i),
        )

    await compare(
        app,
        "POST /v1/channels/email/inbound: raw Response",
        Variant("designed", swapper(app, path, "POST", designed_route)),
        Variant("shortcut", swapper(app, path, "POST", route)),
        post,
        8,
        201,
    )


def http_server_cost() -> float:
    """CPU seconds per request of uvicorn serving GET /healthz, from its /proc entry."""
    with running_server() as (port, env):
        healthz = request_bytes("GET", "/healthz", f"127.0.0.1:{port}")
        load("warm-up", "127.0.0.1", port, lambda i: healthz, connections=8, seconds=1)
        costs = []
        for _ in range(5):
            started = cpu_seconds(env)
            result = load(
                "GET /healthz",
                "127.0.0.1",
                port,
                lambda i: healthz,
                connections=8,
                seconds=2,
                warmup=0,
            )
            costs.append((cpu_seconds(env) - started) / result.requests)
    return min(costs)


async def app_healthz_cost(app: FastAPI) -> float:
    """CPU seconds per request of the application alone serving GET /healthz."""
    call = Call("GET", "/healthz")
    await cpu_per_request(app, lambda i: call, 200, 200, 0)
    return min([await cpu_per_request(app, lambda i: call, 200, 200, 0) for _ in range(20)])


async def run_all(
    app: FastAPI, tokens: dict[str, str], cases: Sequence[str], server_cost: float
) -> None:
    # What exists now lives as long as the run: out of the collector's sight, so that a
    # collection costs each variant what the variant itself allocated.
    gc.collect()
    gc.freeze()
    app_cost = await app_healthz_cost(app)
    SERVER_COST[0] = max(server_cost - app_cost, 0.0)
    print(
        f"GET /healthz: {server_cost * 1e6:.0f} us per request under uvicorn, {app_cost * 1e6:.0f} "
        f"us in the application alone: the HTTP server adds {SERVER_COST[0] * 1e6:.0f} us"
    )
    if "sla" in cases:
        await sla_cases(app, tokens["officer"])
    if "bearer" in cases:
        await bearer_case(app, tokens["officer"])
    if "order" in cases:
        await order_cases(app, tokens["officer"])
    if "queue" in cases:
        await queue_case(app, tokens["officer"])
    if "email" in cases:
        await inbound_case(app, tokens["integration"])


def main() -> int:
    print(
        f"machine: {platform.machine()} cores={os.cpu_count()} "
        f"python={platform.python_version()}; {PAIRS} pairs of batches, ABBA; CPU per request "
        "(time.process_time)"
    )
    server_cost = http_server_cost()
    with in_process_database("infodesk_shortcuts") as url:
        get_settings.cache_clear()
        migrate_and_seed()
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(FILL), {"rows": QUEUE_ROWS})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE inquiry"))
        engine.dispose()
        indonesian_holidays(SUPPORTED_FIRST_YEAR, SUPPORTED_LAST_YEAR + 1)
        settings = get_settings()
        tokens = {
            role: create_token(settings, sub=f"bench-{role}", roles=[role], office="KANWIL-ACEH")
            for role in ("officer", "integration")
        }
        app = create_app(settings)
        cases = sys.argv[1:] or ("sla", "bearer", "order", "queue", "email")
        anyio.run(run_all, app, tokens, cases, server_cost)
    print(f"a shortcut stays when it saves >= {AIM:.0%} of its route's CPU (KEEP), else DROP")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
