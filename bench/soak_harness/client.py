"""Signed requests to the intake API, as a careful platform sends them, and the log of
every answer the workbench gave (status, time, and whether the request was good).

A platform retries what was not answered, or answered 503, with a fresh signature (after
``Retry-After``); every attempt is logged, so a 5xx is never hidden by its retry.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from actions.signing import signed_content, signed_headers
from bench.soak_harness.world import Request

#: Seconds a request may take before the platform gives up on it (and retries).
REQUEST_TIMEOUT_S = 30.0
#: Attempts per request before the platform gives up on it.
ATTEMPTS = 6
#: The longest a platform waits before retrying, whatever ``Retry-After`` says.
MAX_WAIT_S = 5.0


@dataclass(frozen=True)
class Answer:
    """One attempt and what came back (``status`` None: no answer at all)."""

    t0: float
    t1: float
    kind: str
    good: bool
    status: int | None
    retry_after: bool = False
    error: str | None = None
    #: For a refused API request: whether its body was ``{"error": {"code", "message"}}``.
    error_body_ok: bool = True


@dataclass
class Accepted:
    """A request answered 202, with the items it carried."""

    t0: float
    t1: float
    request: Request
    body: dict[str, Any]


@dataclass
class AnswerLog:
    answers: list[Answer] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def add_accepted(self, accepted: Accepted) -> None:
        with self.lock:
            self.accepted.append(accepted)


def error_body_ok(response: requests.Response) -> bool:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error, dict) and {"code", "message"} <= set(error)


class ApiClient:
    """Signed requests over a pooled session per thread."""

    def __init__(self, base_url: str, secrets: dict[str, str], log: AnswerLog) -> None:
        self.base_url = base_url
        self.secrets = secrets
        self.log = log
        self._local = threading.local()

    @property
    def http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=4,
                                                 max_retries=0))
            self._local.session = session
        return session

    def send(self, req: Request) -> requests.Response | None:
        """Send a good request until it is answered with something other than a 503."""
        first = time.time()
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(1.0)  # a new second: a fresh signature, never a replayed one
            response = self.raw(req.kind, req.slug, req.path, req.body, req.content_type,
                                good=True)
            if response is None:
                continue
            if response.status_code == 503:
                time.sleep(min(MAX_WAIT_S, float(response.headers.get("Retry-After", 1))))
                continue
            if response.status_code == 202:
                self.log.add_accepted(Accepted(first, time.time(), req, response.json()))
            return response
        return None

    def raw(self, kind: str, slug: str, path: str, body: bytes, content_type: str, *,
            good: bool, headers: dict[str, str] | None = None, method: str = "POST",
            sign: bool = True) -> requests.Response | None:
        """One attempt, logged. ``headers`` replace the signed ones (for bad requests)."""
        sent = {"Content-Type": content_type}
        if sign:
            content = signed_content(method, path, body)
            sent.update(signed_headers(slug, self.secrets.get(slug, "x" * 24), content))
        sent.update(headers or {})
        t0 = time.time()
        try:
            response = self.http.request(method, self.base_url + path, data=body or None,
                                         headers=sent, timeout=REQUEST_TIMEOUT_S,
                                         allow_redirects=False)
        except requests.RequestException as exc:
            self.log.add(Answer(t0, time.time(), kind, good, None,
                                error=f"{type(exc).__name__}: {exc}"[:300]))
            return None
        t1 = time.time()
        refused = response.status_code >= 400
        self.log.add(Answer(t0, t1, kind, good, response.status_code,
                            retry_after="Retry-After" in response.headers,
                            error=response.text[:300] if refused else None,
                            error_body_ok=error_body_ok(response) if refused else True))
        return response

