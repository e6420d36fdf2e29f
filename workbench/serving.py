"""Serving the app with gunicorn, from the CLI and the demo.

The worker is gunicorn's threaded one with two changes at the edge:

- A request is read whole (headers and body) on the worker's poller before a thread is
  given to it, so clients that send slowly hold a socket, not one of the few threads:
  fifty half-sent bodies do not keep ``/healthz`` waiting. A client that stops sending
  for ``IDLE_TIMEOUT_S`` (or takes over ``REQUEST_DEADLINE_S`` in all) gets a 408.
- Errors gunicorn answers itself (a request line over ``LIMIT_REQUEST_LINE``, broken
  headers, the 408) are the API's JSON error body, not gunicorn's HTML page.
"""

from __future__ import annotations

import gc
import json
import re
import selectors
import time
from functools import partial
from typing import Any

from gunicorn import http, util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from workbench.app import create_app
from workbench.metrics import multiprocess

#: Longest request line gunicorn reads (its maximum). The app answers a JSON 414 past
#: 4,094 characters on /api/ paths; past this, the worker's own 414 (JSON too).
LIMIT_REQUEST_LINE = 8190
#: Seconds a client may pause while sending one request before it is answered 408.
IDLE_TIMEOUT_S = 10.0
#: Seconds one request may take to arrive in all (a 51 MiB recording on a slow link).
REQUEST_DEADLINE_S = 600.0
#: Bodies larger than this are handed on unbuffered: the app refuses them with 413.
MAX_BUFFERED_BYTES = 52 * 1024 * 1024
#: Headers larger than this are handed to gunicorn's parser, which refuses them.
MAX_HEADER_BYTES = 64 * 1024
#: Bytes one worker process holds for requests still arriving. Past it, a request is
#: handed to a thread as it stands (gunicorn's own behaviour), so memory stays bounded.
MAX_BUFFERED_TOTAL = 256 * 1024 * 1024

_HEADER_END = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]{1,15})[ \t]*\r\n", re.I)
_TRANSFER_ENCODING = re.compile(rb"\r\ntransfer-encoding:", re.I)
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3}) ([^\r\n]*)")
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect:[ \t]*100-continue[ \t]*\r\n", re.I)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def request_is_whole(buffer: bytes | bytearray) -> bool:
    """Whether ``buffer`` holds a request's headers and all of its body (or more than we
    buffer, or a chunked body, which the parser reads as it comes)."""
    end = buffer.find(_HEADER_END)
    if end < 0:
        return len(buffer) > MAX_HEADER_BYTES
    head = bytes(buffer[:end + 2])
    if _TRANSFER_ENCODING.search(head):
        return True
    found = _CONTENT_LENGTH.search(head)
    if found is None:
        return True
    length = int(found.group(1))
    return length > MAX_BUFFERED_BYTES or len(buffer) - (end + 4) >= length


def json_error(status: int, reason: str) -> bytes:
    """A whole HTTP response carrying the API's error body (nothing the client sent)."""
    code = reason.lower().replace(" ", "_").replace("-", "_") or "error"
    body = json.dumps({"error": {"code": code, "message": reason}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class _Captured:
    """Stands in for the client socket while gunicorn writes its HTML error page."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.data += data


class EdgeWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker that buffers each request and answers errors in JSON."""

    def init_process(self) -> None:
        #: Connections whose request is still arriving: conn -> (idle deadline, deadline).
        self.arriving: dict[Any, tuple[float, float]] = {}
        self.buffered_total = 0
        super().init_process()

    def enqueue_req(self, conn: Any) -> None:
        if self.cfg.is_ssl:  # TLS is the load balancer's job; read such requests as before
            super().enqueue_req(conn)
            return
        buffer = bytearray()
        if conn.parser is not None:  # a kept-alive connection may have read ahead
            buffer += conn.parser.unreader.take_buffered()
        conn.wb_buffer = buffer
        conn.wb_continued = False
        self.buffered_total += len(buffer)
        if buffer and request_is_whole(buffer):
            self._dispatch(conn)
            return
        now = time.monotonic()
        conn.sock.setblocking(False)
        self.arriving[conn] = (now + IDLE_TIMEOUT_S, now + REQUEST_DEADLINE_S)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, conn))
        self._continue(conn)

    def _on_bytes(self, conn: Any, _sock: Any) -> None:
        try:
            data = conn.sock.recv(256 * 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn, answer=False)
            return
        conn.wb_buffer += data
        self.buffered_total += len(data)
        if request_is_whole(conn.wb_buffer) or self.buffered_total > MAX_BUFFERED_TOTAL:
            self.poller.unregister(conn.sock)
            del self.arriving[conn]
            self._dispatch(conn)
            return
        self._continue(conn)
        _, deadline = self.arriving[conn]
        self.arriving[conn] = (time.monotonic() + IDLE_TIMEOUT_S, deadline)

    def _continue(self, conn: Any) -> None:
        """Answer ``Expect: 100-continue``: the client sends its body only after it."""
        end = conn.wb_buffer.find(_HEADER_END)
        if conn.wb_continued or end < 0:
            return
        conn.wb_continued = True  # gunicorn sends its own later; clients skip extra 100s
        if _EXPECT_CONTINUE.search(conn.wb_buffer[:end + 2]):
            try:
                conn.sock.send(_CONTINUE)
            except OSError:
                pass

    def _dispatch(self, conn: Any) -> None:
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(bytes(conn.wb_buffer))
        self.buffered_total -= len(conn.wb_buffer)
        conn.wb_buffer = bytearray()
        conn.data_ready = True
        super().enqueue_req(conn)

    def _drop(self, conn: Any, *, answer: bool) -> None:
        self.arriving.pop(conn, None)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        if answer and conn.wb_buffer:
            try:
                conn.sock.send(json_error(408, "Request Timeout"))
            except OSError:
                pass
        self.buffered_total -= len(conn.wb_buffer)
        conn.wb_buffer = bytearray()
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        late = [c for c, (idle, deadline) in self.arriving.items() if min(idle, deadline) <= now]
        for conn in late:
            self._drop(conn, answer=True)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        captured = _Captured()
        super().handle_error(req, captured, addr, exc)
        found = _STATUS_LINE.match(captured.data)
        status, reason = (int(found.group(1)), found.group(2).decode("latin-1")) if found \
            else (500, "Internal Server Error")
        try:
            util.write_nonblock(client, json_error(status, reason))
        except Exception:  # noqa: BLE001 - the client may be gone; gunicorn ignores it too
            self.log.debug("Failed to send error message.")


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        app = create_app()
        # What the app loaded stays for the process's life: out of the collector's sight.
        # A full collection walked all of it (about 200,000 objects) in the middle of a
        # request, 100-500 ms on this project's 2-core machine: the case page's p95 at
        # 10 million reports (docs/benchmarks.md).
        gc.collect()
        gc.freeze()
        return app


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's hook when a worker process has exited: its live metrics go with it."""
    multiprocess.process_ended(worker.pid)


def gunicorn_options(host: str, port: int, workers: int, *, access_log: bool = True,
                     control_socket: str | None = None) -> dict[str, Any]:
    """gunicorn's settings for ``workbench serve``.

    Args:
        control_socket: where this instance's control socket goes; none when not given,
            so two instances on one host never take each other's.
    """
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": 4,
        "worker_class": f"{__name__}.EdgeWorker",
        "timeout": 120,
        "graceful_timeout": 10,
        "limit_request_line": LIMIT_REQUEST_LINE,
        "accesslog": "-" if access_log else None,
        "loglevel": "info",
        "child_exit": child_exit,
        **({"control_socket": control_socket} if control_socket
           else {"control_socket_disable": True}),
    }


def run_gunicorn(host: str, port: int, workers: int, *, access_log: bool = True,
                 control_socket: str | None = None) -> None:
    """Serve until stopped (SIGINT or SIGTERM stop it gracefully)."""
    _Gunicorn(gunicorn_options(host, port, workers, access_log=access_log,
                               control_socket=control_socket)).run()
