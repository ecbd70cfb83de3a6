"""Where a webhook may be posted: `https://` (and `http://` in development), and never to
an address inside the service's own network — loopback, private, link-local, carrier
NAT, multicast, reserved, or a cloud metadata address — unless private targets are
allowed (tests, on-premise). Names are resolved and every address they resolve to is
checked, at creation and again at each delivery; the delivery then connects to the very
address checked, so a name that changes its answer in between (DNS rebinding) gains
nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

# host, port -> the addresses it resolves to
Resolver = Callable[[str, int], Awaitable[list[str]]]

_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
}
MAX_URL_LENGTH = 2000


class TargetRefused(Exception):
    """A URL the service will not post to; the message says why."""


@dataclass(frozen=True)
class TargetPolicy:
    allow_http: bool  # development
    allow_private: bool  # WEBHOOK_ALLOW_PRIVATE_TARGETS


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_target(url: str, policy: TargetPolicy) -> Target:
    """The URL's parts, or TargetRefused for a URL that can never be posted to."""
    text = url.strip()
    if len(text) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise TargetRefused("the URL does not parse: use https://host/path") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("the URL must be https://host/path")
    if scheme == "http" and not policy.allow_http:
        raise TargetRefused("the URL must use https:// (http:// is accepted in development only)")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not hold a user name or password")
    if parts.fragment:
        raise TargetRefused("the URL must not have a #fragment")
    return Target(text, scheme, parts.hostname, port or (443 if scheme == "https" else 80))


def refusal_of(address: str) -> str | None:
    """Why an address is refused as a target, or None when it is a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private or ip in ipaddress.ip_network("100.64.0.0/10"):
        return "a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "not a public address"
    return None


async def resolve_target(target: Target, policy: TargetPolicy, resolver: Resolver) -> str:
    """The address to connect to: the first the host resolves to, once every one of them
    is allowed. TargetRefused when one is not, or the name does not resolve."""
    try:
        addresses = [str(ipaddress.ip_address(target.host.strip("[]")))]
    except ValueError:
        try:
            addresses = await resolver(target.host, target.port)
        except OSError as error:
            raise TargetRefused(f"{target.host} does not resolve: {error}") from None
    if not addresses:
        raise TargetRefused(f"{target.host} does not resolve")
    if not policy.allow_private:
        for address in addresses:
            reason = refusal_of(address)
            if reason is not None:
                raise TargetRefused(
                    f"{target.host} resolves to {address}, {reason}: webhooks go to public "
                    "addresses only (WEBHOOK_ALLOW_PRIVATE_TARGETS allows private ones)"
                )
    return addresses[0]
