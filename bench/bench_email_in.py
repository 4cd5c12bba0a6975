"""Inbound email on PostgreSQL: the MIME corpus of the tests posted as raw mail to
POST /v1/channels/email/inbound, each copy with a fresh Message-ID, through a real
uvicorn server (one worker) with 32 keep-alive clients.

1. New inquiries: every readable, non-automatic mail of the corpus (quoted-printable,
   base64, HTML-only, charsets, a PDF attachment, replies ...): parsing, attachment
   storage, intake with its SLA, audit and acknowledgement (aim: >= 100 mails/s).
2. Noise: auto-replies, bulk mail and bounces, recorded and ignored.

Needs a PostgreSQL server (BENCH_POSTGRES_URL, default the local test server); a database
is created for the run and dropped afterwards.
Run: `.venv/bin/python -m bench.bench_email_in`.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_inquiries import _token
from bench.loadgen import load, request_bytes
from bench.server import create_database, drop_database, running_server

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "channels" / "mime"
NEW = [
    "qp_indonesian.eml",
    "base64_subject.eml",
    "html_only.eml",
    "alternative.eml",
    "iso_8859_1.eml",
    "windows_1252.eml",
    "pdf_attachment.eml",
    "reply_outlook.eml",
    "reply_gmail_id.eml",
    "reply_gmail_en.eml",
    "no_message_id.eml",
]
NOISE = ["auto_reply.eml", "bulk.eml", "bounce.eml"]
AIM = 100.0
_MESSAGE_ID = re.compile(rb"^Message-ID:[^\r\n]*\r?\n", re.IGNORECASE | re.MULTILINE)


def _fresh(raw: bytes, run: str, i: int) -> bytes:
    """``raw`` with a Message-ID nobody used before."""
    header = f"Message-ID: <bench-{run}-{i}@example.com>\r\n".encode()
    stripped = _MESSAGE_ID.sub(b"", raw, count=1)
    return header + stripped


def _run(port: int, env: dict[str, str], names: list[str], label: str, expect: int) -> float:
    host = f"127.0.0.1:{port}"
    headers = {
        "Authorization": f"Bearer {_token(env, 'integration')}",
        "Content-Type": "message/rfc822",
    }
    mails = [(CORPUS / name).read_bytes() for name in names]
    run = uuid.uuid4().hex[:8]
    path = "/v1/channels/email/inbound?office_code=KANWIL-ACEH"

    def post(i: int) -> bytes:
        body = _fresh(mails[i % len(mails)], f"{run}-{uuid.uuid4().hex[:6]}", i)
        return request_bytes("POST", path, host, body, headers)

    result = load(
        label, "127.0.0.1", port, post, connections=CONNECTIONS, seconds=SECONDS, expect=expect
    )
    print(result.line())
    return result.rps if result.errors == 0 else 0.0


def _json_intake(port: int, env: dict[str, str]) -> float:
    """The same intake posted as JSON, for reference: what mail adds on top of it."""
    host = f"127.0.0.1:{port}"
    headers = {
        "Authorization": f"Bearer {_token(env, 'integration')}",
        "Content-Type": "application/json",
    }
    run = uuid.uuid4().hex[:8]

    def post(i: int) -> bytes:
        body = json.dumps(
            {
                "office_code": "KANWIL-ACEH",
                "channel": "email",
                "channel_message_id": f"json-{run}-{i}-{uuid.uuid4().hex[:6]}@example.com",
                "requester": {"name": "Siti Rahmawati", "email": "siti.rahma@example.co.id"},
                "subject": "Pertanyaan tentang impor barang kiriman",
                "message": "Saya ingin bertanya mengenai barang kiriman dari Singapura.",
            }
        ).encode()
        return request_bytes("POST", "/v1/inquiries", host, body, headers)

    result = load(
        "POST /v1/inquiries (JSON, reference)",
        "127.0.0.1",
        port,
        post,
        connections=CONNECTIONS,
        seconds=SECONDS,
        expect=201,
    )
    print(result.line())
    return result.rps


def main() -> int:
    print(
        f"machine: {platform.machine()} cores={os.cpu_count()} python={platform.python_version()}"
    )
    print(
        f"load: {CONNECTIONS} keep-alive connections, {SECONDS:.0f} s per run, 1 server worker, "
        f"PostgreSQL; corpus: {len(NEW)} mails for new inquiries, {len(NOISE)} noise"
    )
    name, url = create_database()
    storage = tempfile.mkdtemp(prefix="infodesk-bench-storage-")
    os.environ.update(
        {
            "INFODESK_STORAGE_DIR": storage,
            "INFODESK_MAIL_OUTBOX_DIR": tempfile.mkdtemp(prefix="infodesk-bench-outbox-"),
            # Intake alone: the delivery worker is measured by its own benchmark.
            "INFODESK_EMBEDDED_WORKER": "false",
        }
    )
    try:
        with running_server(url) as (port, env):
            healthz = request_bytes("GET", "/healthz", f"127.0.0.1:{port}")
            health = load(
                "GET /healthz (the machine's state)",
                "127.0.0.1",
                port,
                lambda i: healthz,
                connections=CONNECTIONS,
                seconds=SECONDS,
            )
            print(health.line())
            json_intake = _json_intake(port, env)
            created = _run(port, env, NEW, "POST inbound (new inquiries)", 201)
            ignored = _run(port, env, NOISE, "POST inbound (noise, ignored)", 200)
    finally:
        drop_database(name)
    print(
        f"new inquiries from mail: {created:.0f} mails/s (aim >= {AIM:.0f}) "
        f"{'PASS' if created >= AIM else 'MISS'}; "
        f"{created / json_intake:.0%} of JSON intake ({json_intake:.0f} req/s) on this run"
    )
    print(
        f"noise recorded and ignored: {ignored:.0f} mails/s (aim >= {AIM:.0f}) "
        f"{'PASS' if ignored >= AIM else 'MISS'}"
    )
    return 0 if created >= AIM and ignored >= AIM else 1


if __name__ == "__main__":
    raise SystemExit(main())
