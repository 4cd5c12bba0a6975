"""Load from wrk (/usr/bin/wrk), when the machine has it: a load generator in C that
leaves the server and the database nearly all of the CPU that the Python one
(bench/loadgen.py) takes on a 2-core machine. Each request is built by bench/wrk_post.lua
from a body template whose ``{{id}}`` becomes an id no request used before."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.loadgen import LoadResult

WRK = shutil.which("wrk")
SCRIPT = Path(__file__).with_name("wrk_post.lua")
_RESULT = re.compile(
    r"RESULT requests=(\d+) seconds=([\d.]+) errors_status=(\d+) errors_other=(\d+) "
    r"p50=([\d.]+) p99=([\d.]+)"
)


@dataclass(frozen=True)
class WrkResult(LoadResult):
    """A LoadResult from wrk's summary (median and 99th percentile only)."""

    p50: float = 0.0
    p99: float = 0.0

    def percentile(self, p: float) -> float:
        return self.p50 if p == 50 else self.p99

    def line(self) -> str:
        return (
            f"{self.label:<34} {self.rps:>9.0f} req/s   p50 {self.p50:6.2f} ms   "
            f"p99 {self.p99:6.2f} ms   errors {self.errors}   (wrk)"
        )


def available() -> bool:
    """Whether wrk is on the machine."""
    return WRK is not None


def load(
    label: str,
    port: int,
    path: str,
    *,
    method: str = "GET",
    content_type: str = "application/json",
    token: str = "",
    template: bytes = b"",
    connections: int = 32,
    seconds: float = 8.0,
    warmup: float = 1.0,
    paths: Sequence[str] = (),
    bodies: Sequence[bytes] = (),
) -> WrkResult:
    """``connections`` keep-alive connections from one wrk thread for ``seconds`` (after a
    warm-up run); every status but 2xx/3xx counts as an error. With ``paths``, request N
    goes to ``paths[N]`` (round the list again when it runs out), else all go to ``path``;
    with ``bodies`` (one line each), request N sends ``bodies[N]`` in the same way."""
    assert WRK is not None
    with (
        tempfile.NamedTemporaryFile(suffix=".body") as body,
        tempfile.NamedTemporaryFile("w", suffix=".paths") as listed,
        tempfile.NamedTemporaryFile(suffix=".bodies") as sent,
    ):
        assert not any(b"\n" in b for b in bodies), "a body is one line"
        sent.write(b"".join(b + b"\n" for b in bodies))
        sent.flush()
        body.write(template)
        body.flush()
        listed.write("".join(f"{p}\n" for p in paths))
        listed.flush()

        def run(duration: float) -> WrkResult:
            args = [method, path, content_type, token, body.name, uuid.uuid4().hex[:10]]
            if paths or bodies:
                args.append(listed.name if paths else "-")
            if bodies:
                args.append(sent.name)
            out = subprocess.run(
                [
                    WRK,
                    "-t1",
                    f"-c{connections}",
                    f"-d{max(1, round(duration))}s",
                    "--timeout",
                    "10s",
                    "-s",
                    str(SCRIPT),
                    f"http://127.0.0.1:{port}{path}",
                    "--",
                    *args,
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            match = _RESULT.search(out)
            if match is None:
                raise RuntimeError(f"wrk printed no result:\n{out}")
            requests, elapsed, status_errors, other_errors = match.groups()[:4]
            return WrkResult(
                label,
                int(requests),
                int(status_errors) + int(other_errors),
                float(elapsed),
                [],
                float(match.group(5)),
                float(match.group(6)),
            )

        if warmup:
            run(warmup)
        return run(seconds)
