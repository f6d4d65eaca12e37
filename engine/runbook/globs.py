"""URL globs as runbooks write them: `*` matches any text (slashes too), `?` one character."""

import re


def glob_regex(glob: str) -> re.Pattern:
    """A regex for a glob that Python and Playwright (JavaScript) read the same way."""
    parts = []
    for ch in glob:
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("^" + "".join(parts).replace(".*.*", ".*") + "$")


def glob_match(glob: str, text: str) -> bool:
    return glob_regex(glob).match(text) is not None
