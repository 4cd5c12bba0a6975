"""What indexing an answer costs the answer, in one process: the steadier view of
bench_search's step 4.

POST /v1/inquiries/{id}/answer is handed to the application directly (no HTTP server),
one request at a time, on PostgreSQL, with the search listener registered for half of
the answers and removed for the other half, in ABBA order so that both halves meet the
same load from the rest of the machine. Prints the median wall and CPU time of an answer
with and without indexing, and of the listener alone (aim: indexing adds at most 10%).

Needs a PostgreSQL server (BENCH_POSTGRES_URL, default the local test server); a database
is created for the run and dropped afterwards.
Run: `.venv/bin/python -m bench.bench_index_answer` (BENCH_ANSWERS answers a side, 300).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import anyio

from bench.bench_shortcuts import json_call, send_one
from bench.server import in_process_database

ANSWERS = int(os.environ.get("BENCH_ANSWERS", "300"))
WARMUP = 40
AIM = 1.10
QUESTION = (
    "Saya mengirimkan sepatu dari Jepang tetapi paket masih tertahan di kantor pos. "
    "Apa yang harus saya lakukan?"
)
ANSWER = (
    "Untuk kiriman barang dengan nilai pabean di atas FOB USD 3, dikenakan bea masuk 7,5% "
    "dan PPN. Silakan lengkapi dokumen pemberitahuan dan invoice melalui PT Pos Indonesia."
)


async def run() -> int:
    from app.cli import migrate_and_seed
    from app.core.config import get_settings
    from app.core.security import create_token
    from app.inquiries import hooks
    from app.main import create_app

    get_settings.cache_clear()
    migrate_and_seed()
    settings = get_settings()
    tokens = {
        role: create_token(settings, sub=f"bench-{role}", roles=[role], office="KANWIL-ACEH")
        for role in ("officer", "integration")
    }
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        ids = []
        for _ in range(2 * ANSWERS + WARMUP):
            status, body = await send_one(
                app,
                json_call(
                    "/v1/inquiries",
                    tokens["integration"],
                    {
                        "office_code": "KANWIL-ACEH",
                        "channel": "webchat",
                        "channel_message_id": uuid.uuid4().hex,
                        "requester": {"name": "Pemohon", "email": "pemohon@example.com"},
                        "subject": "Kiriman tertahan",
                        "message": QUESTION,
                    },
                ),
            )
            assert status == 201, body
            ids.append(json.loads(body)["id"])
        indexing = list(hooks._answer_listeners)
        alone: list[tuple[float, float]] = []

        def timed(*args: Any) -> None:
            wall, cpu = time.perf_counter(), time.process_time()
            for listener in indexing:
                listener(*args)
            alone.append((time.perf_counter() - wall, time.process_time() - cpu))

        times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        gc.collect()
        gc.freeze()
        for i, inquiry_id in enumerate(ids):
            on = (i // 2) % 2 == i % 2  # ABBA
            hooks._answer_listeners[:] = [timed] if on else []
            wall, cpu = time.perf_counter(), time.process_time()
            status, body = await send_one(
                app,
                json_call(
                    f"/v1/inquiries/{inquiry_id}/answer", tokens["officer"], {"message": ANSWER}
                ),
            )
            elapsed = (time.perf_counter() - wall, time.process_time() - cpu)
            assert status == 200, body
            if i >= WARMUP:
                times[on].append(elapsed)
        hooks._answer_listeners[:] = indexing

    def ms(values: list[tuple[float, float]], k: int) -> float:
        return statistics.median(v[k] for v in values) * 1000

    for on in (False, True):
        label = "answer, indexed" if on else "answer, not indexed"
        print(
            f"  {label:<24} n={len(times[on])}  wall p50 {ms(times[on], 0):6.2f} ms  "
            f"CPU p50 {ms(times[on], 1):6.2f} ms"
        )
    print(
        f"  {'the listener alone':<24}        wall p50 {ms(alone, 0):6.2f} ms  CPU p50 "
        f"{ms(alone, 1):6.2f} ms"
    )
    ratio = ms(times[True], 0) / ms(times[False], 0)
    ok = ratio <= AIM
    print(
        f"  answer with / without indexing (wall p50): {ratio:.2f} (aim <= {AIM:.2f}) "
        f"{'PASS' if ok else 'MISS'}; CPU {ms(times[True], 1) / ms(times[False], 1):.2f}"
    )
    return 0 if ok else 1


def main() -> int:
    print(f"answers on PostgreSQL, in-process, {ANSWERS} a side, ABBA")
    with in_process_database("infodesk_bench_index"):
        return anyio.run(run)


if __name__ == "__main__":
    raise SystemExit(main())
