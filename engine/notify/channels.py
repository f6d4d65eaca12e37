"""A channel's URL: what kind it is, whether Jobdeck may send to it, how it is shown.

An `https://` address gets Jobdeck's signed webhook (engine/notify/webhook.py); `http://`
too, but only to a non-public address (signed bodies would cross the internet in clear).
Anything else must be an Apprise URL (slack://, mailto://, json://, ...), parsed by Apprise
itself so its reason is what a person reads when it cannot be. A target on a private,
loopback or link-local address is refused unless JOBDECK_ALLOW_PRIVATE_HOSTS lists it, as
for runbooks (engine/runner/url_policy.py): notifications must not become a way to reach
the server's own network (server-side request forgery).
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
# Other servers an Apprise plugin connects to, named by the user or derived from what they
# wrote (mailto's smtp=, XMPP's server, Zulip's organization): each is resolved and judged.
SERVER_ATTRIBUTES = ("smtp_host", "xmpp_host", "hostname", "notify_host", "api_host")
# E-mail services whose URL's host is the sender's domain (it may have no address at all,
# only MX records) and whose API server is the service's own: only a literal address counts.
DOMAIN_HOSTS = frozenset({"mailgun", "sparkpost", "smtp2go", "sendpulse"})
MASK = "****"
TOKEN_LENGTH = 12  # a path segment this long is taken for a token and masked


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


def _masked_path(path: str) -> str:
    return "/".join(f"{seg[:2]}{MASK}" if len(seg) >= TOKEN_LENGTH else seg
                    for seg in path.split("/"))


def _masked_query(query: str) -> str:
    return urlencode([(k, MASK) for k, _ in parse_qsl(query, keep_blank_values=True)],
                     safe="*+")


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
    return urlunsplit((parts.scheme, netloc, _masked_path(parts.path),
                       _masked_query(parts.query), ""))


def _mask_apprise(private: str, given: str) -> str:
    """Apprise's privacy form `private` (passwords and tokens it knows of masked), with
    token-like path segments masked too and, instead of its query, the query of the URL
    as `given` with every value masked: Apprise leaves custom headers (+Name=value) and
    payload arguments (-name=value, :name=value) in clear."""
    parts = urlsplit(private)
    return urlunsplit((parts.scheme, parts.netloc, _masked_path(parts.path),
                       _masked_query(urlsplit(given).query), ""))


def hide_url(text: str, url: str, shown_url: str) -> str:
    """`text` (an error, a log line) without the secret parts of the channel URL `url`:
    the URL itself becomes `shown_url`, and its password, query values and token-like path
    segments, wherever they appear (a plugin may quote the http:// address it posted to),
    become ****."""
    text = text.replace(url, shown_url)
    parts = urlsplit(url)
    secrets = [parts.password or ""] + [v for _, v in parse_qsl(parts.query)]
    secrets += [seg for seg in parts.path.split("/") if len(seg) >= TOKEN_LENGTH]
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _plugin_targets(plugin, scheme: str) -> list[str]:
    """The servers an Apprise plugin will connect to that a user may have named: its host
    when the plugin's URL templates have one ({host}; otherwise the host part holds a
    token and the server is the service's own), and any of SERVER_ATTRIBUTES. E-mail's
    host is only the address's domain when an SMTP server is given (smtp=, or derived
    from a known provider): that server is what is judged."""
    found = []
    templates = getattr(plugin, "templates", None) or ()
    host = getattr(plugin, "host", None)
    if isinstance(host, str) and host and any("{host}" in t for t in templates) and not (
            getattr(plugin, "smtp_host", None)) and scheme not in DOMAIN_HOSTS:
        found.append(host)
    for name in SERVER_ATTRIBUTES:
        value = getattr(plugin, name, None)
        if isinstance(value, str) and value and value not in found:
            found.append(value)
    return found


def _check_apprise(plugin, scheme: str, policy: UrlPolicy, resolve: bool) -> None:
    """ChannelUrlRefused when a server the plugin would reach is private and not allowed:
    the named ones resolved (with `resolve`), any other host part only if it is a literal
    address."""
    default_port = 443 if getattr(plugin, "secure", False) else 80
    port = int(getattr(plugin, "port", None) or default_port)
    targets = [(t, resolve) for t in _plugin_targets(plugin, scheme)]
    host = getattr(plugin, "host", None)
    if isinstance(host, str) and host and all(host != t for t, _ in targets):
        targets.append((host, False))
    for target, resolves in targets:
        reason = host_refusal(target, port, resolve=resolves, policy=policy)
        if reason:
            raise ChannelUrlRefused(reason)


def _public_http(host: str, port: int, resolve: bool) -> bool:
    """Whether an http:// target is on the public internet (every address global)."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        if not resolve:
            return False
        addresses = [ipaddress.ip_address(a) for a in _resolved(host, port)]
    return all(a.is_global for a in addresses)


def check_url(url: str, *, resolve: bool = True, settings: Settings | None = None) -> ChannelUrl:
    """The checked form of a channel URL. ChannelUrlRefused (InvalidInput, 422) when Apprise
    cannot parse it (with Apprise's reason), its target is a private address not in
    JOBDECK_ALLOW_PRIVATE_HOSTS, or it is an http:// webhook to a public address (signed
    bodies in clear: use https://). `resolve`: judge the host names by what they resolve
    to now (the sender does it again before every attempt)."""
    url = (url or "").strip()
    if not url:
        raise ChannelUrlRefused("give the channel's URL: an Apprise URL (slack://…, "
                                "mailto://…, json://…) or an https:// address")
    policy = private_policy(settings)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("https", "http"):
        parts = urlsplit(url)
        if not parts.hostname:
            raise ChannelUrlRefused("the webhook URL has no host")
        port = parts.port or (443 if scheme == "https" else 80)
        reason = host_refusal(parts.hostname, port, resolve=resolve, policy=policy)
        if reason:
            raise ChannelUrlRefused(reason)
        if scheme == "http" and _public_http(parts.hostname, port, resolve):
            raise ChannelUrlRefused(f"{parts.hostname} is a public address: use https:// "
                                    "(http:// is only for webhooks inside a private network)")
        return ChannelUrl(url, WEBHOOK, _mask_http(url))
    plugin = _apprise_plugin(url)
    _check_apprise(plugin, scheme, policy, resolve)
    return ChannelUrl(url, APPRISE, _mask_apprise(plugin.url(privacy=True), url))
