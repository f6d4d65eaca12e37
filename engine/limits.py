"""How long a value may be: a captured value is kept up to 64 KiB, and wherever a value
is shown to a person (the terminal, the console) a long one is shown as an excerpt.

Here, not in engine/runner, so that the console (which may not import the runner) and
the CLI show long values through the same function.
"""

# A captured value (a capture, an extracted field) is kept up to this many characters:
# 64 KiB (65 536) of text. A page can hold megabytes of text; a value that size bloats
# the step's record, every event that carries it and every report.
CAPTURE_LIMIT = 64 * 1024
# Shown where a value was cut, so nobody takes the cut value for the whole.
CUT_MARK = f"… [cut at {CAPTURE_LIMIT} characters]"

# How many characters of a value the console and the terminal show before "… (N more
# characters)": a few screen lines.
EXCERPT_CHARS = 500


def cut_capture(value: str) -> str:
    """`value` unchanged when it has at most CAPTURE_LIMIT (65 536) characters; else its
    first CAPTURE_LIMIT characters followed by CUT_MARK ("… [cut at 65536 characters]"),
    so a stored value is at most CAPTURE_LIMIT + len(CUT_MARK) characters. Counts
    characters (Python str), not bytes. Cutting a value cut already changes nothing."""
    if len(value) <= CAPTURE_LIMIT or (len(value) == CAPTURE_LIMIT + len(CUT_MARK)
                                       and value.endswith(CUT_MARK)):
        return value
    return value[:CAPTURE_LIMIT] + CUT_MARK


def excerpt(value: str, limit: int = EXCERPT_CHARS) -> str:
    """A readable excerpt of `value` for a person: the value itself when it has at most
    `limit` characters, else its first `limit` characters and "… (N more characters)".
    For the terminal (`main.py run`) and the console (timeline, job page, previews)."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}… ({len(value) - limit} more characters)"
