"""Refusing webhook targets inside our own network (SSRF): checked at registration and again at send time,
after DNS resolution, on every address the name resolves to."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services reachable by name from inside a VM.
_METADATA_NAMES = {
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
}
_METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_RESOLVE_TIMEOUT_SECONDS = 5.0


class BlockedAddress(Exception):
    """The target is not a public address; ``reason`` names the class (loopback, private, …)."""

    def __init__(self, reason: str, address: str) -> None:
        super().__init__(f"{address} is a {reason.replace('_', '-')} address")
        self.reason = reason
        self.address = address


class UnresolvableHost(Exception):
    pass


def classify(ip: IPAddress) -> str | None:
    """The reason ``ip`` is refused, or None for a public address."""
    if ip in _METADATA_ADDRESSES:
        return "metadata"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return classify(embedded)
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link_local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("cgnat", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved or not ip.is_global),
    )
    return next((reason for reason, hit in checks if hit), None)


def check_ip(ip: IPAddress) -> None:
    reason = classify(ip)
    if reason is not None:
        raise BlockedAddress(reason, str(ip))


def check_host_name(host: str) -> None:
    """Refuse names that always point inside (``localhost``, cloud metadata names) before any lookup."""
    name = host.rstrip(".").lower()
    if name in _METADATA_NAMES:
        raise BlockedAddress("metadata", host)
    if name == "localhost" or name.endswith(".localhost"):
        raise BlockedAddress("loopback", host)


def literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    ip = literal_ip(host)
    if ip is not None:
        return [ip]
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=_RESOLVE_TIMEOUT_SECONDS
        )
    except (OSError, TimeoutError) as exc:
        raise UnresolvableHost(f"cannot resolve {host}") from exc
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise UnresolvableHost(f"cannot resolve {host}")
    return found


@dataclass(frozen=True)
class Target:
    """Where to connect: the pinned address, so the connection goes exactly where we checked."""

    host: str
    port: int
    address: IPAddress


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


async def safe_target(url: str) -> Target:
    """Resolve ``url``'s host and refuse it unless every address is public; the first address is pinned."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or default_port(parts.scheme)
    check_host_name(host)
    addresses = await resolve(host, port)
    for address in addresses:
        check_ip(address)
    return Target(host=host, port=port, address=addresses[0])
