"""``GET /metrics``: the Prometheus text format, for operators only.

Served to clients in ``WORKBENCH_METRICS_NETWORKS`` (this machine by default), or to any
client with ``Authorization: Bearer <WORKBENCH_METRICS_TOKEN>``. Anyone else gets a 403
whose JSON error says which of the two they lack. The figures name platforms and queues
and show the volume of abuse reported: not for the public.

The client's address is the one the app sees: with ``WORKBENCH_PROXY_HOPS`` set, the
address the load balancer forwarded, so a balancer on this machine does not make every
client local.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from flask import Blueprint, Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST

from workbench.api.errors import ApiError
from workbench.current import redis_connection, settings
from workbench.extensions import db
from workbench.metrics.scrape import exposition
from workbench.settings import Settings

bp = Blueprint("metrics", __name__)


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network,
                                               ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def in_networks(address: str | None, cidrs: list[str]) -> bool:
    """Whether ``address`` is in one of ``cidrs`` (an IPv4-mapped IPv6 address counts as
    its IPv4 address)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in _networks(tuple(cidrs)))


def check_access(settings: Settings) -> None:
    """Let an operator through, or raise a 403 that says why not."""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if header:
        if scheme.lower() != "bearer" or not given.strip():
            raise ApiError(403, "metrics_forbidden",
                           "send the metrics token as 'Authorization: Bearer <token>'")
        if not settings.metrics_token:
            raise ApiError(403, "metrics_forbidden",
                           "no metrics token is configured here (WORKBENCH_METRICS_TOKEN)")
        if hmac.compare_digest(given.strip().encode(), settings.metrics_token.encode()):
            return
        raise ApiError(403, "metrics_forbidden", "the bearer token is not the metrics token")
    if in_networks(request.remote_addr, settings.metrics_networks):
        return
    raise ApiError(403, "metrics_forbidden",
                   f"{request.remote_addr or 'this client'} is not in an operator network "
                   "(WORKBENCH_METRICS_NETWORKS); send 'Authorization: Bearer <token>' "
                   "with the metrics token instead")


@bp.get("/metrics")
def metrics() -> Response:
    s = settings()
    check_access(s)
    body = exposition(s.metrics_dir, redis_connection(), db.session)
    return Response(body, 200, {"Content-Type": CONTENT_TYPE_LATEST,
                                "Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
