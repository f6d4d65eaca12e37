"""Every way a secret can be written down on its way through a browser and back: what the
redactor looks for in records, events, exports, reports and traces, and what screenshots
paint over on a page."""

import base64
import html
import json
import re
from urllib.parse import quote, quote_plus, unquote, unquote_plus

# WHATWG URL (https://url.spec.whatwg.org/#percent-encoded-bytes): the ASCII characters
# each percent-encode set adds to the C0 control set (U+0000-U+001F and above U+007E,
# which are always encoded, as UTF-8 bytes).
_FRAGMENT = frozenset(' "<>`')
_QUERY = frozenset(' "#<>')
_SPECIAL_QUERY = _QUERY | {"'"}  # the query of http(s), ws(s), ftp and file URLs
_PATH = _QUERY | frozenset("?^`{}")
_PATH_NO_CARET = _PATH - {"^"}  # "^" joined the path set in 2024; Chromium keeps it
_USERINFO = _PATH | frozenset("/:;=@[\\]|")
_USERINFO_CHROMIUM = _USERINFO | {"'"}  # Chromium also encodes "'" in a password
_COMPONENT = _USERINFO | frozenset("$%&+,")  # encodeURIComponent, but "!'()~" kept too
_FORM = _COMPONENT | frozenset("!'()~")  # application/x-www-form-urlencoded
URL_SETS = {"fragment": _FRAGMENT, "query": _QUERY, "special-query": _SPECIAL_QUERY,
            "path": _PATH, "path (Chromium)": _PATH_NO_CARET, "userinfo": _USERINFO,
            "userinfo (Chromium)": _USERINFO_CHROMIUM,
            "component": _COMPONENT, "form": _FORM}

# Python's urllib and JavaScript's encoders: the characters each leaves as they are.
_QUOTE_SAFE = ("",  # quote(v, safe=""), Python's strictest
               "/",  # quote(v), Python's default for paths
               "-_.!~*'()",  # encodeURIComponent (RFC 3986 unreserved + sub-delims part)
               "-_.!~*'();,/?:@&=+$#")  # encodeURI


def percent_encoded(value: str, encode: frozenset[str], space_plus: bool = False) -> str:
    """`value` percent-encoded by a WHATWG set: the C0 controls, non-ASCII (as UTF-8) and
    the characters of `encode` become %XX (upper-case hex); a space becomes "+" when
    `space_plus` (application/x-www-form-urlencoded)."""
    out = []
    for c in value:
        if c == " " and space_plus:
            out.append("+")
        elif " " <= c <= "~" and c not in encode:
            out.append(c)
        else:
            out.append("".join(f"%{b:02X}" for b in c.encode()))
    return "".join(out)


def url_forms(value: str) -> set[str]:
    """`value` as URLs carry it: each WHATWG percent-encode set with a space as %20 and as
    "+", Python's quote and quote_plus, encodeURIComponent and encodeURI, each in upper-
    and lower-case hex."""
    forms = {percent_encoded(value, encode, plus)
             for encode in URL_SETS.values() for plus in (False, True)}
    forms |= {quote(value, safe=safe) for safe in _QUOTE_SAFE} | {quote_plus(value)}
    return forms | {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in forms}


def read_back(value: str) -> set[str]:
    """`value` and what a server reads when it went into a URL unencoded ("+" in a query
    is a space, "%41" is "A"): each is a secret a page may print, escaped in its turn."""
    return {value} | {text for text in (unquote(value), unquote_plus(value)) if text.strip()}


def json_forms(value: str) -> set[str]:
    """Inside a JSON string: ASCII-only (Python's default) or not (JSON.stringify), "/" as
    is or as "\\/" (PHP), and escaped twice (a JSON string inside a JSON string, as a
    trace records a selector that holds the value)."""
    once = {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    once |= {form.replace("/", "\\/") for form in once}
    return once | {json.dumps(form, ensure_ascii=ascii)[1:-1]
                   for form in list(once) for ascii in (False, True)}


_HTML_SPECIAL = "&<>\"'"


def html_forms(value: str) -> set[str]:
    """As HTML text or an attribute value (HTML, "character references"): &amp; &lt; &gt;
    &quot; and &#x27; or &#39; for the quote; every special and non-ASCII character as a
    decimal or a hexadecimal reference; the named ones with non-ASCII as references."""
    named = html.escape(value)
    forms = {named, named.replace("&#x27;", "&#39;"), html.escape(value, quote=False),
             named.encode("ascii", "xmlcharrefreplace").decode()}
    for numeric in ("&#{};", "&#x{:x};", "&#x{:X};"):
        forms.add("".join(numeric.format(ord(c)) if c in _HTML_SPECIAL or not c.isascii()
                          else c for c in value))
    return forms


def base64_forms(value: str) -> set[str]:
    """Base64 of the value's UTF-8 alone (RFC 4648 standard and URL-safe alphabets, with
    and without padding). Base64 of a longer text holding it is not found this way."""
    raw = value.encode()
    forms = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return forms | {form.rstrip("=") for form in forms}


def secret_forms(value: str) -> set[str]:
    """Every written form of `value` and of what a server reads back (read_back): itself,
    percent-encoded (url_forms), JSON-escaped (json_forms), HTML-escaped (html_forms),
    base64 (base64_forms); and each form a screenshot looks for as a trace records it (in
    a selector in a JSON string)."""
    if not value:
        return set()
    forms = {_json_escaped(_json_escaped(form)) for form in page_text_forms(value)}
    for text in read_back(value):
        forms |= {text} | url_forms(text) | json_forms(text) | html_forms(text) \
            | base64_forms(text)
    return forms


def page_text_forms(value: str) -> set[str]:
    """The forms a page can show as text (HTML references are decoded before text is
    drawn): what a screenshot paints over. Matched ignoring case and as part of a text,
    so a form that holds another one is left out."""
    if not value:
        return set()
    forms = sorted({form for text in read_back(value)
                    for form in {text} | url_forms(text) | json_forms(text)
                    | base64_forms(text)}, key=len)
    kept: list[str] = []
    for form in forms:  # blank text would match every element
        if form.strip() and not any(shorter.lower() in form.lower() for shorter in kept):
            kept.append(form)
    return set(kept)


def page_text_pattern(texts: list[str]) -> str:
    """A regular expression (the same in Python and JavaScript) that finds any of `texts`,
    for matching ignoring case: letters, digits and non-ASCII as they are, a run of white
    space as \\s+, other ASCII as \\xHH (so it holds no quote, slash or ">>", and Playwright
    puts it into a selector unchanged). "" for no texts."""
    def one(text: str) -> str:
        pieces = [c if c.isalnum() or not c.isascii() else f"\\x{ord(c):02x}"
                  for c in text.strip()]
        return re.sub(r"(\\x(09|0a|0b|0c|0d|20))+", r"\\s+", "".join(pieces))
    return "|".join(one(text) for text in texts if text.strip())


def _json_escaped(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]
