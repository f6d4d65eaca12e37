"""Which URLs a job may reach: http(s) only, no private addresses unless the server allows."""

import fnmatch
import ipaddress
import socket
from functools import lru_cache
from urllib.parse import urlsplit


def _is_private(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
            or ip.is_multicast or ip.is_unspecified)


@lru_cache(maxsize=1024)
def _resolve(host: str) -> tuple[str, ...]:
    try:
        # sockaddr[0] is the address string for AF_INET/AF_INET6, the only families returned
        return tuple(sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)}))
    except OSError:
        return ()


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

    def blocked_reason(self, url: str, navigation: bool = True) -> str | None:
        """Why `url` may not be loaded, or None when it may."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return f"only http and https URLs are allowed, not {parts.scheme or 'no scheme'}:"
        host = (parts.hostname or "").lower()
        if not host:
            return "the URL has no host"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if navigation and self.allowed_hosts and not any(
                fnmatch.fnmatch(host, pattern) for pattern in self.allowed_hosts):
            return f"{host} is not in this runbook's allowed_hosts"
        if host in self.hosts or f"{host}:{port}" in self.hosts:
            return None
        addresses: tuple[str, ...]
        try:
            addresses, named = (str(ipaddress.ip_address(host.strip("[]"))),), False
        except ValueError:
            addresses, named = _resolve(host), True
        for addr in addresses:
            ip = ipaddress.ip_address(addr)
            if _is_private(ip) and not any(ip in net for net in self.networks):
                what = f"{host} resolves to {addr}, which is" if named else f"{host} is"
                return (f"{what} a private, loopback or link-local address; the server "
                        "allows such hosts only when listed in JOBDECK_ALLOW_PRIVATE_HOSTS")
        return None
