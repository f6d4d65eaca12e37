"""A channel's URL: what kind it is, whether Jobdeck may send to it, how it is shown.

An `https://` (or, inside a private network, `http://`) address gets Jobdeck's signed
webhook (engine/notify/webhook.py); anything else must be an Apprise URL (slack://,
mailto://, json://, ...), parsed by Apprise itself so its reason is what a person reads
when it cannot be. A target on a private, loopback or link-local address is refused
unless JOBDECK_ALLOW_PRIVATE_HOSTS lists it, as for runbooks (engine/runner/url_policy.py):
notifications must not become a way to reach the server's own network (server-side
request forgery).
"""

import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from engine.errors import InvalidInput
from engine.runner.url_policy import UrlPolicy
from engine.settings import Settings, current_settings

WEBHOOK, APPRISE = "webhook", "apprise"
# Apprise schemas whose host is a server the user names (a generic webhook, a self-hosted
# service): a name there is resolved and judged. Other services' hosts are fixed by the
# plugin or hold a token; a literal IP address is judged whatever the schema.
HOSTED_SCHEMAS = frozenset({"json", "jsons", "xml", "xmls", "form", "forms", "ntfy", "ntfys",
                            "gotify", "gotifys", "matrix", "matrixs", "apprise", "apprises",
                            "mqtt", "mqtts", "rocket", "rockets", "mmost", "mmosts"})
MASK = "****"


class ChannelUrlRefused(InvalidInput):
    """A channel URL that cannot be used: unparseable, or a private host (HTTP 422)."""


@dataclass(frozen=True)
class ChannelUrl:
    """A checked URL: its kind ("webhook" or "apprise") and the form shown to people."""

    url: str
    kind: str
    shown_url: str


def private_policy(settings: Settings | None = None) -> UrlPolicy:
    """The private hosts notifications may reach: JOBDECK_ALLOW_PRIVATE_HOSTS only (hosts,
    host:port, CIDR). Unlike runbooks, not the console's own address: a webhook has no
    reason to call the console's API."""
    settings = settings or current_settings()
    given = [h.strip() for h in (settings.allow_private_hosts or "").split(",") if h.strip()]
    return UrlPolicy(given)


def _apprise_plugin(url: str):
    """Apprise's plugin for `url`; ChannelUrlRefused with Apprise's own reason."""
    import apprise  # ~0.35 s to import: paid by the consoles that send, not by workers

    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as log:
        try:
            plugin = apprise.Apprise.instantiate(url, suppress_exceptions=False)
        except Exception as exc:  # AppriseImproperlyConfigured and kin: the reason
            raise ChannelUrlRefused(f"Apprise cannot use this URL: {exc}") from None
    if plugin is None:
        said = [line.strip() for line in log.getvalue().splitlines() if line.strip()]
        reason = said[-1] if said else "not an Apprise URL"
        # Apprise repeats the URL in its message: keep only the scheme, it may hold a token
        reason = reason.replace(url, url.split("://", 1)[0] + "://…")
        raise ChannelUrlRefused(
            f"Apprise cannot use this URL: {reason} (see https://github.com/caronc/apprise/"
            "wiki for the URL of each service, or use an https:// address for Jobdeck's "
            "signed webhook)")
    return plugin


def _resolved(host: str, port: int) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port,
                                                                 type=socket.SOCK_STREAM)})
    except OSError as exc:
        raise ChannelUrlRefused(f"{host} cannot be resolved ({exc.strerror or exc})") from None


def host_refusal(host: str, port: int, *, resolve: bool,
                 policy: UrlPolicy | None = None) -> str | None:
    """Why host:port may not receive notifications, or None. A literal address is judged
    as it is; a name, with `resolve`, by every address it resolves to now (a name that does
    not resolve is refused). ChannelUrlRefused when a name cannot be resolved."""
    policy = policy or private_policy()
    host = host.lower().strip("[]")
    if host in policy.hosts or f"{host}:{port}" in policy.hosts:
        return None
    try:
        addresses = [str(ipaddress.ip_address(host))]
        named = False
    except ValueError:
        if not resolve:
            return None
        addresses, named = _resolved(host, port), True
    for address in addresses:
        literal = f"[{address}]" if ":" in address else address
        reason = policy.blocked_reason(f"http://{literal}:{port}/")
        if reason:
            return f"{host} resolves to {address}: {reason}" if named else reason
    return None


def _mask_http(url: str) -> str:
    """An http(s):// URL with its password, query values and token-like path parts masked."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}:{MASK}@{netloc}" if parts.password else (
            f"{MASK}@{netloc}")
    path = "/".join(f"{seg[:2]}{MASK}" if len(seg) >= 12 else seg
                    for seg in parts.path.split("/"))
    query = urlencode([(k, MASK) for k, _ in parse_qsl(parts.query, keep_blank_values=True)],
                      safe="*")
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def check_url(url: str, *, resolve: bool = True, settings: Settings | None = None) -> ChannelUrl:
    """The checked form of a channel URL. ChannelUrlRefused (InvalidInput, 422) when Apprise
    cannot parse it (with Apprise's reason), or its target is a private address not in
    JOBDECK_ALLOW_PRIVATE_HOSTS. `resolve`: judge a target host's name by what it resolves
    to now (the sender does it again before every attempt)."""
    url = (url or "").strip()
    if not url:
        raise ChannelUrlRefused("give the channel's URL: an Apprise URL (slack://…, "
                                "mailto://…, json://…) or an https:// address")
    policy = private_policy(settings)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("https", "http"):  # http:// only makes sense inside a private network
        parts = urlsplit(url)
        if not parts.hostname:
            raise ChannelUrlRefused("the webhook URL has no host")
        port = parts.port or (443 if scheme == "https" else 80)
        reason = host_refusal(parts.hostname, port, resolve=resolve, policy=policy)
        if reason:
            raise ChannelUrlRefused(reason)
        return ChannelUrl(url, WEBHOOK, _mask_http(url))
    plugin = _apprise_plugin(url)
    host = getattr(plugin, "host", None)
    if isinstance(host, str) and host:
        default_port = 443 if getattr(plugin, "secure", False) else 80
        port = getattr(plugin, "port", None) or default_port
        reason = host_refusal(host, int(port), policy=policy,
                              resolve=resolve and scheme in HOSTED_SCHEMAS)
        if reason:
            raise ChannelUrlRefused(reason)
    return ChannelUrl(url, APPRISE, plugin.url(privacy=True))
