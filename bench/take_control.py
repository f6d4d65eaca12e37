"""Take control, as the person holding it feels it: the live view's frame rate while they
type, how long a key takes to show in it, and how soon the job goes on after Hand back.

Run from the repo root:
  python bench/take_control.py [--jobs N] [--inputs N] [--seconds S] [--quick]

A real console (`python main.py`, a subprocess with its own data) runs a job that opens
the demo site's /form and then asks for a person (a `handover` step); its next step is a
short wait. For each job, the admin opens its job page in Chromium (1280×900), clicks
Take control and, through the live view, as a person would (Playwright's mouse and
keyboard on the live image):
1. input → visible: clicks into the form's name field and types "m", one at a time: the
   time from the key press (keydown in the holder's page) to the first live frame whose
   picture shows that character (the image's src set; the holder's page decodes each
   frame and finds the right edge of the text in the field: a new character moves it by
   a character's width). The next key goes ~0.2–0.5 s after the character showed.
2. frames while typing: clicks into the email field and types a character every 200 ms
   for S seconds; the live image's distinct src changes in that time, per key typed (a
   still page repaints once per key, and a repaint is all the screencast can send, so
   frames per second cannot pass keys per second here: the figure is frames per key).
2b. frames on a moving page: another job stops on the demo site's /animated page (it
   repaints every animation frame) and asks for a person; the holder's live image's
   distinct src changes over S seconds are the frames per second the picture follows at.
3. hand back: clicks Hand back; the time from that click (in the page) to the job's next
   step started (JobEvent.created_at, recorded by the worker; same machine, same clock).
   It includes the takeover's timeline row and its before/after screenshots.
The first job's page is saved as a PNG while the holder still has control (SHOT).
Puts its figures into docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from console_live import recorded_ms
from console_process import (
    add_runbook,
    signed_in_page,
    start_console,
    start_job,
    stop_console,
    wait_finished,
    wait_status,
)
from playwright.sync_api import sync_playwright
from report import Figure, publish, spread

from engine.runner.browser import find_browser, launch
from engine.runner.browser_session import DEFAULT_VIEWPORT

SHOT = Path(tempfile.gettempdir()) / "bench-take-control.png"
TYPE_EVERY_MS = 200
RUNBOOK = """version: 1
name: bench-take-control
title: A person types on the form
settings: {base_url: URL/demo, timeout_ms: 10000, retries: 0, screenshots: off,
           approval_timeout_s: 300}
steps:
  - {name: open, action: goto, url: /form}
  - {name: code, action: handover, message: "Type into the form"}
  - {name: after, action: wait, ms: 50}
"""
ANIMATED = (RUNBOOK.replace("bench-take-control", "bench-take-control-moving")
            .replace("url: /form", 'url: "/animated?ms=60000"'))
# In the holder's page: each distinct live frame (when its src was set) and, once decoded,
# the right edge of the dark pixels (the text, the caret) in window.tc.region (fractions
# of the frame: inside the name field's border); each keydown's time. Times are ms since
# the epoch (performance.timeOrigin + now), comparable with the worker's records.
WATCH = """() => {
  const tc = window.tc = {frames: [], keys: [], region: null, handedBack: null};
  const img = document.querySelector('[data-live] img');
  const canvas = document.createElement('canvas');
  const g = canvas.getContext('2d', {willReadFrequently: true});
  const now = () => performance.timeOrigin + performance.now();
  let last = img.src, chain = Promise.resolve();
  const rightEdge = async (src) => {
    const picture = new Image();
    picture.src = src;
    await picture.decode();
    const w = picture.naturalWidth, h = picture.naturalHeight;
    canvas.width = w; canvas.height = h;
    g.drawImage(picture, 0, 0);
    const [fx0, fy0, fx1, fy1] = tc.region;
    const x0 = Math.round(fx0 * w), y0 = Math.round(fy0 * h);
    const x1 = Math.round(fx1 * w), y1 = Math.round(fy1 * h);
    const data = g.getImageData(x0, y0, x1 - x0, y1 - y0).data;
    let right = -1;
    for (let i = 0; i < data.length; i += 4) {
      const lum = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
      if (lum < 100) right = Math.max(right, (i / 4) % (x1 - x0));
    }
    return right;
  };
  new MutationObserver(() => {
    if (img.src === last) return;
    last = img.src;
    const frame = {t: now(), right: null};
    tc.frames.push(frame);
    if (!tc.region || !last.startsWith('data:image/')) return;
    const src = last;
    chain = chain.then(() => rightEdge(src)).then((r) => { frame.right = r; },
                                                   () => { frame.right = -2; });
  }).observe(img, {attributes: true, attributeFilter: ['src']});
  document.addEventListener('keydown', () => tc.keys.push(now()), true);
  document.addEventListener('click', (e) => {
    if (e.target.closest('[data-control-action=hand-back]')) tc.handedBack = now();
  }, true);
}"""
SHOWN = """([since, above]) => window.tc.frames.some(
  (f) => f.t > since && f.right !== null && f.right > above)"""


def field_boxes(browser, url: str) -> dict[str, dict]:
    """The form's fields as fractions of the job's viewport: {id: {x, y, w, h}}."""
    page = signed_in_page(browser, url, viewport=DEFAULT_VIEWPORT)
    try:
        page.goto(f"{url}/demo/form")
        boxes = {}
        for field in ("name", "email"):
            box = page.locator(f"#{field}").bounding_box()
            assert box is not None
            boxes[field] = {"x": box["x"] / DEFAULT_VIEWPORT["width"],
                            "y": box["y"] / DEFAULT_VIEWPORT["height"],
                            "w": box["width"] / DEFAULT_VIEWPORT["width"],
                            "h": box["height"] / DEFAULT_VIEWPORT["height"]}
    finally:
        page.context.close()
    return boxes


def click_in_view(page, box: dict) -> None:
    """A click through the live view on the middle of `box` (fractions of the job's page)."""
    view = page.locator("[data-live] img").bounding_box()
    page.mouse.click(view["x"] + (box["x"] + box["w"] / 2) * view["width"],
                     view["y"] + (box["y"] + box["h"] / 2) * view["height"])


def take(browser, url: str, job_id: int):
    """The holder's job page, control taken, live frames coming in, WATCH installed."""
    page = signed_in_page(browser, url, viewport={"width": 1280, "height": 900})
    page.goto(f"{url}/jobs/{job_id}")
    page.locator("[data-handover]").wait_for(timeout=30_000)
    page.locator("[data-control-action=take]").click()
    page.locator("[data-control=mine]").wait_for(timeout=10_000)
    page.wait_for_function("() => (document.querySelector('[data-live] img')?.src || '')"
                           ".startsWith('data:image/jpeg')", timeout=20_000)
    page.evaluate(WATCH)
    return page


def right_edge(page) -> float:
    """The text's right edge in the name field as the frames so far show it (-1: none)."""
    return page.evaluate("Math.max(-1, ...window.tc.frames.map((f) => f.right ?? -1))")


def type_and_see(page, timeout_ms: int = 10_000) -> float:
    """Type "m" in the live view; ms from its keydown to the first frame showing it."""
    above = right_edge(page) + 4  # a new "m" moves the edge by ~10 px; a caret by ~1
    keys = page.evaluate("window.tc.keys.length")
    page.keyboard.press("m")
    pressed = page.evaluate(f"window.tc.keys[{keys}]")
    page.wait_for_function(SHOWN, arg=[pressed, above], polling=10, timeout=timeout_ms)
    shown = page.evaluate("([since, above]) => window.tc.frames.find("
                          "(f) => f.t > since && f.right !== null && f.right > above).t",
                          [pressed, above])
    return shown - pressed


def latencies(page, boxes: dict, inputs: int) -> list[float]:
    name = boxes["name"]
    inset_x, inset_y = 4 / DEFAULT_VIEWPORT["width"], 4 / DEFAULT_VIEWPORT["height"]
    page.evaluate("(r) => { window.tc.region = r; }",
                  [name["x"] + inset_x, name["y"] + inset_y,
                   name["x"] + name["w"] - inset_x, name["y"] + name["h"] - inset_y])
    click_in_view(page, name)
    page.wait_for_timeout(600)
    type_and_see(page, 20_000)  # a first character: the field shows text from here on
    measured = []
    for _ in range(inputs):
        page.wait_for_timeout(random.randint(200, 500))  # at any phase of the frame pace
        measured.append(type_and_see(page))
    return measured


def frames_per_second(page, boxes: dict | None, seconds: float) -> float:
    """Live frames a second on the holder's page over `seconds`: while typing into the
    form's email field (boxes given), or while just holding control (None)."""
    if boxes is not None:
        click_in_view(page, boxes["email"])
    page.wait_for_timeout(500)
    start = page.evaluate("performance.timeOrigin + performance.now()")
    for index in range(int(seconds * 1000 / TYPE_EVERY_MS)):
        if boxes is not None:
            page.keyboard.type("abcdefghijklmnopqrstuvwxyz"[index % 26])
        page.wait_for_timeout(TYPE_EVERY_MS)
    end = page.evaluate("performance.timeOrigin + performance.now()")
    frames = page.evaluate("window.tc.frames.map((f) => f.t)")
    return len([t for t in frames if start <= t <= end]) / ((end - start) / 1000)


def hand_back(page, url: str, data: Path, job_id: int) -> float:
    page.locator("[data-control-action=hand-back]").click()
    wait_finished(url, job_id)
    clicked = page.evaluate("window.tc.handedBack")
    return recorded_ms(data, job_id, "step_started")["after"] - clicked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3, help="jobs, each taken over and handed back")
    parser.add_argument("--inputs", type=int, default=7, help="keys timed to visible, per job")
    parser.add_argument("--seconds", type=float, default=5, help="typing time for the frame rate")
    parser.add_argument("--quick", action="store_true", help="1 job, 5 inputs, 3 s; print only")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.inputs, args.seconds = 1, 5, 3
    seen, fps, moving, back = [], [], [], []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory(
            prefix="jobdeck-bench-") as tmp:
        browser = launch(playwright, find_browser(None))
        data = Path(tmp) / "data"
        process, url = start_console(data)
        try:
            add_runbook(url, RUNBOOK.replace("URL", url))
            add_runbook(url, ANIMATED.replace("URL", url))
            boxes = field_boxes(browser, url)
            for index in range(args.jobs):
                print(f"job {index + 1} of {args.jobs} …", flush=True)
                job_id = start_job(url, "bench-take-control")
                wait_status(url, job_id, "paused")
                page = take(browser, url, job_id)
                seen += latencies(page, boxes, args.inputs)
                fps.append(frames_per_second(page, boxes, args.seconds))
                if index == 0:
                    page.screenshot(path=str(SHOT))
                back.append(hand_back(page, url, data, job_id))
                page.context.close()
                job_id = start_job(url, "bench-take-control-moving")
                wait_status(url, job_id, "paused")
                page = take(browser, url, job_id)
                moving.append(frames_per_second(page, None, args.seconds))
                hand_back(page, url, data, job_id)
                page.context.close()
        finally:
            stop_console(process)
        browser.close()
    print(f"the first holder's job page: {SHOT}")

    p90 = statistics.quantiles(seen, n=10, method="inclusive")[-1]
    figures = [
        Figure(f"Take control: live view frames per second on the holder's job page while "
               f"the job's page moves (the demo's /animated, repainting every animation "
               f"frame; {args.seconds:g} s); {len(moving)} jobs",
               f"{statistics.median(moving):.1f} fps", spread(moving, unit=" fps"), "≥ 5 fps",
               met=statistics.median(moving) >= 5),
        Figure(f"Take control: live frames per key typed on the holder's job page while "
               f"they type a character every {TYPE_EVERY_MS} ms into the job's still form "
               f"through it ({args.seconds:g} s; a still page repaints once per key); "
               f"{len(fps)} jobs",
               f"{statistics.median(fps) * TYPE_EVERY_MS / 1000:.2f} frames a key "
               f"({statistics.median(fps):.1f} fps)", spread(fps, unit=" fps"),
               "a frame per key (≥ 0.95)",
               met=statistics.median(fps) * TYPE_EVERY_MS / 1000 >= 0.95),
        Figure(f"Take control: input → visible, a key pressed in the holder's live view "
               f"(keydown in Chromium) → the first live frame on that page whose picture "
               f"shows the character (src set; pixels of the field checked), one key at a "
               f"time; {len(seen)} inputs", f"{statistics.median(seen):.0f} ms, "
               f"p90 {p90:.0f} ms", spread(seen, "{:.0f}")),
        Figure(f"Take control: Hand back clicked → the job's next step started (recorded by "
               f"the worker; includes the takeover's timeline row and its two screenshots); "
               f"{len(back)} jobs", f"{statistics.median(back):.0f} ms",
               spread(back, "{:.0f}")),
    ]
    command = ("python bench/take_control.py --quick" if args.quick else
               f"python bench/take_control.py --jobs {args.jobs} --inputs {args.inputs} "
               f"--seconds {args.seconds:g}")
    publish("take_control", command, figures, quick=args.quick)


if __name__ == "__main__":
    main()
