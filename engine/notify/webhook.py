"""Jobdeck's signed webhook: a JSON POST whose body the receiver can prove came from this
Jobdeck, the way GitHub signs its webhooks
(https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):

    X-Jobdeck-Signature-256: sha256=<hex HMAC-SHA256 (RFC 2104) of the raw body, keyed
                             with the channel's signing secret>
    X-Jobdeck-Event:         the event (job_failed, approval_requested, ..., test)
    X-Jobdeck-Delivery:      the delivery's id (the same on every retry of one message)

The receiver computes the HMAC over the bytes it received and compares it with
hmac.compare_digest (docs/notifications.md has the snippet)."""

import hashlib
import hmac
import json

import httpx

from engine.version import VERSION

SIGNATURE_HEADER = "X-Jobdeck-Signature-256"
TIMEOUT_S = 10.0


class WebhookFailed(Exception):
    """The receiver did not take the delivery: no connection, a timeout, or a status
    other than 2xx (the message says which, for the delivery's last_error)."""


def signature(secret: str, body: bytes) -> str:
    """The header's value: "sha256=" + the hex HMAC-SHA256 of `body` keyed with `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(event: str, delivery_id: int, title: str, text: str, link: str | None,
            data: dict, sent_at: str) -> bytes:
    """The JSON body (UTF-8): {event, delivery, title, text, link, sent_at, data}."""
    return json.dumps({"event": event, "delivery": delivery_id, "title": title, "text": text,
                       "link": link, "sent_at": sent_at, "data": data},
                      ensure_ascii=False, default=str, separators=(",", ":")).encode()


def post(url: str, secret: str, event: str, delivery_id: int, body: bytes) -> int:
    """POST `body` to `url`, signed; the HTTP status (2xx). WebhookFailed otherwise.
    Redirects are not followed: a redirect could lead to an address the URL check never
    saw."""
    headers = {"Content-Type": "application/json", "User-Agent": f"Jobdeck/{VERSION}",
               SIGNATURE_HEADER: signature(secret, body), "X-Jobdeck-Event": event,
               "X-Jobdeck-Delivery": str(delivery_id)}
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_S,
                              follow_redirects=False)
    except httpx.HTTPError as exc:
        raise WebhookFailed(f"{exc.__class__.__name__}: {exc}"[:300]) from None
    if not 200 <= response.status_code < 300:
        raise WebhookFailed(f"HTTP {response.status_code} {response.reason_phrase}"
                            + (f": {response.text.strip()[:200]}" if response.text.strip()
                               else ""))
    return response.status_code
