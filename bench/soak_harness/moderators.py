"""Scripted moderators: they sign in and decide cases through the console's own endpoints,
CSRF tokens and all, as a person at the keyboard would (``n``, then a verdict, ``Enter``).
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass

import requests

from bench.soak_harness.client import REQUEST_TIMEOUT_S, Answer, AnswerLog
from bench.soak_harness.stack import MODERATOR_PASSWORD

_CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
_VALUE = re.compile(r'value="([^"]+)"')
_CASE_URL = re.compile(r"/admin/case/(\d+)$")

#: Verdicts and how often each is taken; bans only by seniors (the server checks).
VERDICTS = [("dismiss", 25), ("warn", 15), ("mute", 15), ("restrict_calls", 10),
            ("suspend_1", 10), ("suspend_7", 10), ("suspend_30", 5), ("ban", 10)]
REASONS = ["harassment", "spam_scam", "violent_threat", "other"]


def csrf_token(html: str) -> str | None:
    tag = _CSRF_INPUT.search(html)
    found = _VALUE.search(tag.group(0)) if tag else None
    return found.group(1) if found else None


@dataclass(frozen=True)
class Decision:
    t0: float
    t1: float
    moderator: str
    case_id: int
    verdict: str
    status: int | None


class ModeratorScript(threading.Thread):
    """One moderator deciding case after case until told to stop."""

    def __init__(self, base_url: str, email: str, role: str, log: AnswerLog,
                 stop: threading.Event, pace_s: float, seed: int) -> None:
        super().__init__(name=f"moderator-{email}", daemon=True)
        self.base_url = base_url
        self.email = email
        self.role = role
        self.log = log
        self.stopping = stop
        self.pace_s = pace_s
        self.rng = random.Random(seed)
        self.http = requests.Session()
        self.csrf: str | None = None
        self.decisions: list[Decision] = []

    def _call(self, kind: str, method: str, path: str,
              data: dict[str, str] | None = None, *, good: bool = True,
              ) -> requests.Response | None:
        t0 = time.time()
        try:
            r = self.http.request(method, self.base_url + path, data=data,
                                  timeout=REQUEST_TIMEOUT_S, allow_redirects=False)
        except requests.RequestException as exc:
            self.log.add(Answer(t0, time.time(), kind, good, None, error=str(exc)[:300]))
            return None
        self.log.add(Answer(t0, time.time(), kind, good, r.status_code,
                            retry_after="Retry-After" in r.headers,
                            error=r.text[:300] if r.status_code >= 500 else None))
        return r

    def login(self) -> bool:
        self.http.cookies.clear()
        page = self._call("console:login_page", "GET", "/login")
        token = csrf_token(page.text) if page is not None and page.status_code == 200 else None
        if token is None:
            return False
        r = self._call("console:login", "POST", "/login", {
            "email": self.email, "password": MODERATOR_PASSWORD, "csrf_token": token})
        return r is not None and r.status_code == 302

    def run(self) -> None:
        while not self.stopping.is_set():
            if self.csrf is None and not self._signed_in():
                self.stopping.wait(2.0)
                continue
            self.decide_next()
            self.stopping.wait(self.rng.uniform(0.5, 1.5) * self.pace_s)

    def _signed_in(self) -> bool:
        if not self.login():
            return False
        page = self._call("console:queue", "GET", "/admin/queue/")
        self.csrf = csrf_token(page.text) if page is not None and page.status_code == 200 \
            else None
        return self.csrf is not None

    def decide_next(self) -> None:
        r = self._call("console:next", "POST", "/admin/queue/next",
                       {"csrf_token": self.csrf or ""})
        if r is None or r.status_code not in (302, 303):
            self.csrf = None if r is not None and r.status_code in (400, 401) else self.csrf
            return
        match = _CASE_URL.search(r.headers.get("Location", ""))
        if match is None:
            return  # nothing left to claim in my queues
        case_id = int(match.group(1))
        page = self._call("console:case", "GET", f"/admin/case/{case_id}")
        if page is None or page.status_code != 200:
            return
        self.csrf = csrf_token(page.text) or self.csrf
        verdict = self._verdict()
        if verdict == "ban" and self.role != "senior":
            # A moderator reaching for a ban is refused on the server: 403, nothing done.
            self._call("console:forbidden", "POST", f"/admin/case/{case_id}/act",
                       self._form("ban"), good=False)
            verdict = "suspend_7"
        t0 = time.time()
        r = self._call("console:act", "POST", f"/admin/case/{case_id}/act", self._form(verdict))
        self.decisions.append(Decision(t0, time.time(), self.email, case_id, verdict,
                                       r.status_code if r is not None else None))

    def _verdict(self) -> str:
        names, weights = zip(*VERDICTS, strict=True)
        return str(self.rng.choices(names, weights)[0])

    def _form(self, verdict: str) -> dict[str, str]:
        return {"csrf_token": self.csrf or "", "decision": verdict,
                "policy_reason": self.rng.choice(REASONS),
                "note_to_user": "Decided during the soak.",
                "facts": f"Scripted decision: {verdict}."}
