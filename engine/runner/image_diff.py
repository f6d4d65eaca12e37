"""How much two screenshots differ, and an image that shows where: Pillow decodes, numpy
compares (docs/recovery.md, "Pages that changed").

Pure functions on bytes, no browser and no database: the runner calls them in a thread
(~7 ms a comparison at 1280x720, ~11 ms with the diff image: bench/visual_compare.py).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

# A pixel counts as changed when one of its channels differs by more than this (of 255).
# The step screenshots are JPEG quality 60, whose ringing next to sharp edges moves a
# channel by more than 20 on up to 0.5 % of a page's pixels, by more than 40 on under
# 0.1 % (measured on the demo site's pages against a PNG of the same page): 40 keeps that
# noise well under the 1 % that counts, while a change of colour people notice (a banner
# from navy to crimson moves a channel by 100+) is counted.
TOLERANCE = 40
# Changed regions: the changed pixels gathered in CELL x CELL squares, touching squares
# joined, each region's box drawn around it; at most MAX_BOXES, the largest.
CELL = 16
MAX_BOXES = 20
HIGHLIGHT = (255, 0, 0)  # a changed pixel on the diff image
BOX = (255, 160, 0)  # the outline around a changed region (orange: not a changed pixel)
FADE = 0.3  # how much of the new screenshot's grey shows under the highlights (pixelmatch's
# `alpha`, 0.1 there: a little more here so that people recognise the page)


@dataclass
class Difference:
    """`share`: changed pixels / all pixels (0-1) over the area both images cover together
    (pixels only one image has count as changed); `changed`: a bool array over the new
    image, True where a pixel changed; `boxes`: (left, top, right, bottom) in the new
    image's pixels, around its changed regions, largest first."""

    share: float
    changed: np.ndarray
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)


def _rgb(data: bytes) -> np.ndarray:
    """An image file's pixels as a (height, width, 3) uint8 array; PIL.UnidentifiedImageError
    (an OSError) when `data` is not an image Pillow reads."""
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img if img.mode == "RGB" else img.convert("RGB"))


def difference(before: bytes, after: bytes) -> Difference:
    """Compare two screenshots (JPEG or PNG bytes): which pixels of `after` changed by more
    than TOLERANCE in a channel. Different sizes are compared over the common top-left
    area, and the rest of either image counts as changed. Raises OSError when either is
    not an image."""
    if before == after:  # a still page encodes to the same bytes: nothing to decode
        with Image.open(io.BytesIO(after)) as img:
            return Difference(0.0, np.zeros((img.height, img.width), dtype=bool))
    old, new = _rgb(before), _rgb(after)
    height, width = min(old.shape[0], new.shape[0]), min(old.shape[1], new.shape[1])
    a, b = old[:height, :width], new[:height, :width]
    # |a - b| in uint8 without a wider copy: the larger minus the smaller
    delta = np.maximum(a, b) - np.minimum(a, b)
    changed = np.ones(new.shape[:2], dtype=bool)  # outside the common area: changed
    # channel by channel: numpy's max over the last axis is ~10x slower than three compares
    changed[:height, :width] = ((delta[..., 0] > TOLERANCE) | (delta[..., 1] > TOLERANCE)
                                | (delta[..., 2] > TOLERANCE))
    common = height * width
    union = old.shape[0] * old.shape[1] + new.shape[0] * new.shape[1] - common
    only_old = old.shape[0] * old.shape[1] - common  # pixels the new image lacks
    count = int(changed.sum()) + only_old
    share = count / union if union else 0.0
    return Difference(share, changed, regions(changed) if count else [])


def regions(changed: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (left, top, right, bottom; right and bottom exclusive) around the groups of
    changed pixels: the mask reduced to CELL-pixel squares, squares that touch (also
    diagonally) joined; the MAX_BOXES largest by area."""
    rows, cols = -(-changed.shape[0] // CELL), -(-changed.shape[1] // CELL)
    padded = np.zeros((rows * CELL, cols * CELL), dtype=bool)
    padded[:changed.shape[0], :changed.shape[1]] = changed
    cells = np.asarray(padded.reshape(rows, CELL, cols, CELL).any(axis=(1, 3)))
    grid: list[list[bool]] = cells.tolist()  # plain lists: faster to walk than numpy scalars
    seen: set[tuple[int, int]] = set()
    boxes = []
    # A flood fill over the squares (at most 80 x 45 of them at 1280x720), not the pixels.
    for start in zip(*(a.tolist() for a in np.nonzero(cells)), strict=True):
        if start in seen:
            continue
        seen.add(start)
        todo, top, left, bottom, right = [start], start[0], start[1], start[0], start[1]
        while todo:
            r, c = todo.pop()
            top, bottom, left, right = min(top, r), max(bottom, r), min(left, c), max(right, c)
            for nr in range(max(r - 1, 0), min(r + 2, rows)):
                for nc in range(max(c - 1, 0), min(c + 2, cols)):
                    if grid[nr][nc] and (nr, nc) not in seen:
                        seen.add((nr, nc))
                        todo.append((nr, nc))
        boxes.append((left * CELL, top * CELL, min((right + 1) * CELL, changed.shape[1]),
                      min((bottom + 1) * CELL, changed.shape[0])))
    boxes.sort(key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
    return boxes[:MAX_BOXES]


def diff_image(after: bytes, diff: Difference) -> bytes:
    """A PNG of `after` faded to grey, its changed pixels in HIGHLIGHT red and each changed
    region outlined in BOX orange (2 px, just outside the region's squares). PNG, so that
    the highlighted pixels stay exactly where they are (a JPEG would smear the red); with a
    palette of a few faded greys, which keeps it small and quick to write (~50 KiB,
    ~15 ms at 1280x720)."""
    with Image.open(io.BytesIO(after)) as shot:  # Pillow's grey: ITU-R BT.601 luma
        faded = shot.convert("L").point(_FADED)
    pixels = np.array(faded)  # a writable copy
    pixels[diff.changed] = 0  # palette index 0: HIGHLIGHT
    img = Image.frombytes("P", faded.size, pixels.tobytes())
    img.putpalette(_PALETTE)
    draw = ImageDraw.Draw(img)
    for left, top, right, bottom in diff.boxes:
        draw.rectangle((left - 2, top - 2, right + 1, bottom + 1), outline=1, width=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=3)  # level 3: ~2x faster than 6, a bit larger
    return buf.getvalue()


# Grey v faded towards white, in steps of 8 from white (fewer greys: JPEG noise
# compresses away); the faded greys are >= 178, so palette indices 0 and 1 are free for
# HIGHLIGHT and BOX.
_FADED = [255 - int((255 - v) * FADE) // 8 * 8 for v in range(256)]
_PALETTE = [*HIGHLIGHT, *BOX, *(c for v in range(2, 256) for c in (v, v, v))]
