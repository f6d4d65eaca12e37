"""What comparing a step's screenshot with the last completed job's costs (Pages that changed).

Run from the repo root:  python bench/visual_compare.py [--samples N] [--quick]

1. Real screenshots as a job takes them: Chromium at 1280x720, JPEG quality 60, of the demo
   site's /visual page with a navy and a crimson banner, and of its busier /table page.
2. Times, in this process (a job runs it in a thread beside the browser), the baseline
   read from its file each time as a job does: an unchanged page (the same JPEG bytes,
   the common case), a changed banner (two decodes and the numpy difference), a wholly
   different page (many changed regions to box), the banner with its diff image (PNG),
   and for scale the screenshot itself.
3. Prints the figures and puts them into docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import uvicorn
from playwright.sync_api import sync_playwright
from report import Figure, publish, spread, timed_ms

from engine.demo_site import create_demo_app
from engine.runner.browser import find_browser, launch
from engine.runner.image_diff import diff_image, difference


def _serve() -> tuple[uvicorn.Server, str]:
    server = uvicorn.Server(uvicorn.Config(create_demo_app(), host="127.0.0.1", port=0,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def shots(samples: int) -> tuple[dict[str, bytes], list[float]]:
    """The screenshots by name, and the milliseconds of each of `samples` screenshots."""
    server, site = _serve()
    try:
        with sync_playwright() as pw:
            browser = launch(pw, find_browser())
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            taken = {}
            for name, path in (("navy", "/visual?color=navy"),
                               ("crimson", "/visual?color=crimson"), ("table", "/table")):
                page.goto(site + path)
                taken[name] = page.screenshot(type="jpeg", quality=60)
            times = timed_ms(lambda: page.screenshot(type="jpeg", quality=60), samples)
            browser.close()
    finally:
        server.should_exit = True
    return taken, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="fewer samples; print only")
    args = parser.parse_args()
    if args.quick:
        args.samples = 10
    taken, screenshot = shots(args.samples)
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        files = {}
        for name, data in taken.items():
            files[name] = Path(tmp) / f"{name}.jpg"
            files[name].write_bytes(data)

        def compare(old: str, new: str, image: bool = False) -> None:
            diff = difference(files[old].read_bytes(), taken[new])
            if image:
                diff_image(taken[new], diff)
        cases = {"same": ("navy", "navy"),  # a still page: the same JPEG bytes
                 "banner": ("navy", "crimson"),
                 "busy": ("navy", "table"),  # a wholly different page: many regions
                 "image": ("navy", "crimson", True)}
        times: dict[str, list[float]] = {case: [] for case in cases}
        for _ in range(args.samples):  # by turns, so that drift hits each case alike
            for case, how in cases.items():
                times[case] += timed_ms(lambda h=how: compare(*h), 1)
        same, banner, busy, with_image = (times[c] for c in cases)
    share = difference(taken["navy"], taken["crimson"]).share
    busy_share = difference(taken["navy"], taken["table"]).share
    med = statistics.median
    figures = [
        Figure("Visual compare, page unchanged (same JPEG bytes: no decoding)",
               f"{med(same):.2f} ms", spread(same, "{:.2f}")),
        Figure(f"Visual compare, banner changed ({share * 100:.1f} % of 1280x720): two "
               "decodes + numpy", f"{med(banner):.1f} ms", spread(banner),
               ratio=f"{med(banner) / med(screenshot):.2f} compare / screenshot"),
        Figure(f"Visual compare, another page ({busy_share * 100:.0f} % changed, many "
               "regions)", f"{med(busy):.1f} ms", spread(busy)),
        Figure("Visual compare + diff image (PNG), banner changed",
               f"{med(with_image):.1f} ms", spread(with_image)),
        Figure("For scale: the step's screenshot itself (JPEG q60, 1280x720)",
               f"{med(screenshot):.1f} ms", spread(screenshot)),
    ]
    command = "python bench/visual_compare.py" + (" --quick" if args.quick else "")
    publish("visual_compare", command, figures, quick=args.quick)


if __name__ == "__main__":
    main()
