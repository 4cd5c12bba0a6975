"""A small HTTP/1.1 keep-alive load generator on asyncio streams.

It exists so that `make bench` needs nothing but Python: each of ``connections``
clients sends one request at a time on its own connection for ``seconds`` and records
latencies. Run it against a single-worker server so that the client, not the server, has
the spare core.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadResult:
    """Throughput and latency of one load run."""

    label: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: Sequence[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def line(self) -> str:
        median = statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")
        return (
            f"{self.label:<34} {self.rps:>9.0f} req/s   p50 {median:6.2f} ms   "
            f"p99 {self.percentile(99):6.2f} ms   errors {self.errors}"
        )


def request_bytes(
    method: str, path: str, host: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """A raw HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _client(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    deadline: float,
    latencies: list[float],
    counters: list[int],
    expect: int,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.perf_counter() < deadline:
            payload = make_request(i)
            i += 1
            started = time.perf_counter()
            writer.write(payload)
            status = await _read_response(reader)
            latencies.append((time.perf_counter() - started) * 1000)
            counters[0] += 1
            if status != expect:
                counters[1] += 1
    finally:
        writer.close()


async def _run(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    connections: int,
    seconds: float,
    expect: int,
) -> tuple[int, int, float, list[float]]:
    latencies: list[float] = []
    counters = [0, 0]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _client(host, port, make_request, deadline, latencies, counters, expect)
            for _ in range(connections)
        )
    )
    return counters[0], counters[1], time.perf_counter() - started, latencies


def load(
    label: str,
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    *,
    connections: int = 32,
    seconds: float = 8.0,
    warmup: float = 1.0,
    expect: int = 200,
) -> LoadResult:
    """Run ``connections`` clients for ``seconds`` (after a warm-up) and report."""
    if warmup:
        asyncio.run(_run(host, port, make_request, connections, warmup, expect))
    requests, errors, elapsed, latencies = asyncio.run(
        _run(host, port, make_request, connections, seconds, expect)
    )
    return LoadResult(label, requests, errors, elapsed, latencies)
