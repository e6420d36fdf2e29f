"""Sending enforcement deliveries to platforms: signed, retried, in sequence order.

Deliveries go out in batches. A batch is *claimed* (leased for a while) by one UPDATE
that also returns what is needed to send it, so two workers never send the same
delivery at once and a delivery waits while an earlier one to the same platform about
the same person is pending. The HTTP calls then run in parallel over keep-alive
connections with no database session held, and the results are written with one
UPDATE per outcome.

A platform that takes several deliveries a request (``Platform.webhook_batch``) is sent
a claim's deliveries to it together, in one signed ``event: actions`` body; its 2xx
delivers them all, anything else retries them all. One the platform answered with a
refusal (a 4xx or 5xx) goes alone on its next try, so a delivery a platform cannot take
never holds back the others; one that got no answer at all goes with the others again.

Each platform has its own lane of threads (``actions.lanes``), so a platform that
answers slowly holds only its own requests. A batch waits for its answers, but not for
a slow lane's (one with a request open longer than the policy's patience): those are
handed off, still leased, and recorded when they come (``record_finished``), while the
worker goes on to the next batch. A lane with no thread free is left out of claims.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, cast

import urllib3
import urllib3.connection
import urllib3.util.connection
from sqlalchemy import (
    BigInteger,
    Select,
    Table,
    Update,
    any_,
    bindparam,
    exists,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from actions import signing
from actions.lanes import Lanes
from workbench.enums import DeliveryState
from workbench.metrics.definitions import DELIVERY_FAILURES, DELIVERY_LAG
from workbench.models import EnforcementDelivery, Platform, utcnow
from workbench.models.audit import record
from workbench.rules.webhooks import (
    WebhookPolicy,
    WebhookUrlError,
    check_address,
    check_webhook_url,
)
from workbench.upserts import one_of

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
#: How much of a platform's error response is read (to reuse the connection); none of it
#: is kept: its text is untrusted and may hold an internal service's secrets.
MAX_ERROR_BODY = 200

PENDING = DeliveryState.PENDING.value
#: Claims tried in a row when other workers take every candidate first.
CLAIM_TRIES = 3


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard to try. Defaults: 5 s per attempt, backoff to 10 min, give up after 24 h."""

    timeout_s: float = 5.0
    base_backoff_s: float = 2.0
    max_backoff_s: float = 600.0
    retry_window: timedelta = timedelta(hours=24)
    #: How long a claimed delivery is reserved beyond the time its batch may take to send.
    lease: timedelta = timedelta(seconds=30)
    #: Requests in flight at once to each platform, per worker process.
    parallel: int = 16
    #: Deliveries claimed, sent and recorded together.
    batch: int = 200
    #: Where webhooks may go (checked again at every connection).
    webhooks: WebhookPolicy = WebhookPolicy()
    #: How long a batch waits for a platform's answers before handing the rest to its
    #: lane and going on; a lane already slow is not waited for at all.
    patience_s: float = 0.5

    def lease_for(self, n: int) -> timedelta:
        """The lease for a batch of ``n``: long enough even if every request times out,
        all to one platform, behind a lane already full."""
        rounds = math.ceil(max(n, 1) / self.parallel) + 1
        return self.lease + timedelta(seconds=self.timeout_s * rounds)


@dataclass(frozen=True)
class Answer:
    """What one request got: a status, or the class of the failure to get one."""

    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Attempt(Answer):
    """One delivery's try: its request's answer (a request may carry several)."""

    delivery_id: int = field(kw_only=True)


@dataclass(frozen=True)
class Claimed:
    """A leased delivery, as the claim returned it."""

    id: int
    platform_id: int
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int
    created_at: datetime
    #: The status of its last try (None if it has none, or got no answer).
    last_status: int | None = None


#: The table claims read and write as Core statements: a claim runs once or twice per send
#: job, thousands of times in a burst, and building its statement from the ORM's aliased
#: attributes (and running it through the ORM) cost more of a worker's time than
#: sending the delivery did.
_DELIVERY = cast(Table, EnforcementDelivery.__table__)
#: The columns a claim returns, in ``Claimed``'s order.
CLAIMED_COLUMNS = (_DELIVERY.c.id, _DELIVERY.c.platform_id, _DELIVERY.c.payload,
                   _DELIVERY.c.idempotency_key, _DELIVERY.c.attempts, _DELIVERY.c.created_at,
                   _DELIVERY.c.last_status_code)


_PLATFORM = cast(Table, Platform.__table__)


@functools.cache
def _candidates(by_ids: bool, skipping: bool, postgresql: bool) -> Select[tuple[int]]:
    """The deliveries a claim may lease (built once for each shape; values are bound per
    claim: ``now``, ``limit``, and ``ids`` or ``skip`` when the shape has them).

    On PostgreSQL, without ids, each platform's due deliveries are read apart, oldest
    first, through the due index's (state, platform, due time) order, and the oldest of
    them all kept (the rest of what each platform's read locked is let go at the claim's
    commit, a moment later). Read as one list with a slow platform's left out, every
    claim walked past all of that platform's due deliveries first (they are the oldest:
    its lane is full, so none is taken), and a claim cost 10 ms or more with a few
    thousand of them waiting.
    """
    d = _DELIVERY
    earlier = d.alias("earlier")
    # The plan must not depend on fresh statistics: right after a burst of actions the
    # planner still believes few deliveries are pending. Ordering by the due index's
    # own order lets it stop after ``limit`` rows instead of sorting all that are due,
    # and "not finished" (rather than "pending") sends the look for an earlier delivery
    # through the (platform, person, sequence) index instead of every pending row.
    unfinished = earlier.c.state.not_in([DeliveryState.DELIVERED.value,
                                         DeliveryState.DEAD.value])
    stmt = (select(d.c.id)
            .where(d.c.state == PENDING, d.c.next_attempt_at <= bindparam("now"),
                   ~exists().where(earlier.c.platform_id == d.c.platform_id,
                                   earlier.c.person_id == d.c.person_id,
                                   earlier.c.sequence < d.c.sequence, unfinished))
            .order_by(d.c.next_attempt_at).limit(bindparam("limit"))
            .with_for_update(skip_locked=True))
    if by_ids:
        stmt = stmt.where(d.c.id.in_(bindparam("ids", expanding=True)))
    # A claim of given ids looks them up by id: read through the due index, a platform's
    # due deliveries would be walked until those ids turned up.
    if not postgresql or by_ids:
        if skipping:
            stmt = stmt.where(d.c.platform_id.not_in(bindparam("skip", expanding=True)))
        return stmt
    p = _PLATFORM
    due = (stmt.add_columns(d.c.next_attempt_at).where(d.c.platform_id == p.c.id)
           .with_for_update(of=d, skip_locked=True).lateral("due"))
    outer = select(due.c.id).select_from(p).join(due, true())
    if skipping:
        outer = outer.where(p.c.id.not_in(bindparam("skip", expanding=True)))
    return outer.order_by(due.c.next_attempt_at, due.c.id).limit(bindparam("limit"))


@functools.cache
def _lease(postgresql: bool) -> Update:
    """Leases the chosen deliveries that are still pending and due, and returns them.

    On PostgreSQL the ids are one array parameter (``= ANY``), not one each.
    """
    chosen = (_DELIVERY.c.id == any_(bindparam("chosen", type_=ARRAY(BigInteger)))
              if postgresql else _DELIVERY.c.id.in_(bindparam("chosen", expanding=True)))
    return (update(_DELIVERY)
            .where(chosen, _DELIVERY.c.state == PENDING,
                   _DELIVERY.c.next_attempt_at <= bindparam("now"))
            .values(next_attempt_at=bindparam("lease_until"))
            .returning(*CLAIMED_COLUMNS))


#: Run first in a claim's transaction on PostgreSQL. Right after a burst of actions the
#: planner's statistics say few deliveries are due, and it chooses a bitmap scan of the
#: due index: every due row (and every dead index entry of the ones already sent) read
#: and sorted for each batch of 200, 11 ms a claim with 4,500 due, where the index
#: scan in its order stops after 200 and takes 0.4 ms (and marks the dead entries it
#: passes, which a bitmap scan does not, so the next claim skips them).
_INDEX_ORDER = text("SET LOCAL enable_bitmapscan = off")


def backoff(attempts: int, policy: DeliveryPolicy, rng: random.Random | None = None) -> float:
    """Seconds before the next try: exponential, capped, with jitter (half to full)."""
    base = min(policy.max_backoff_s, policy.base_backoff_s * 2 ** max(0, attempts - 1))
    return float(base * (0.5 + (rng or random).random() / 2))


def claim(session: Session, policy: DeliveryPolicy, delivery_ids: Iterable[int] | None = None,
          *, limit: int | None = None, now: datetime | None = None,
          skip_platforms: Iterable[int] = ()) -> list[Claimed]:
    """Lease due deliveries that are next in line for their person and platform.

    A delivery waits while an earlier one (lower sequence) to the same platform about the
    same person is still pending, so platforms see each person's actions in order. Only
    ``delivery_ids`` are considered when given, else any due delivery, oldest first. Rows
    another worker is claiming are skipped (``SKIP LOCKED``), not waited for, and so are
    deliveries to ``skip_platforms`` (whose lanes here have no thread free).
    """
    now = now or utcnow()
    ids = None if delivery_ids is None else list(delivery_ids)
    if ids is not None and not ids:
        return []
    skip = sorted(set(skip_platforms))
    postgresql = session.get_bind().dialect.name == "postgresql"
    candidates = _candidates(ids is not None, bool(skip), postgresql)
    params: dict[str, Any] = {"now": now, "limit": limit or policy.batch}
    if ids is not None:
        params["ids"] = ids
    if skip:
        params["skip"] = skip
    # Two statements, not one UPDATE ... WHERE id IN (that subquery): PostgreSQL may run
    # such a subquery more than once, and each run skips the rows the last one took, so
    # the LIMIT would not hold. The rows stay locked (PostgreSQL) until the commit.
    for _ in range(CLAIM_TRIES):
        if postgresql:
            session.execute(_INDEX_ORDER)
        chosen = list(session.execute(candidates, params).scalars())
        if not chosen:
            session.rollback()
            return []
        rows = session.execute(_lease(postgresql), {"chosen": chosen, "now": now,
                                        "lease_until": now + policy.lease_for(len(chosen))}
                               ).all()
        session.commit()
        if rows:
            return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)
        # Another worker leased them between the two statements (SQLite has no row
        # locks to stop it): look again rather than stop while work is due.
    return []


@dataclass(frozen=True)
class Outgoing:
    #: The deliveries the request carries (one, or several to a platform that takes them
    #: together).
    delivery_ids: tuple[int, ...]
    url: str | None
    body: bytes
    headers: dict[str, str]
    #: Whose lane it goes in.
    platform_id: int = 0


def _dumps(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _request(platform: Platform, secret: str, claimed: list[Claimed],
             together: bool) -> Outgoing:
    """One signed request: a delivery's own body, or several in an ``actions`` body.

    A batch's ``Idempotency-Key`` is derived from its deliveries' keys; each delivery in
    it carries its own, which is what a platform applies once.
    """
    if together:
        body = _dumps({"event": "actions", "deliveries": [
            {**c.payload, "idempotency_key": c.idempotency_key} for c in claimed]})
        key = "batch-" + hashlib.sha256(
            "\n".join(c.idempotency_key for c in claimed).encode()).hexdigest()[:32]
    else:
        (only,) = claimed
        body, key = _dumps(only.payload), only.idempotency_key
    headers = {**signing.signed_headers(platform.slug, secret, body),
               "Content-Type": "application/json", IDEMPOTENCY_HEADER: key}
    return Outgoing(tuple(c.id for c in claimed), platform.webhook_url, body, headers,
                    platform.id)


def prepare(session: Session, claimed: list[Claimed],
            secret_for: Callable[[Platform], str]) -> list[Outgoing]:
    """The signed requests for claimed deliveries (each platform's secret read once).

    To a platform that takes several a request, they go together, up to its
    ``webhook_batch``, but for those it refused last time, which go alone.
    """
    platform_ids = {c.platform_id for c in claimed}
    platforms = {p.id: (p, secret_for(p)) for p in session.scalars(
        select(Platform).where(Platform.id.in_(platform_ids)))} if platform_ids else {}
    out = []
    together: dict[int, list[Claimed]] = {}
    for c in claimed:
        platform, secret = platforms[c.platform_id]
        if platform.webhook_batch <= 1:
            out.append(_request(platform, secret, [c], together=False))
        elif c.last_status is not None:
            out.append(_request(platform, secret, [c], together=True))
        else:
            together.setdefault(c.platform_id, []).append(c)
    for platform_id, group in together.items():
        platform, secret = platforms[platform_id]
        size = platform.webhook_batch
        out += [_request(platform, secret, group[start:start + size], together=True)
                for start in range(0, len(group), size)]
    return out


class Sender(Protocol):
    def submit(self, outgoing: list[Outgoing]) -> list[Future[Answer]]:
        """Start posting each request in its platform's lane; one future per request."""
        ...

    def full_platforms(self) -> set[int]:
        """Platforms whose lanes have no thread free."""
        ...

    def slow_platforms(self, patience_s: float) -> set[int]:
        """Platforms whose lanes are slow (``actions.lanes.Lane.slow``)."""
        ...

    def hand_off(self, claimed: list[Claimed], future: Future[Answer]) -> None:
        """Keep a request nobody waits for (carrying ``claimed``); its outcome is
        collected by ``take_finished``."""
        ...

    def take_finished(self, wait_s: float = 0.0) -> list[tuple[Claimed, Attempt]]:
        """The handed-off requests that have finished (waiting up to ``wait_s`` for one)."""
        ...


class ErrorClass(StrEnum):
    """What went wrong with a delivery, as shown to people: never the platform's words."""

    NO_URL = "no_url"        # the platform has no webhook URL
    BLOCKED = "blocked"      # the URL, or the address its name resolved to, is not allowed
    DNS = "dns"              # the name did not resolve
    REFUSED = "refused"      # no connection (refused, unreachable, reset while opening)
    TIMEOUT = "timeout"      # no connection or no answer in time
    TLS = "tls"              # the TLS handshake or certificate failed
    CONNECTION = "connection"  # the connection broke during the exchange
    REDIRECT = "3xx"
    CLIENT = "4xx"
    SERVER = "5xx"
    OTHER_STATUS = "status"  # a status outside 200-599


def status_class(status: int) -> ErrorClass | None:
    """None for a 2xx, else the class of the status."""
    if 200 <= status < 300:
        return None
    return {3: ErrorClass.REDIRECT, 4: ErrorClass.CLIENT,
            5: ErrorClass.SERVER}.get(status // 100, ErrorClass.OTHER_STATUS)


def exception_class(exc: BaseException) -> ErrorClass:
    """The class of a failure to get an answer at all."""
    if isinstance(exc, BlockedAddressError | WebhookUrlError):
        return ErrorClass.BLOCKED
    if isinstance(exc, urllib3.exceptions.NameResolutionError):
        return ErrorClass.DNS
    if isinstance(exc, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
        return ErrorClass.REFUSED
    if isinstance(exc, urllib3.exceptions.TimeoutError | TimeoutError):
        return ErrorClass.TIMEOUT
    if isinstance(exc, urllib3.exceptions.SSLError | ssl.SSLError):
        return ErrorClass.TLS
    return ErrorClass.CONNECTION


class BlockedAddressError(urllib3.exceptions.NewConnectionError):
    """The webhook's host resolved only to addresses the policy does not allow."""


def _guarded_connect(conn: urllib3.connection.HTTPConnection,
                     policy: WebhookPolicy) -> socket.socket:
    """Resolve the host once, check every address, and connect only to allowed ones.

    Connecting to the address that was checked (not resolving the name again) is what
    stops a name that answers differently the second time.
    """
    host = conn.host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, conn.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise urllib3.exceptions.NameResolutionError(conn.host, conn, exc) from exc
    allowed, refused = [], []
    for _family, _type, _proto, _name, sockaddr in infos:
        try:
            check_address(str(sockaddr[0]), policy)
            allowed.append(str(sockaddr[0]))
        except WebhookUrlError as exc:
            refused.append(str(exc))
    if not allowed:
        raise BlockedAddressError(conn, f"{conn.host}: {refused[0] if refused else 'no address'}")
    failure: OSError | None = None
    for address in dict.fromkeys(allowed):
        try:
            return urllib3.util.connection.create_connection(
                (address, conn.port), conn.timeout, source_address=conn.source_address,
                socket_options=conn.socket_options)
        except TimeoutError as exc:
            raise urllib3.exceptions.ConnectTimeoutError(
                conn, f"connection to {conn.host} timed out") from exc
        except OSError as exc:
            failure = exc
    raise urllib3.exceptions.NewConnectionError(
        conn, f"failed to establish a new connection: {failure}")


class GuardedHTTPConnection(urllib3.connection.HTTPConnection):
    """An HTTP connection that checks the address it connects to (``WebhookPolicy``)."""

    webhook_policy = WebhookPolicy()

    def _new_conn(self) -> socket.socket:
        return _guarded_connect(self, self.webhook_policy)


class GuardedHTTPSConnection(urllib3.connection.HTTPSConnection):
    """The same for HTTPS; the certificate is still checked against the host name."""

    webhook_policy = WebhookPolicy()

    def _new_conn(self) -> socket.socket:
        return _guarded_connect(self, self.webhook_policy)


def _guarded_pools(policy: WebhookPolicy) -> dict[str, type[urllib3.HTTPConnectionPool]]:
    """Connection pool classes, by scheme, whose connections apply ``policy``."""
    http = type("PolicyHTTPConnection", (GuardedHTTPConnection,), {"webhook_policy": policy})
    https = type("PolicyHTTPSConnection", (GuardedHTTPSConnection,),
                 {"webhook_policy": policy})
    return {"http": type("GuardedHTTPPool", (urllib3.HTTPConnectionPool,),
                         {"ConnectionCls": http}),
            "https": type("GuardedHTTPSPool", (urllib3.HTTPSConnectionPool,),
                          {"ConnectionCls": https})}


class HttpSender:
    """Posts over pooled keep-alive connections, ``parallel`` at a time to each platform.

    One per process: opening a connection per request, or a thread pool per batch,
    costs more than the request itself on a fast platform. Every URL is checked against
    ``webhooks`` before sending, and every address when connecting. Each platform has its
    own lane of ``parallel`` threads, so a slow one cannot take the others' threads.
    """

    def __init__(self, timeout_s: float, parallel: int = 16,
                 webhooks: WebhookPolicy = WebhookPolicy()) -> None:  # noqa: B008 (frozen)
        # No automatic retries or redirects: a failure is retried later, with backoff,
        # under the same idempotency key; a redirect is a platform's misconfiguration.
        self.webhooks = webhooks
        self.pool = urllib3.PoolManager(num_pools=64, maxsize=parallel, retries=False,
                                        timeout=urllib3.Timeout(total=timeout_s))
        self.pool.pool_classes_by_scheme = _guarded_pools(webhooks)
        self.lanes: Lanes[Answer] = Lanes(parallel, "delivery")
        self.handed: dict[int, tuple[list[Claimed], Future[Answer]]] = {}
        self.finished = threading.Condition()

    def post(self, out: Outgoing) -> Answer:
        """One request; a failure is recorded as its status and class, never its body."""
        if not out.url:
            return Answer(None, ErrorClass.NO_URL.value)
        try:
            check_webhook_url(out.url, self.webhooks)
            r = self.pool.request("POST", out.url, body=out.body, headers=out.headers,
                                  preload_content=False)
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            log.info("deliveries %s failed: %s", out.delivery_ids, type(exc).__name__)
            return Answer(None, exception_class(exc).value)
        try:
            r.read(MAX_ERROR_BODY)
        except (urllib3.exceptions.HTTPError, OSError):
            pass
        # Reuse the connection only when the body was read to its end; a longer body is
        # not worth reading, so that connection is dropped.
        if r.length_remaining == 0:
            r.release_conn()
        else:
            r.close()
        error = status_class(r.status)
        return Answer(r.status, error.value if error else None)

    def submit(self, outgoing: list[Outgoing]) -> list[Future[Answer]]:
        return [self.lanes.submit(o.platform_id, functools.partial(self.post, o))
                for o in outgoing]

    def send(self, outgoing: list[Outgoing]) -> list[Answer]:
        """Post each request and wait for every answer, in the same order."""
        return [f.result() for f in self.submit(outgoing)]

    def full_platforms(self) -> set[int]:
        return self.lanes.full()

    def slow_platforms(self, patience_s: float) -> set[int]:
        return self.lanes.slow(patience_s)

    def hand_off(self, claimed: list[Claimed], future: Future[Answer]) -> None:
        with self.finished:
            self.handed[claimed[0].id] = (claimed, future)

        def wake(_: Future[Answer]) -> None:
            with self.finished:
                self.finished.notify_all()

        future.add_done_callback(wake)

    def take_finished(self, wait_s: float = 0.0) -> list[tuple[Claimed, Attempt]]:
        with self.finished:
            def ready() -> list[int]:
                return [i for i, (_, f) in self.handed.items() if f.done()]

            done = ready()
            # With nothing handed off it waits all the same (a hand-off meanwhile wakes
            # it when its answer comes): a caller looping on it must not spin.
            if not done and wait_s > 0:
                self.finished.wait_for(ready, timeout=wait_s)
                done = ready()
            taken = [self.handed.pop(i) for i in done]
        return [(c, attempt) for group, f in taken for c, attempt in _outcomes(group, f)]

    def handed_off(self) -> int:
        """Requests handed off and not yet taken."""
        with self.finished:
            return len(self.handed)

    def close(self) -> None:
        self.lanes.shutdown()
        self.pool.clear()


def _outcomes(claimed: list[Claimed], future: Future[Answer]) -> list[tuple[Claimed, Attempt]]:
    """A finished request's attempt for each delivery it carried (a request cancelled at
    shutdown counts as not connected)."""
    if future.cancelled() or future.exception() is not None:
        answer = Answer(None, ErrorClass.CONNECTION.value)
    else:
        answer = future.result()
    return [(c, Attempt(answer.status, answer.error, delivery_id=c.id)) for c in claimed]


def record_attempts(session: Session, claimed: list[Claimed], attempts: list[Attempt],
                    policy: DeliveryPolicy, now: datetime | None = None) -> dict[str, int]:
    """Write the results: delivered, retried later with backoff, or dead after the window.

    Only deliveries still pending change: one delivered meanwhile (by a worker that
    took over an expired lease) stays delivered.
    """
    now = now or utcnow()
    counts = {"delivered": 0, "retry": 0, "dead": 0}
    by_id = {c.id: c for c in claimed}
    delivered: dict[int, list[int]] = {}
    retries: list[dict[str, Any]] = []
    failed: list[tuple[Claimed, Attempt, str]] = []
    for attempt in attempts:
        c = by_id[attempt.delivery_id]
        if attempt.ok:
            delivered.setdefault(attempt.status or 0, []).append(c.id)
        elif now - c.created_at >= policy.retry_window:
            if _dead_letter(session, c, attempt):
                counts["dead"] += 1
                failed.append((c, attempt, "dead"))
        else:
            retries.append({"d_id": c.id, "d_status": attempt.status, "d_error": attempt.error,
                            "d_next": now + timedelta(seconds=backoff(c.attempts + 1, policy))})
            failed.append((c, attempt, "retry"))
    d = EnforcementDelivery
    done: list[Claimed] = []
    for status, ids in delivered.items():
        sent = session.scalars(
            update(d).where(one_of(session, d.id, ids), d.state == PENDING)
            .values(state=DeliveryState.DELIVERED.value, delivered_at=now,
                    attempts=d.attempts + 1, last_status_code=status, last_error=None)
            .returning(d.id).execution_options(synchronize_session=False)).all()
        done += [by_id[i] for i in sent]
    counts["delivered"] = len(done)
    if retries:
        # One statement, many parameter sets; on the session's connection, so the ORM
        # does not turn it into its by-primary-key bulk update (which takes no WHERE).
        session.connection().execute(
            update(d).where(d.id == bindparam("d_id"), d.state == PENDING)
            .values(attempts=d.attempts + 1, last_status_code=bindparam("d_status"),
                    last_error=bindparam("d_error"), next_attempt_at=bindparam("d_next")),
            retries)
        counts["retry"] = len(retries)
    slugs = _slugs(session, {c.platform_id for c in claimed})
    session.commit()
    _count(slugs, done, failed, now)
    return counts


def _slugs(session: Session, platform_ids: set[int]) -> dict[int, str]:
    if not platform_ids:
        return {}
    rows = session.execute(select(Platform.id, Platform.slug)
                           .where(Platform.id.in_(platform_ids))).all()
    return {int(platform_id): str(slug) for platform_id, slug in rows}


def _count(slugs: dict[int, str], done: list[Claimed],
           failed: list[tuple[Claimed, Attempt, str]], now: datetime) -> None:
    """The committed outcomes, in the delivery metrics (lag, failures), by platform."""
    for c in done:
        DELIVERY_LAG.labels(slugs.get(c.platform_id, str(c.platform_id))).observe(
            max(0.0, (now - c.created_at).total_seconds()))
    for c, attempt, outcome in failed:
        DELIVERY_FAILURES.labels(slugs.get(c.platform_id, str(c.platform_id)),
                                 attempt.error or "unknown", outcome).inc()


def _dead_letter(session: Session, claimed: Claimed, attempt: Attempt) -> int:
    """Give up on a delivery past its retry window; a person may retry it from the console."""
    d = EnforcementDelivery
    changed = len(session.execute(
        update(d).where(d.id == claimed.id, d.state == PENDING)
        .values(state=DeliveryState.DEAD.value, attempts=d.attempts + 1,
                last_status_code=attempt.status, last_error=attempt.error)
        .returning(d.id).execution_options(synchronize_session=False)).all())
    if changed:
        record(session, "delivery.dead_lettered", "enforcement_delivery", claimed.id,
               data={"platform_id": claimed.platform_id, "attempts": claimed.attempts + 1,
                     "error": attempt.error})
    return changed


def record_finished(session: Session, sender: Sender, policy: DeliveryPolicy,
                    wait_s: float = 0.0) -> dict[str, int]:
    """Record the outcomes of handed-off requests that have come back since last time."""
    finished = sender.take_finished(wait_s)
    if not finished:
        return {"delivered": 0, "retry": 0, "dead": 0}
    return record_attempts(session, [c for c, _ in finished], [a for _, a in finished],
                           policy)


def _send_batch(session: Session, sender: Sender, claimed: list[Claimed],
                outgoing: list[Outgoing], policy: DeliveryPolicy) -> dict[str, int]:
    """Send a batch, wait for its answers (not a slow lane's), record those that came."""
    slow = sender.slow_platforms(policy.patience_s)
    futures = sender.submit(outgoing)
    wait_for([f for o, f in zip(outgoing, futures, strict=True) if o.platform_id not in slow],
             timeout=policy.patience_s)
    by_id = {c.id: c for c in claimed}
    answered: list[Claimed] = []
    attempts: list[Attempt] = []
    for o, f in zip(outgoing, futures, strict=True):
        carried = [by_id[i] for i in o.delivery_ids]
        if f.done():
            for c, attempt in _outcomes(carried, f):
                answered.append(c)
                attempts.append(attempt)
        else:
            sender.hand_off(carried, f)  # still leased; recorded when it comes back
    if not answered:
        return {"delivered": 0, "retry": 0, "dead": 0}
    return record_attempts(session, answered, attempts, policy)


def deliver(session: Session, sender: Sender, secret_for: Callable[[Platform], str],
            policy: DeliveryPolicy, delivery_ids: Iterable[int] | None = None,
            *, budget_s: float | None = None) -> dict[str, int]:
    """Claim, send and record batch after batch, until nothing more can be claimed.

    With ``delivery_ids``, only those (repeating while earlier ones free later ones);
    without, whatever is due. A budget stops it starting a new batch after that long.
    Deliveries to a platform whose lane has no thread free are left for later; answers
    from a slow platform are recorded when they come, by this or a later call (or the
    worker's recorder), not waited for.
    """
    totals = {"delivered": 0, "retry": 0, "dead": 0}
    ids = None if delivery_ids is None else list(delivery_ids)
    deadline = None if budget_s is None else time.monotonic() + budget_s
    while True:
        for key, n in record_finished(session, sender, policy).items():
            totals[key] += n
        if deadline is not None and time.monotonic() >= deadline:
            break
        claimed = claim(session, policy, ids, skip_platforms=sender.full_platforms())
        if not claimed:
            break
        outgoing = prepare(session, claimed, secret_for)
        session.rollback()  # no transaction held open while waiting on platforms
        for key, n in _send_batch(session, sender, claimed, outgoing, policy).items():
            totals[key] += n
        if ids is not None:
            sent = {c.id for c in claimed}
            ids = [i for i in ids if i not in sent]
    return totals


def retry_dead(session: Session, delivery_id: int, moderator_id: int | None) -> None:
    """Try a dead-lettered delivery once more now (the console's retry button).

    Its retry window has passed, so if this attempt fails it is dead-lettered again.
    """
    d = session.get_one(EnforcementDelivery, delivery_id)
    if d.state != DeliveryState.DEAD.value:
        raise ValueError(f"delivery {delivery_id} is {d.state}, not dead")
    _due_now(session, d, moderator_id)


def send_now(session: Session, delivery_id: int, moderator_id: int | None) -> None:
    """Send a delivery now: a dead-lettered one once more, or one waiting out its backoff
    (after the platform is fixed, nobody should wait for the next try)."""
    d = session.get_one(EnforcementDelivery, delivery_id)
    if d.state not in (DeliveryState.DEAD.value, PENDING):
        raise ValueError(f"delivery {delivery_id} is {d.state}: nothing to send again")
    _due_now(session, d, moderator_id)


def _due_now(session: Session, d: EnforcementDelivery, moderator_id: int | None) -> None:
    d.state = PENDING
    d.next_attempt_at = utcnow()
    record(session, "delivery.retried", "enforcement_delivery", d.id,
           actor_type="moderator" if moderator_id else "system",
           actor_id=str(moderator_id) if moderator_id else None)


def retry_pending_now(session: Session, platform_id: int, moderator_id: int) -> list[int]:
    """Send a platform's waiting deliveries now instead of at their next back-off time.

    Returns the ids to enqueue once the caller has committed.
    """
    d = EnforcementDelivery
    ids = [int(i) for i in session.scalars(select(d.id).where(
        d.platform_id == platform_id, d.state == PENDING).order_by(d.id))]
    if ids:
        session.execute(update(d).where(d.id.in_(ids), d.state == PENDING)
                        .values(next_attempt_at=utcnow())
                        .execution_options(synchronize_session=False))
    record(session, "delivery.retried_now", "platform", platform_id, actor_type="moderator",
           actor_id=str(moderator_id), data={"deliveries": len(ids)})
    return ids
