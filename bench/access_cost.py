"""What signing in and the gate in front of every request cost.

Run from the repo root:  python bench/access_cost.py [--samples N] [--quick]

1. Signing in (argon2id check of the password, a new session row) in-process, on a real
   SQLite file.
2. The gate's lookup per request: a session cookie, and an API token (a SHA-256 and one
   indexed read each).
3. End to end over HTTP against a real console (`python main.py`): GET /api/me with a
   token against GET /login, which passes the gate without a lookup; the difference is
   what the gate adds to every request.
4. Prints the figures and puts them into docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx
from console_process import headers, start_console, stop_console
from report import Figure, publish, spread, timed_ms

from engine.identity import accounts
from engine.runtime import Runtime
from engine.settings import Settings

PASSWORD = "a-bench-password"


def in_process(samples: int) -> tuple[list[float], list[float], list[float]]:
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        runtime = Runtime(Settings(data_dir=Path(tmp), workers=0, database_url=None,
                                   redis_url=None))
        try:
            accounts.create_user("ann", "operator", PASSWORD, by="bench")
            token, _ = accounts.create_token("ann", "bench", by="bench")
            cookie, _ = accounts.sign_in("ann", PASSWORD, "127.0.0.1")
            sign_in = timed_ms(lambda: accounts.sign_in("ann", PASSWORD, "127.0.0.1"),
                               max(samples // 10, 3))
            session = timed_ms(lambda: accounts.session_actor(cookie, "127.0.0.1"), samples)
            by_token = timed_ms(lambda: accounts.token_actor(token), samples)
        finally:
            runtime.stop()
    return sign_in, session, by_token


def over_http(samples: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        process, url = start_console(Path(tmp) / "data", JOBDECK_WORKERS="0")
        try:
            with httpx.Client(base_url=url, headers=headers(url)) as client:
                for _ in range(20):  # warm-up
                    client.get("/api/me"), client.get("/login")
                gated, open_ = [], []
                for _ in range(samples):  # alternating, so drift hits both alike
                    gated += timed_ms(lambda: client.get("/api/me").raise_for_status(), 1)
                    open_ += timed_ms(lambda: client.get("/login").raise_for_status(), 1)
        finally:
            stop_console(process)
    return gated, open_


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="fewer samples; print only")
    args = parser.parse_args()
    if args.quick:
        args.samples = 50
    sign_in, session, by_token = in_process(args.samples)
    gated, open_ = over_http(args.samples)
    added = statistics.median(gated) - statistics.median(open_)
    figures = [
        Figure("Sign in: argon2id check + session row (in-process)",
               f"{statistics.median(sign_in):.0f} ms", spread(sign_in, "{:.0f}")),
        Figure("Gate: session cookie lookup per request (in-process)",
               f"{statistics.median(session):.2f} ms", spread(session, "{:.2f}")),
        Figure("Gate: API token lookup per request (in-process)",
               f"{statistics.median(by_token):.2f} ms", spread(by_token, "{:.2f}")),
        Figure(f"HTTP GET /api/me with a token vs /login (no lookup); {args.samples} each",
               f"{statistics.median(gated):.1f} ms", spread(gated),
               ratio=f"+{added:.1f} ms for the gate"),
    ]
    command = "python bench/access_cost.py" + (" --quick" if args.quick else "")
    publish("access_cost", command, figures, quick=args.quick)


if __name__ == "__main__":
    main()
