"""Which URLs a job may reach: http(s) only, no private addresses unless the server allows.

Rules: runbook-format.md, "URL policy"; the addresses judged private are Python's
`ipaddress` classes (IANA special-purpose registries, RFC 6890), IPv4-mapped IPv6 judged
as the IPv4 address it maps.
"""

import asyncio
import fnmatch
import ipaddress
import socket
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _is_private(ip: Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
            or ip.is_multicast or ip.is_unspecified)


class UrlPolicy:
    """`allow_private` comes from the server (hosts, host:port, CIDR ranges);
    `allowed_hosts` from the runbook (host names, `*.example.com` globs)."""

    def __init__(self, allow_private: list[str], allowed_hosts: list[str] | None = None):
        self.networks = []
        self.hosts = set()
        for entry in allow_private:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower())
        self.allowed_hosts = [h.lower() for h in (allowed_hosts or [])]

    def blocked_reason(self, url: str) -> str | None:
        """Why `url` may not be loaded, or None when it may, judged from the URL alone
        (scheme, allowed_hosts, a literal address): a step's early check with a clear
        message. Names are resolved and judged by the network guard (`admit`), once per
        connection; a lookup here would block the browser loop and answer only for now."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return f"only http and https URLs are allowed, not {parts.scheme or 'no scheme'}:"
        host = (parts.hostname or "").lower()
        if not host:
            return "the URL has no host"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if reason := self.outside_allowed_hosts(url):
            return reason
        if host in self.hosts or f"{host}:{port}" in self.hosts:
            return None
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return None  # a name: the guard judges the addresses it resolves to
        return self._address_reason(host, address, named=False)

    def outside_allowed_hosts(self, url: str) -> str | None:
        """Why a navigation to `url` leaves the runbook's allowed_hosts, or None."""
        host = (urlsplit(url).hostname or "").lower()
        if self.allowed_hosts and not any(
                fnmatch.fnmatch(host, pattern) for pattern in self.allowed_hosts):
            return f"{host} is not in this runbook's allowed_hosts"
        return None

    def _address_reason(self, host: str, ip: Address, named: bool) -> str | None:
        if _is_private(ip) and not any(ip in net for net in self.networks):
            what = f"{host} resolves to {ip}, which is" if named else f"{host} is"
            return (f"{what} a private, loopback or link-local address; the server "
                    "allows such hosts only when listed in JOBDECK_ALLOW_PRIVATE_HOSTS")
        return None

    async def admit(self, host: str, port: int) -> tuple[str | None, str | None]:
        """(the address to connect to, None), or (None, why not) for a connection to
        host:port, as the network guard asks before every connection.

        Every address the name resolves to now is judged, and the one returned is what the
        connection must use: no second lookup, so DNS rebinding cannot pass. A name that
        does not resolve is blocked, never "unknown, so allowed".
        """
        host = host.lower().strip("[]")
        by_name = host in self.hosts or f"{host}:{port}" in self.hosts
        try:
            addresses: list[Address] = [ipaddress.ip_address(host)]
            named = False
        except ValueError:
            named = True
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                return None, f"{host} cannot be resolved ({exc.strerror or exc})"
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
            if not addresses:
                return None, f"{host} cannot be resolved"
        if not by_name:
            for ip in addresses:
                reason = self._address_reason(host, ip, named)
                if reason:
                    return None, reason
        return str(addresses[0]), None
