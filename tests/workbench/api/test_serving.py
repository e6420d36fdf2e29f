"""`workbench serve` itself: slow clients cannot starve it, and its own errors are JSON."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.app import TEST_SECRET_KEY
from tests.support.serving import serving

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, timeout: float = 5.0) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type") or "", r.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, database_url: str,
           redis_url: str) -> Iterator[tuple[int, Path]]:
    """``workbench serve`` as deployed (2 processes of 4 threads), on a free port."""
    home = tmp_path_factory.mktemp("home")
    port = _free_port()
    env = {**os.environ, "HOME": str(home), "WORKBENCH_DATABASE_URL": database_url,
           "WORKBENCH_REDIS_URL": redis_url, "WORKBENCH_SECRET_KEY": TEST_SECRET_KEY,
           "WORKBENCH_INSTANCE_DIR": str(home / "instance")}
    env.pop("XDG_RUNTIME_DIR", None)
    with serving(env, port, 60):
        yield port, home


def test_fifty_slow_bodies_do_not_starve_healthz(served: tuple[int, Path]) -> None:
    port, _ = served
    slow = []
    try:
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                      b'{"messages": [')
            slow.append(s)
        time.sleep(0.5)  # let every one of them reach the server
        for _ in range(5):
            started = time.monotonic()
            status, _, _ = _get(port, "/healthz", timeout=5)
            took = time.monotonic() - started
            assert status == 200 and took < 1.0, f"/healthz took {took:.2f} s"
    finally:
        for s in slow:
            s.close()


def test_a_request_line_past_gunicorns_limit_is_a_json_414(served: tuple[int, Path]) -> None:
    port, _ = served
    status, content_type, body = _get(port, "/api/v1/users/" + "a" * 9000 + "/status")
    assert status == 414 and content_type == "application/json"
    assert json.loads(body)["error"]["code"] == "uri_too_long"


def test_a_path_past_4094_characters_is_the_apps_json_414(served: tuple[int, Path]) -> None:
    port, _ = served
    status, content_type, body = _get(port, "/api/v1/users/" + "a" * 5000 + "/status")
    assert status == 414 and content_type == "application/json"
    assert json.loads(body)["error"]["code"] == "uri_too_long"


def test_a_broken_request_line_is_a_json_400(served: tuple[int, Path]) -> None:
    port, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /api/v1/x\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = s.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert json.loads(body)["error"]["code"]


def test_no_control_socket_is_taken_in_the_home_directory(served: tuple[int, Path]) -> None:
    _, home = served
    assert not (home / ".gunicorn" / "gunicorn.ctl").exists()


def test_signed_posts_arrive_whole_in_pieces_and_on_one_kept_alive_connection(
    served: tuple[int, Path], platforms: dict[str, object]
) -> None:
    from actions.signing import signed_headers

    port, _ = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for n in range(2):
            items = [{"id": f"s{n}-{i}", "user_id": "u1", "kind": "chargeback",
                      "details": {"pad": "x" * 500}} for i in range(400)]
            body = json.dumps({"signals": items}).encode()
            headers = {**signed_headers("calls", "secret-calls-0123456789", body),
                       "Content-Type": "application/json", "Content-Length": str(len(body))}
            conn.putrequest("POST", "/api/v1/signals")
            for key, value in headers.items():
                conn.putheader(key, value)
            conn.endheaders()
            for start in range(0, len(body), 64 * 1024):  # in pieces, with pauses
                conn.send(body[start:start + 64 * 1024])
                time.sleep(0.05)
            r = conn.getresponse()
            answer = json.loads(r.read())
            assert r.status == 202, answer
            assert answer["accepted"] == 400
    finally:
        conn.close()


def test_expect_100_continue_is_answered_before_the_body(served: tuple[int, Path]) -> None:
    port, _ = served
    body = b'{"signals": []}'
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /api/v1/signals HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        s.settimeout(0.8)  # curl waits 1 s for it before sending anyway
        assert s.recv(64).startswith(b"HTTP/1.1 100 Continue")
        s.settimeout(5)
        s.sendall(body)
        answer = b""
        while b"}}" not in answer:
            chunk = s.recv(65536)
            assert chunk, answer
            answer += chunk
    assert b"HTTP/1.1 401" in answer and b"missing_platform" in answer


def test_a_client_that_stops_sending_is_answered_408(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    port = _free_port()
    env = {**os.environ, "HOME": str(tmp_path), "WORKBENCH_DATABASE_URL": database_url,
           "WORKBENCH_REDIS_URL": redis_url, "WORKBENCH_SECRET_KEY": TEST_SECRET_KEY,
           "WORKBENCH_INSTANCE_DIR": str(tmp_path / "instance")}
    # The same server with a 1 s pause allowed instead of 10 (set before the worker forks).
    script = ("import workbench.serving as s; s.IDLE_TIMEOUT_S = 1.0; "
              f"s.run_gunicorn('127.0.0.1', {port}, 1, access_log=False)")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 100\r\n\r\n{")
            started = time.monotonic()
            answer = s.recv(65536)
            waited = time.monotonic() - started
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer
        assert json.loads(body)["error"]["code"] == "request_timeout"
        assert 0.9 < waited < 4
    finally:
        proc.terminate()
        proc.wait(timeout=30)
