"""Reading one camera image: every failure becomes an :class:`ImageLoadError` naming the file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vision.schema import IMAGE_MODES

#: Source modes accepted for each model image mode (``schema.IMAGE_MODES``). Anything else (CMYK,
#: 16-bit, float, bilevel) means the camera or the export is misconfigured, so it is reported
#: rather than coerced.
ACCEPTED_MODES: dict[str, tuple[str, ...]] = dict(zip(IMAGE_MODES, (("RGB", "RGBA", "P"), ("L",))))


#: How every view is resized to the model's input size (Pillow; antialiased when shrinking).
RESIZE_FILTER = Image.Resampling.BILINEAR


class ImageLoadError(Exception):
    """An image that cannot be used: unreadable, truncated, empty or in a wrong mode."""


def check_image_mode(image_mode: str) -> str:
    if image_mode not in ACCEPTED_MODES:
        raise ValueError(f"image_mode: expected one of {list(IMAGE_MODES)}, got {image_mode!r}")
    return image_mode


def peek_mode(path: str | Path) -> str | None:
    """The PIL mode of an image file from its header, or ``None`` when it cannot be identified."""
    try:
        with Image.open(path) as image:
            return image.mode
    except (OSError, SyntaxError, ValueError):
        return None


def load_image(
    source: str | Path | bytes,
    size: int,
    image_mode: str = "RGB",
    min_size: int = 1,
    max_pixels: int | None = None,
) -> np.ndarray:
    """Decode ``source`` (a file, or the bytes of one, e.g. an upload), check its mode and size,
    and resize it to ``size`` x ``size``.

    Returns ``uint8`` of shape ``(size, size, 3)``; grey (``L``) sources are replicated to three
    channels so every backbone sees RGB input. Raises :class:`ImageLoadError` with the reason,
    also for an image narrower or lower than ``min_size`` pixels: upscaled, a thumbnail or a
    1x1 placeholder would be scored as if it showed the item; and for one of more than
    ``max_pixels`` pixels, refused from its header before it is decoded.
    """
    accepted = ACCEPTED_MODES[check_image_mode(image_mode)]
    try:
        opened = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        with opened as image:
            if max_pixels is not None and image.width * image.height > max_pixels:
                raise ImageLoadError(
                    f"image is {image.width}x{image.height} = {image.width * image.height} "
                    f"pixels, more than the limit of {max_pixels}"
                )
            # load() decodes the whole file: truncated or corrupt data fails here, not later.
            image.load()
            if image.mode not in accepted:
                raise ImageLoadError(
                    f"image mode {image.mode!r} is not accepted for a {image_mode} model "
                    f"(expected one of {', '.join(accepted)})"
                )
            if image.width < 1 or image.height < 1:
                raise ImageLoadError("image is empty")
            if image.width < min_size or image.height < min_size:
                raise ImageLoadError(
                    f"image is {image.width}x{image.height} pixels, below the minimum of "
                    f"{min_size} per side"
                )
            rgb = image.convert("RGB")
    except ImageLoadError:
        raise
    except FileNotFoundError as exc:
        raise ImageLoadError("file not found") from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError("not a readable image (corrupt or unknown format)") from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageLoadError(f"cannot decode image ({exc})") from exc
    if rgb.size != (size, size):
        # Pillow's resampling filters are antialiased when shrinking.
        rgb = rgb.resize((size, size), RESIZE_FILTER)
    return np.asarray(rgb, dtype=np.uint8)


def load_mask(path: str | Path, size: int) -> np.ndarray:
    """A per-view defect-bit mask (``schema.MASK_BITS``) at ``size`` x ``size``; bits survive
    shrinking (a cell keeps every bit of the pixels it covers)."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode != "L":
                raise ImageLoadError(f"mask mode {image.mode!r}; expected 8-bit grey 'L'")
            mask = np.asarray(image, dtype=np.uint8)
    except ImageLoadError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(f"cannot decode mask ({exc})") from exc
    if mask.shape != (size, size):
        rows = np.arange(mask.shape[0]) * size // mask.shape[0]
        cols = np.arange(mask.shape[1]) * size // mask.shape[1]
        if mask.shape[0] < size or mask.shape[1] < size:
            # Enlarging: nearest neighbour.
            mask = mask[np.arange(size) * mask.shape[0] // size][
                :, np.arange(size) * mask.shape[1] // size
            ]
        else:
            out = np.zeros((size, size), dtype=np.uint8)
            np.bitwise_or.at(out, (rows[:, None], cols[None, :]), mask)
            mask = out
    return mask
