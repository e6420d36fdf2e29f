"""A platform's webhook endpoint, for real: an HTTP server on 127.0.0.1 that the tests run.

It checks each request's signature, counts idempotency keys, and applies deliveries the
way a careful platform would (one a request, or several in an ``actions`` body, each
with its own key): per user, a delivery older than the last applied one is
dropped, so the test can see each user's state as the platform sees it.

It speaks HTTP/1.1 with keep-alive, as platforms' servers do, so a sender can reuse its
connections; stopping it also closes the connections it holds open, so a stopped
platform is unreachable even to a sender with a pooled connection.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from actions import signing

STATE_AFTER = {"ban": "banned", "suspend": "suspended", "mute": "muted",
               "restrict_calls": "restricted", "unban": "active", "unsuspend": "active",
               "unmute": "active", "unrestrict_calls": "active"}


#: How often a server's loop checks whether it was asked to stop: ``stop`` waits up to
#: this long (socketserver's default, half a second, is paid by every test that stops one).
STOP_POLL_S = 0.02


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PlatformServer:
    def __init__(self, slug: str, secret: str) -> None:
        self.slug = slug
        self.secret = secret
        self.port = free_port()
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        self.keys: Counter[str] = Counter()
        self.applied_keys: set[str] = set()
        self.last_sequence: dict[tuple[str, str], int] = {}  # (person key, user) -> seq
        self.state: dict[str, str] = {}
        self.bad_signatures = 0
        self.fail_next = 0
        self.fail_status = 500
        #: What a failing answer says (an internal service may echo its secrets).
        self.fail_body = b""
        self.delay_s = 0.0
        #: Signed requests read (a batch of deliveries is one).
        self.requests = 0
        #: Their bodies, as sent.
        self.bodies: list[bytes] = []
        #: Users a batch may not name: such a batch is refused whole (422).
        self.refuse_users: set[str] = set()
        self.in_flight = 0
        #: Cleared by ``hold()``: requests wait (counted in flight) until ``release()``.
        self._gate = threading.Event()
        self._gate.set()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def start(self) -> None:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with platform.lock:
                    platform._connections.add(self.connection)

            def handle(self) -> None:
                try:
                    super().handle()
                except ConnectionError:
                    pass  # the sender hung up (it stopped waiting for a slow answer)

            def finish(self) -> None:
                with platform.lock:
                    platform._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = platform.handle(dict(self.headers.items()), body)
                answer = platform.fail_body if status >= 300 else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(STOP_POLL_S,),
                         daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client closed it first

    def hold(self) -> None:
        """Keep every request open (unanswered) from now until ``release()``."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        if self.delay_s or not self._gate.is_set():
            with self.lock:
                self.in_flight += 1
            self._gate.wait(timeout=120)
            time.sleep(self.delay_s)
            with self.lock:
                self.in_flight -= 1
        try:
            signing.verify(self.secret, headers.get(signing.TIMESTAMP_HEADER),
                           headers.get(signing.SIGNATURE_HEADER), body)
        except signing.SignatureError:
            with self.lock:
                self.bad_signatures += 1
            return 401
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_status
            payload = json.loads(body)
            self.requests += 1
            self.bodies.append(body)
            if payload.get("event") == "actions":
                deliveries = [(d, d["idempotency_key"]) for d in payload["deliveries"]]
                if any(self.refuse_users.intersection(d.get("user_ids", []))
                       for d, _ in deliveries):
                    return 422  # all or nothing: none of the batch is applied
            else:
                deliveries = [(payload, headers.get("Idempotency-Key", ""))]
            for delivery, key in deliveries:
                self.keys[key] += 1
                self.received.append(delivery)
                if key in self.applied_keys:
                    continue  # a retry of what was already applied: no second effect
                self.applied_keys.add(key)
                self._apply(delivery)
        return 200

    def _apply(self, payload: dict[str, Any]) -> None:
        new_state = STATE_AFTER.get(payload.get("type", ""))
        for user in payload.get("user_ids", []):
            last = self.last_sequence.get(("", user), 0)
            if payload["sequence"] <= last:
                continue  # stale: a later decision about this user was applied already
            self.last_sequence[("", user)] = payload["sequence"]
            if new_state:
                self.state[user] = new_state

    def effects(self) -> int:
        """Deliveries applied (each idempotency key once)."""
        return len(self.applied_keys)
