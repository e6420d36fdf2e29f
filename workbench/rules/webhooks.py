"""Where webhooks may go: the rule for a platform's webhook URL and for the address it reaches.

A webhook URL is typed by an administrator and the workbench then POSTs signed bodies
to it from inside the network, so a careless or hostile URL turns the delivery worker
into a way in: to a cloud metadata service (169.254.169.254), to a service on
loopback, or to the private network. The URL is checked when it is registered, and the
address a name resolves to is checked again each time a connection is made (a name
may resolve to a public address today and a private one tomorrow).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Longest URL kept (the column holds 2,000 characters).
MAX_URL_LENGTH = 2000


class WebhookUrlError(ValueError):
    """A webhook URL, or the address it leads to, is not allowed."""


@dataclass(frozen=True)
class WebhookPolicy:
    """What a webhook may reach. The defaults (HTTPS to public addresses) are production's.

    ``allow_http`` lets plain HTTP through; ``allow_private`` lets loopback, private,
    link-local and other non-public addresses through (the demo and tests, whose
    platforms listen on 127.0.0.1).
    """

    allow_http: bool = False
    allow_private: bool = False

    def schemes(self) -> tuple[str, ...]:
        return ("https", "http") if self.allow_http else ("https",)


#: NAT64 (RFC 6052): the last 32 bits are an IPv4 address the gateway reaches.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return address.teredo[1] if address.teredo is not None else None


def public_address(address: IPAddress) -> bool:
    """True for an address on the public internet (not private, loopback, link-local...).

    An IPv6 address that carries an IPv4 one is judged by that one as well, so
    ``[::ffff:127.0.0.1]`` or ``[64:ff9b::a9fe:a9fe]`` cannot reach what ``127.0.0.1``
    or ``169.254.169.254`` may not.
    """
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and not public_address(inner):
            return False
    return address.is_global and not address.is_multicast


def check_address(address: str | IPAddress, policy: WebhookPolicy) -> IPAddress:
    """The address, if the policy lets a webhook reach it; else ``WebhookUrlError``."""
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    if not policy.allow_private and not public_address(ip):
        raise WebhookUrlError(f"{ip} is not a public address (private, loopback, link-local "
                              "or reserved); set WORKBENCH_ALLOW_PRIVATE_WEBHOOKS=true to "
                              "allow it")
    return ip


def _literal_address(host: str) -> IPAddress | None:
    """The IP a host names literally, including the legacy IPv4 forms resolvers accept."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # "2130706433", "0x7f.1" and "127.1" are all 127.0.0.1 to getaddrinfo.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def check_webhook_url(url: str, policy: WebhookPolicy) -> str:
    """The URL, if it is an allowed webhook URL; else ``WebhookUrlError`` saying why."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in url):
        raise WebhookUrlError("holds spaces, control characters (such as a line break) or "
                              "non-ASCII characters; write a host name in its xn-- form")
    parts = urlsplit(url)
    if parts.scheme not in policy.schemes():
        allowed = " or ".join(f"{s}://" for s in policy.schemes())
        raise WebhookUrlError(f"must start with {allowed}")
    if "@" in parts.netloc:
        raise WebhookUrlError("must not hold a user name or password")
    if parts.fragment:
        raise WebhookUrlError("must not hold a #fragment")
    host = parts.hostname
    if not host:
        raise WebhookUrlError("has no host")
    try:
        parts.port  # noqa: B018 (parsing it raises on a bad port)
    except ValueError:
        raise WebhookUrlError("has a port that is not a number from 0 to 65535") from None
    address = _literal_address(host)
    if address is not None:
        check_address(address, policy)
    elif (host == "localhost" or host.endswith(".localhost")) and not policy.allow_private:
        raise WebhookUrlError(f"{host} is this machine; set WORKBENCH_ALLOW_PRIVATE_WEBHOOKS="
                              "true to allow it")
    return url
