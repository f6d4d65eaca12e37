"""Long values: a capture is kept up to 64 KiB, and a person is shown an excerpt."""

from engine.limits import CAPTURE_LIMIT, CUT_MARK, EXCERPT_CHARS, cut_capture, excerpt

FIVE_MB = "x" * (5 * 1024 * 1024)


def test_a_capture_up_to_64_kib_is_kept_whole():
    assert CAPTURE_LIMIT == 65536
    assert cut_capture("") == ""
    assert cut_capture("é" * CAPTURE_LIMIT) == "é" * CAPTURE_LIMIT  # characters, not bytes


def test_a_longer_capture_is_cut_at_64_kib_and_says_so():
    cut = cut_capture("a" * CAPTURE_LIMIT + "b" * 10)
    assert cut == "a" * CAPTURE_LIMIT + "… [cut at 65536 characters]"
    assert cut_capture(FIVE_MB) == "x" * CAPTURE_LIMIT + CUT_MARK
    assert cut_capture(cut) == cut  # cutting again changes nothing


def test_an_excerpt_of_a_5_mb_value_is_short_and_says_how_much_is_left():
    shown = excerpt(FIVE_MB)
    assert shown == "x" * EXCERPT_CHARS + f"… ({len(FIVE_MB) - EXCERPT_CHARS} more characters)"
    assert len(shown) < 600
    assert excerpt("short value") == "short value"
    assert excerpt("abcdef", limit=3) == "abc… (3 more characters)"


def test_a_step_keeps_a_long_capture_cut_and_marked(run_runbook):
    detail = run_runbook("""
        version: 1
        name: long-capture
        title: Long capture
        settings: {base_url: SITE, screenshots: off}
        steps:
          - {name: big, action: goto, url: /form, capture: {text: {js: "'x'.repeat(200000)"}}}
        """)
    [big] = [s for s in detail.steps if s.name == "big"]
    assert big.captures["text"] == "x" * CAPTURE_LIMIT + CUT_MARK
