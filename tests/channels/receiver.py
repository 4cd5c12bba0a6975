"""A real HTTP receiver of webhooks on loopback, for tests and benchmarks.

It verifies every request's Standard Webhooks signature with ``standardwebhooks`` (when
given the endpoint's secret), records what arrived, and answers from a script of replies
(then 200), so tests can stage faults: a 500, a 429 with ``Retry-After``, a slow answer.

    with Receiver() as receiver:
        receiver.secret = created["secret"]
        receiver.script(Reply(500), Reply(200))
        ...
        assert receiver.wait_for(2)
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status, extra headers, and a delay before answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request as it arrived, and whether its signature verified."""

    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    verified: bool | None  # None: no secret to verify with
    payload: Any  # the JSON body, when it parsed
    status: int  # what the receiver answered
    at: float  # time.monotonic() on arrival

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")


class Receiver:
    """A threaded HTTP server on 127.0.0.1 and a free port, started and stopped by you."""

    def __init__(self, secret: str | None = None, *, record: bool = True) -> None:
        self.secret = secret
        self.record = record
        self.received: list[Received] = []
        self.count = 0
        self._replies: deque[Reply] = deque()
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies`` in order, then 200 again."""
        with self._lock:
            self._replies.extend(replies)

    def start(self) -> Receiver:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until ``count`` requests have arrived in all; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.count < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._replies.popleft() if self._replies else Reply()

    def _verify(self, body: bytes, headers: dict[str, str]) -> tuple[bool | None, Any]:
        secret = self.secret
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if secret is None:
            return None, payload
        try:
            return True, Webhook(secret).verify(body, headers)
        except (WebhookVerificationError, ValueError):
            return False, payload

    def _arrived(self, received: Received) -> None:
        with self._lock:
            self.count += 1
            if self.record:
                self.received.append(received)
            self._lock.notify_all()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real gateway would

        def do_POST(self) -> None:
            arrived = time.monotonic()
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified, payload = receiver._verify(body, headers)
            reply = receiver._next_reply() if verified is not False else Reply(401)
            if reply.delay:
                time.sleep(reply.delay)
            receiver._arrived(
                Received(self.path, headers, body, verified, payload, reply.status, arrived)
            )
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the client gave up (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main() -> None:
    """Run a receiver in a process of its own (benchmarks): prints its URL, then serves."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--secret", help="verify signatures with this whsec_ secret")
    args = parser.parse_args()
    receiver = Receiver(args.secret, record=False).start()
    print(receiver.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        receiver.stop()


if __name__ == "__main__":
    main()
