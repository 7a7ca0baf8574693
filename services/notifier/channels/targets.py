"""Where a webhook may be sent: public addresses, and the networks an operator allows.

A subscription names any URL, and the attempts log shows how the receiver answered, so an
unchecked webhook lets anyone who may subscribe probe the deployment's own network (its
database, its ingest door, a cloud metadata endpoint). The name is resolved here, every
address it resolves to is checked, and the connection then goes to the address checked (the
name could resolve elsewhere a moment later), with the name kept for the Host header and TLS.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

import httpx

from services.notifier.channels.base import PermanentFailure, TransientFailure

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Host and port to the addresses the name stands for."""


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _kind(address: IpAddress) -> str | None:
    """Why ``address`` is no place for a webhook, or ``None`` when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _kind(address.ipv4_mapped)
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if flag:
            return kind
    return None if address.is_global else "not globally routable"


class WebhookTargets:
    def __init__(self, allowed: Sequence[IpNetwork] = (), resolver: Resolver = resolve) -> None:
        """``allowed``: networks of in-house receivers, exempt from the check."""
        self._allowed = tuple(allowed)
        self._resolve = resolver

    async def pinned(self, url: httpx.URL) -> str:
        """The address to connect to for ``url``; refuses a target no webhook may reach."""
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = await self._resolve(host, port)
        except OSError as error:
            raise TransientFailure(f"cannot resolve {host}: {error}") from error
        if not addresses:
            raise TransientFailure(f"{host} resolves to no address")
        for text in addresses:
            address = ipaddress.ip_address(text.partition("%")[0])
            kind = _kind(address)
            if kind is not None and not any(address in net for net in self._allowed):
                raise PermanentFailure(
                    f"webhook target {host} is {address}, a {kind} address: refused "
                    "(allow in-house receivers with INITIATIVES_NOTIFIER_WEBHOOK_ALLOWED_NETWORKS)"
                )
        return addresses[0]

    async def refused_now(self, address: str) -> str | None:
        """Why a webhook to ``address`` is refused, when that is known without asking DNS
        (an address literal or ``localhost``); checked when a subscription is made, so the
        official hears it at once. Names are checked at every send."""
        url = httpx.URL(address)
        host = url.host
        literal = host == "localhost" or _is_address(host)
        if not literal:
            return None
        try:
            await self.pinned(url)
        except PermanentFailure as refused:
            return str(refused)
        return None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
