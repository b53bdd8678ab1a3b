"""Class-activation heatmaps drawn over the view image and saved as PNG."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.special import expit

from kernels.io import atomic_write

#: Overlays are written at least this many pixels wide so small model inputs stay legible.
MIN_OVERLAY_SIZE = 192
#: zlib level of the PNGs. Scoring writes one overlay per view of every item, so encoding is
#: most of its time: level 1 encodes a 192-pixel overlay in a third of the default level's
#: time (3 against 9.5 ms) for files about 15% larger.
PNG_COMPRESSION = 1


def overlay(image: np.ndarray, logits: np.ndarray, colormap: str = "inferno") -> Image.Image:
    """Blend ``sigmoid(logits)`` (a ``(h, w)`` class-activation map) over an RGB ``uint8`` image.

    The map is shown as probabilities, not min-max scaled, so a clean view stays dark and heat
    means evidence for the class rather than "the hottest spot of this picture".
    """
    from matplotlib import colormaps

    size = max(image.shape[0], MIN_OVERLAY_SIZE)
    base = Image.fromarray(np.ascontiguousarray(image), "RGB").resize(
        (size, size), Image.Resampling.BILINEAR
    )
    prob = expit(np.asarray(logits, dtype=np.float64))
    # The map's cells are the backbone's: ``cell`` pixels each from the top-left corner, the
    # last one partial where the image size is not a multiple of the stride (every stage
    # rounds up). Drawn over the whole grid and cut to the image, each cell covers its own
    # pixels; stretched to the image, a mark near the far edge was shown cells away from it.
    cell = grid_cell(image.shape[0], prob.shape)
    span = size if cell is None else size * cell * prob.shape[-1] / image.shape[0]
    heat = Image.fromarray(prob.astype(np.float32), "F").resize(
        (round(span), round(span)), Image.Resampling.BILINEAR
    )
    heat = np.clip(np.asarray(heat, dtype=np.float64)[:size, :size], 0, 1)
    color = colormaps[colormap](heat)[..., :3]
    alpha = (0.15 + 0.6 * heat)[..., None]
    blended = np.asarray(base, dtype=np.float64) / 255 * (1 - alpha) + color * alpha
    return Image.fromarray(np.clip(np.round(blended * 255), 0, 255).astype(np.uint8), "RGB")


def grid_cell(side: int, shape: tuple[int, ...]) -> int | None:
    """Pixels per cell of a square ``shape`` (h, w) class-activation map of a ``side`` x ``side``
    input: the power-of-two stride whose cells, counted from the top-left corner and rounded
    up, make that grid (as the backbones' are); ``None`` when none does."""
    h, w = shape[-2], shape[-1]
    cell = 1
    while h == w and -(-side // cell) > h:
        cell *= 2
    return cell if h == w and -(-side // cell) == h else None


def save_overlay(path: str | Path, image: np.ndarray, logits: np.ndarray) -> Path:
    """Write :func:`overlay` to ``path`` as PNG (atomically)."""
    picture = overlay(image, logits)
    return atomic_write(
        path, lambda tmp: picture.save(tmp, format="PNG", compress_level=PNG_COMPRESSION)
    )


def overlay_png(image: np.ndarray, logits: np.ndarray) -> bytes:
    """:func:`overlay` as PNG bytes (for a response rather than a file)."""
    buffer = io.BytesIO()
    overlay(image, logits).save(buffer, format="PNG", compress_level=PNG_COMPRESSION)
    return buffer.getvalue()
