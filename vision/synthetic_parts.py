"""Synthetic photos of small parts in class folders: grey, of varying sizes, with small defects.

The class-folder counterpart of the camera tunnel (:mod:`vision.synthetic`), built to look like
the surface-inspection sets a station is trained on: one grey photo per part, each of its own
size and aspect ratio (longer side ``min_side``..``max_side`` pixels, aspect 0.6..1.6), a
machined part (a disc, a plate or a bar) with a fine turned or brushed texture, uneven light and
sensor noise, on a dark fixture. Defects are small, as real ones are: at most one per part,

* ``crack``: a thin dark polyline, 1-2 px wide, a tenth to a quarter of the part long;
* ``pit``: one to three dark pits of a few pixels;
* ``scratch``: a straight, thin, bright line;
* ``stain``: a faint, soft, darker blotch;
* ``chip``: a bite out of the part's edge.

Sizes scale with the photo, so shrinking a large photo to a small square makes a crack thinner
than a pixel: what the letterboxing and the resolution chosen from the data are for. Everything
is drawn from ``numpy.random.default_rng([seed, index])``, so a seed fixes the set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from kernels.runfolder import building

DEFECT_CLASSES: tuple[str, ...] = ("crack", "pit", "scratch", "stain", "chip")
GOOD_CLASS = "good"
SHAPES = ("disc", "plate", "bar")


def _part_mask(shape: str, width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """The part's silhouette (``L``, 255 inside) centred in the frame with a margin."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    fill = rng.uniform(0.7, 0.86)
    w, h = width * fill, height * fill
    x0, y0 = (width - w) / 2 + rng.normal(0, 0.02 * width), (height - h) / 2
    if shape == "disc":
        side = min(w, h)
        x0, y0 = (width - side) / 2, (height - side) / 2
        draw.ellipse([x0, y0, x0 + side, y0 + side], fill=255)
        hole = side * rng.uniform(0.15, 0.3)
        cx, cy = x0 + side / 2, y0 + side / 2
        draw.ellipse([cx - hole / 2, cy - hole / 2, cx + hole / 2, cy + hole / 2], fill=0)
    elif shape == "plate":
        radius = min(w, h) * rng.uniform(0.05, 0.15)
        draw.rounded_rectangle([x0, y0, x0 + w, y0 + h], radius=radius, fill=255)
    else:  # a bar along the longer side
        if width >= height:
            h = h * rng.uniform(0.4, 0.6)
            y0 = (height - h) / 2
        else:
            w = w * rng.uniform(0.4, 0.6)
            x0 = (width - w) / 2
        draw.rounded_rectangle([x0, y0, x0 + w, y0 + h], radius=min(w, h) * 0.2, fill=255)
    return mask


def _surface(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Part brightness with a turned/brushed texture and a light gradient (float, 0..255)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(3.0, 7.0)
    along = xx * np.cos(angle) + yy * np.sin(angle)
    texture = 5.0 * np.sin(2 * np.pi * along / period) + rng.normal(0, 3.0, (height, width))
    gx, gy = rng.normal(0, 0.12, 2)
    gradient = 1 + gx * (xx / width - 0.5) + gy * (yy / height - 0.5)
    return rng.uniform(140, 200) * gradient + texture


def _random_walk(start, length: float, rng: np.random.Generator, step: float) -> list:
    points, heading = [tuple(start)], rng.uniform(0, 2 * np.pi)
    for _ in range(max(2, int(length / step))):
        heading += rng.normal(0, 0.35)
        x, y = points[-1]
        points.append((x + step * np.cos(heading), y + step * np.sin(heading)))
    return points


def _inside_point(mask: np.ndarray, rng: np.random.Generator, margin: float) -> tuple[float, float]:
    """A random point of the part, at least ``margin`` pixels inside its edge when possible."""
    ys, xs = np.nonzero(mask > 0)
    h, w = mask.shape
    for _ in range(50):
        i = rng.integers(len(xs))
        x, y = int(xs[i]), int(ys[i])
        m = int(margin)
        if m <= y < h - m and m <= x < w - m and mask[y - m, x] and mask[y + m, x]:
            if mask[y, x - m] and mask[y, x + m]:
                return float(x), float(y)
    i = rng.integers(len(xs))
    return float(xs[i]), float(ys[i])


def _edge_point(mask: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    inner = np.asarray(Image.fromarray(mask).filter(ImageFilter.MinFilter(3)))
    ys, xs = np.nonzero((mask > 0) & (inner == 0))
    i = rng.integers(len(xs))
    return float(xs[i]), float(ys[i])


def render_part(label: str, index: int, seed: int = 0, min_side: int = 192, max_side: int = 448):
    """One grey photo (``PIL.Image`` mode ``L``) of a part with defect ``label`` (or good)."""
    rng = np.random.default_rng([seed, index])
    long_side = int(rng.integers(min_side, max_side + 1))
    aspect = rng.uniform(0.6, 1.6)
    width, height = (long_side, int(long_side / aspect))
    if aspect < 1:
        width, height = int(long_side * aspect), long_side
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    part = np.asarray(_part_mask(shape, width, height, rng), dtype=np.uint8)
    image = np.full((height, width), rng.uniform(35, 70)) + rng.normal(0, 2.0, (height, width))
    surface = _surface(width, height, rng)
    scale = long_side / 300.0  # defects scale with the photo
    layer = Image.new("L", (width, height), 0)  # darkening (crack, pit, stain, chip)
    bright = Image.new("L", (width, height), 0)  # brightening (scratch)
    draw, draw_bright = ImageDraw.Draw(layer), ImageDraw.Draw(bright)
    if label == "crack":
        start = _inside_point(part, rng, 20 * scale)
        length = long_side * rng.uniform(0.1, 0.25)
        width_px = int(rng.integers(1, 3))
        path = _random_walk(start, length, rng, step=4 * scale)
        draw.line(path, fill=int(rng.uniform(40, 80)), width=width_px)
    elif label == "pit":
        for _ in range(int(rng.integers(1, 4))):
            x, y = _inside_point(part, rng, 10 * scale)
            r = max(1.5, rng.uniform(1.5, 3.5) * scale)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=int(rng.uniform(50, 90)))
    elif label == "scratch":
        x, y = _inside_point(part, rng, 30 * scale)
        angle, length = rng.uniform(0, np.pi), long_side * rng.uniform(0.15, 0.3)
        dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
        draw_bright.line([(x - dx, y - dy), (x + dx, y + dy)], fill=int(rng.uniform(25, 45)))
    elif label == "stain":
        x, y = _inside_point(part, rng, 25 * scale)
        r = rng.uniform(10, 20) * scale
        draw.ellipse([x - r, y - r * 0.7, x + r, y + r * 0.7], fill=int(rng.uniform(18, 30)))
        layer = layer.filter(ImageFilter.GaussianBlur(r / 2))
    elif label == "chip":
        x, y = _edge_point(part, rng)
        r = rng.uniform(6, 12) * scale
        bite = Image.new("L", (width, height), 0)
        ImageDraw.Draw(bite).ellipse([x - r, y - r, x + r, y + r], fill=255)
        part = np.where(np.asarray(bite) > 0, 0, part).astype(np.uint8)
    elif label != GOOD_CLASS:
        raise ValueError(f"label: expected {GOOD_CLASS!r} or one of {DEFECT_CLASSES}: {label!r}")
    # Soft part edges, then defects on the part only.
    alpha = np.asarray(Image.fromarray(part).filter(ImageFilter.GaussianBlur(1.0)), np.float64)
    alpha /= 255.0
    surface = surface - np.asarray(layer, np.float64) + np.asarray(bright, np.float64)
    image = image * (1 - alpha) + surface * alpha + rng.normal(0, 3.0, (height, width))
    return Image.fromarray(np.clip(np.rint(image), 0, 255).astype(np.uint8), "L")


def write_parts_dataset(
    root: str | Path,
    n_items: int,
    seed: int = 0,
    defect_share: float = 0.5,
    min_side: int = 192,
    max_side: int = 448,
    classes: tuple[str, ...] = DEFECT_CLASSES,
    overwrite: bool = False,
) -> Path:
    """Write ``n_items`` part photos as class folders ``root/<class>/<index>.png`` (``good/``
    plus one folder per defect class); ``defect_share`` of the parts have a defect, spread
    evenly over ``classes``. The folder appears whole or not at all; an existing one is an
    error unless ``overwrite``."""
    if n_items < 1:
        raise ValueError(f"n_items: expected >= 1, got {n_items}")
    if not 0 <= defect_share <= 1:
        raise ValueError(f"defect_share: expected a share in [0, 1], got {defect_share}")
    if not 16 <= min_side <= max_side:
        raise ValueError(f"sides: expected 16 <= min_side <= max_side, got {min_side}, {max_side}")
    unknown = sorted(set(classes) - set(DEFECT_CLASSES))
    if unknown:
        raise ValueError(f"classes: unknown defect classes {unknown}; known {DEFECT_CLASSES}")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes: each defect class once, got {list(classes)}")
    labels_rng = np.random.default_rng([seed, 2**31])  # apart from the items
    n_defects = int(round(n_items * defect_share))
    if n_defects and not classes:
        raise ValueError(f"classes: none given for the {n_defects} defective parts")
    labels = [GOOD_CLASS] * (n_items - n_defects) + [
        classes[k % len(classes)] for k in range(n_defects)
    ]
    labels = [labels[i] for i in labels_rng.permutation(n_items)]
    with building(root, overwrite=overwrite) as folder:
        for name in (GOOD_CLASS, *classes):
            (folder / name).mkdir()
        for index, label in enumerate(labels):
            image = render_part(label, index, seed, min_side, max_side)
            image.save(folder / label / f"part_{index:05d}.png")
    return Path(root)
