"""What the network guard costs: page loads and a large download through a job's guard
(engine/runner/network_guard.py) against the same Playwright calls with no guard at all.

Run from the repo root:  python bench/network_guard.py [--quick]

One browser, two contexts made alike but for the proxy, rounds alternating:
1. a page with 50 sub-resources (images and a script, each its own request): load time;
2. a plain small page (one request): load time, as a `goto` step costs it;
3. a 150 MB download: time, and the peak of the process tree's anonymous memory
   (this process, Playwright's driver, Chromium's processes) above its figure before.
Target: guarded ≤ 1.05 × unguarded for page loads. Puts its figures into
docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn
from playwright.async_api import async_playwright
from process_tree import anon_mb, descendants
from report import Figure, publish, spread
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from engine.runner.browser import find_browser, launch
from engine.runner.network_guard import NetworkGuard
from engine.runner.url_policy import UrlPolicy

MB = bytes(range(256)) * 4096
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c000000000100"
                      "01000002024401003b")  # a 1×1 GIF


async def many(request) -> Response:
    images = "".join(f'<img src="/img/{i}.gif?r={request.query_params.get("r")}">'
                     for i in range(49))
    return HTMLResponse(f"<h1>Fifty</h1>{images}<script src='/app.js?r="
                        f"{request.query_params.get('r')}'></script>")


async def small(request) -> Response:
    return HTMLResponse("<h1>Small</h1><p>One request.</p>")


async def image(request) -> Response:
    return Response(PIXEL, media_type="image/gif", headers={"cache-control": "no-store"})


async def script(request) -> Response:
    return Response("document.title = 'done';", media_type="text/javascript",
                    headers={"cache-control": "no-store"})


async def big(request) -> Response:
    mb = int(request.query_params.get("mb", "150"))

    async def chunks():
        for _ in range(mb):
            yield MB

    return StreamingResponse(chunks(), media_type="application/octet-stream", headers={
        "content-length": str(mb * len(MB)),
        "content-disposition": 'attachment; filename="big.bin"'})


async def download_page(request) -> Response:
    return HTMLResponse('<a id="get" href="/big?mb=150" download>big</a>')


def serve() -> int:
    app = Starlette(routes=[Route("/many", many), Route("/small", small),
                            Route("/img/{n}", image), Route("/app.js", script),
                            Route("/big", big), Route("/download", download_page)])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server.servers[0].sockets[0].getsockname()[1]


def tree_anonymous_mb() -> float:
    """Anonymous memory (smaps_rollup) of this process and all its live descendants."""
    return anon_mb(descendants())


async def load_ms(page, url: str) -> float:
    began = time.perf_counter()
    await page.goto(url, wait_until="load")
    return (time.perf_counter() - began) * 1000


async def download(page, base: str, target: Path) -> tuple[float, float]:
    """(seconds, peak anonymous MB above the figure before) for the 150 MB file."""
    await page.goto(f"{base}/download")
    before, peak = tree_anonymous_mb(), 0.0
    done = threading.Event()

    def sample() -> None:  # a thread: reading /proc must not hold up the guard's loop
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_anonymous_mb() - before)
            done.wait(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    began = time.perf_counter()
    async with page.expect_download(timeout=120000) as info:
        await page.click("#get")
    dl = await info.value
    await dl.save_as(target)
    seconds = time.perf_counter() - began
    done.set()
    sampler.join()
    assert target.stat().st_size == 150 * len(MB)
    target.unlink()
    return seconds, peak


async def measure(rounds: int) -> list[Figure]:
    port = serve()
    base = f"http://127.0.0.1:{port}"
    guard = NetworkGuard()
    guard.use(UrlPolicy([f"127.0.0.1:{port}"]), lambda url, reason: None)
    proxy = {"server": await guard.start(), "bypass": "<-loopback>"}
    results: dict[str, dict[str, list[float]]] = {k: {"raw": [], "guarded": []}
                                                  for k in ("many", "small", "dl_s", "dl_mb")}
    async with async_playwright() as pw:
        browser = await launch(pw, find_browser())
        contexts = {"raw": await browser.new_context(accept_downloads=True),
                    "guarded": await browser.new_context(accept_downloads=True, proxy=proxy)}
        pages = {k: await c.new_page() for k, c in contexts.items()}
        for kind, page in pages.items():  # warm-up: connections, caches, JIT
            await load_ms(page, f"{base}/many?r=warm")
            await load_ms(page, f"{base}/small")
        for r in range(rounds):
            order = ("raw", "guarded") if r % 2 == 0 else ("guarded", "raw")
            for kind in order:
                results["many"][kind].append(await load_ms(pages[kind], f"{base}/many?r={r}"))
                results["small"][kind].append(await load_ms(pages[kind], f"{base}/small"))
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(1 if rounds < 10 else 3):
                for kind in ("raw", "guarded") if r % 2 == 0 else ("guarded", "raw"):
                    seconds, peak = await download(pages[kind], base, Path(tmp) / "big.bin")
                    results["dl_s"][kind].append(seconds)
                    results["dl_mb"][kind].append(peak)
        await browser.close()
    await guard.close()

    def ratio(key: str) -> float:
        return statistics.median(results[key]["guarded"]) / statistics.median(
            results[key]["raw"])

    figures = []
    for key, label in (("many", "page with 50 sub-resources"), ("small", "small page (a goto)")):
        g = results[key]["guarded"]
        figures.append(Figure(
            f"network guard: load of a {label}, guarded vs no guard",
            f"{statistics.median(g):.1f} ms (no guard "
            f"{statistics.median(results[key]['raw']):.1f} ms)",
            spread(g), "≤ 1.05 ×", f"{ratio(key):.2f} guarded / none", ratio(key) <= 1.05))
    g_s, g_mb = results["dl_s"]["guarded"], results["dl_mb"]["guarded"]
    figures.append(Figure(
        "network guard: 150 MB download through the guard (time; peak anonymous memory "
        "of the process tree above idle)",
        f"{statistics.median(g_s):.2f} s, +{max(g_mb):.0f} MB (no guard "
        f"{statistics.median(results['dl_s']['raw']):.2f} s, "
        f"+{max(results['dl_mb']['raw']):.0f} MB)",
        spread(g_s, "{:.2f}", " s"), "memory within 100 MB of idle",
        f"{ratio('dl_s'):.2f} time guarded / none", max(g_mb) <= 100))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, print only")
    args = parser.parse_args()
    figures = asyncio.run(measure(5 if args.quick else 30))
    publish("network_guard", "python bench/network_guard.py", figures, quick=args.quick)


if __name__ == "__main__":
    main()
