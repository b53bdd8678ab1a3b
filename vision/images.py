"""Reading one camera image: every failure becomes an :class:`ImageLoadError` naming the file."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vision.schema import IMAGE_MODES, IMAGE_SUFFIXES, MASK_BITS

#: Every defect bit a mask may carry (``schema.MASK_BITS``).
ALL_MASK_BITS = sum(MASK_BITS.values())

#: Source modes accepted for each model image mode (``schema.IMAGE_MODES``). Anything else (CMYK,
#: 16-bit, float, bilevel) means the camera or the export is misconfigured, so it is reported
#: rather than coerced.
ACCEPTED_MODES: dict[str, tuple[str, ...]] = dict(zip(IMAGE_MODES, (("RGB", "RGBA", "P"), ("L",))))


#: The formats :func:`load_image` decodes: those of the file names a dataset folder reads
#: (PNG, JPEG, BMP, TIFF, WebP). Pillow's other formats are not opened: some decode their
#: pixels when opened (an icon whose header says 16x16 holds a PNG of any size), before the
#: ``max_pixels`` check can refuse them, and EPS runs Ghostscript.
IMAGE_FORMATS: tuple[str, ...] = tuple(
    sorted({Image.registered_extensions()[suffix] for suffix in IMAGE_SUFFIXES})
)

#: How every view is resized to the model's input size (Pillow; antialiased when shrinking).
RESIZE_FILTER = Image.Resampling.BILINEAR


#: EXIF tag of the orientation a camera stored its sensor pixels in (1: as displayed).
EXIF_ORIENTATION = 0x0112

#: How each EXIF orientation turns the stored pixels as displayed (ImageOps.exif_transpose's
#: table).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

#: What Pillow raises for a header or EXIF block it cannot parse: struct.error (a truncated
#: EXIF directory) is none of OSError, SyntaxError and ValueError.
UNREADABLE = (OSError, SyntaxError, ValueError, struct.error, Image.DecompressionBombError)


def upright(image: Image.Image) -> Image.Image:
    """``image`` turned as its EXIF orientation says it is displayed (cameras and phones store
    the sensor's pixels and a tag); unchanged without the tag. Only the pixels are turned:
    ImageOps.exif_transpose also writes the EXIF block back, which fails on a tag of another
    type than its standard one (struct.error, TypeError) that no viewer minds."""
    method = UPRIGHT.get(image.getexif().get(EXIF_ORIENTATION, 1))
    return image if method is None else image.transpose(method)


def opaque(image: Image.Image) -> Image.Image:
    """``image`` with any transparency composited over black: what a pixel shows is its colour
    times its opacity, never the colour stored under a transparent pixel, which encoders fill
    as they like (the original photo, white, or black as lossless WebP does) and no viewer
    shows. A palette image's transparent entry is transparency too, and so is the one
    transparent colour an RGB or grey PNG may name (its tRNS chunk)."""
    if image.mode in ("P", "RGB", "L") and image.info.get("transparency") is not None:
        image = image.convert("RGBA")
    if image.mode != "RGBA":
        return image
    return Image.alpha_composite(Image.new("RGBA", image.size, (0, 0, 0, 255)), image)


def png_transparency(image: Image.Image) -> Image.Image:
    """``image`` (just opened, not yet loaded) with a PNG's transparent colour (its tRNS
    chunk) in the scale of the pixels Pillow decodes, which :func:`opaque` compares it with;
    decoded (loaded) either way. Pillow keeps the chunk's value in the file's samples while it
    scales the samples themselves: a 2- or 4-bit grey PNG's pixels by 85 or 17 (its
    transparent grey 1 matched no pixel, so what the file makes transparent was shown), a
    16-bit colour PNG's to their high byte (its transparent (1000, 40000, 65535) matched no
    pixel either). The 8-bit pixels cannot tell a 16-bit PNG's transparent colour from its
    neighbours within 1/256: such a file is refused (ValueError) where a pixel could be it,
    and read as opaque where none can."""
    key = image.info.get("transparency")
    rawmode = image.tile[0].args if image.format == "PNG" and image.tile else None
    image.load()
    if key is None or not isinstance(rawmode, str):
        return image
    if rawmode in ("L;2", "L;4"):
        image.info["transparency"] = int(key) * 255 // (2 ** int(rawmode[-1]) - 1)
    elif rawmode == "RGB;16B":
        high = tuple(int(v) >> 8 for v in key)
        if (np.asarray(image) == high).all(axis=-1).any():
            raise ValueError(
                f"a 16-bit colour PNG whose transparent colour {tuple(key)} (tRNS) its 8-bit "
                "pixels cannot tell from its neighbours; save it as 8-bit or with an alpha channel"
            )
        del image.info["transparency"]
    return image


def refuse_misread(image: Image.Image) -> None:
    """Raise :class:`ImageLoadError` for a file (opened, not yet loaded) whose pixels Pillow
    decodes wrongly without an error: an uncompressed TIFF with its colour planes stored
    apart (PlanarConfiguration 2) and more than 8 bits a sample, each plane read as 8-bit
    samples (bytes), so a 16-bit scan read as noise (242 levels off) in one third of its
    rows. A compressed one goes through libtiff and reads right."""
    if image.format != "TIFF" or not image.tile or image.tile[0].codec_name != "raw":
        return
    tags = getattr(image, "tag_v2", {})
    bits = tags.get(258, (8,))
    planar = tags.get(284) == 2 and tags.get(277, 1) > 1
    if planar and max(bits if isinstance(bits, tuple) else (bits,)) > 8:
        raise ImageLoadError(
            f"uncompressed TIFF with {max(bits)}-bit colour planes stored apart (planar "
            "configuration 2) cannot be read exactly; save it interleaved (contiguous), "
            "compressed, or as 8-bit"
        )


def in_srgb(image: Image.Image, profile: bytes | None) -> Image.Image:
    """The RGB ``image`` in sRGB, the space of the catalog's colours: converted from the ICC
    ``profile`` its file embeds (a camera's Adobe RGB, a phone's Display P3), as a
    colour-managed viewer (a browser, a phone) shows it. Unchanged without a profile, with an
    sRGB one, or with one that cannot be read or is not an RGB profile (viewers ignore it
    too). Read raw, an Adobe RGB photo of the catalog's green #28963C stores #5A9545."""
    if not profile or image.mode != "RGB":
        return image
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        if "srgb" in ImageCms.getProfileDescription(source).lower():
            return image
        return ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image


#: How :func:`load_image` reads a file before it resizes it, as model packages record it for
#: clients that send the pixels themselves (OIP v2).
DECODING = {
    "orientation": "turned upright as its EXIF orientation tag says (as cameras and phones "
    "display a photo) before it is resized",
    "transparency": "composited over black: a transparent pixel reads as black, whatever "
    "colour the file stores under it",
    "colour_profile": "an RGB picture whose file embeds an ICC profile other than sRGB is "
    "converted to sRGB (as a colour-managed viewer shows it)",
}


class ImageLoadError(Exception):
    """An image that cannot be used: unreadable, truncated, empty or in a wrong mode."""


def check_image_mode(image_mode: str) -> str:
    if image_mode not in ACCEPTED_MODES:
        raise ValueError(f"image_mode: expected one of {list(IMAGE_MODES)}, got {image_mode!r}")
    return image_mode


def peek_mode(path: str | Path) -> str | None:
    """The PIL mode of an image file from its header, or ``None`` when it cannot be identified."""
    try:
        with Image.open(path, formats=IMAGE_FORMATS) as image:
            return image.mode
    except (OSError, SyntaxError, ValueError):
        return None


def letterbox_box(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """``(left, top, new_width, new_height)`` of an image scaled so its longer side is ``size``
    and centred on a ``size`` x ``size`` canvas."""
    scale = size / max(width, height)
    new_w = min(size, max(1, round(width * scale)))
    new_h = min(size, max(1, round(height * scale)))
    return (size - new_w) // 2, (size - new_h) // 2, new_w, new_h


# ``load_image``'s resize for a package exported before 2026-12-05 11:00: letterboxed with one
# colour, the mean of the whole border, in every margin (what its model was trained on).
PAD_BORDER = "pad_border"


def letterbox(image: Image.Image, size: int, per_edge: bool = True) -> np.ndarray:
    """``image`` (RGB) scaled to fit ``size`` x ``size`` with its aspect ratio kept; each margin
    takes the mean colour of the image's edge beside it, so it reads as background, not as a
    dark defect or an edge.

    One colour for every margin (the mean of the whole border) would differ from the edge it
    meets wherever the light falls off across the photo: a margin narrower than the contrast
    path's top-hat (a near-square photo, or 5:4 at the coarse scales) then reads as a thin dark
    or bright line the length of the image. ``per_edge=False``: that one colour, as models
    trained before 2026-12-05 11:00 saw their margins."""
    left, top, new_w, new_h = letterbox_box(image.width, image.height, size)
    pixels = np.asarray(image.resize((new_w, new_h), RESIZE_FILTER), dtype=np.uint8)
    canvas = np.empty((size, size, 3), dtype=np.uint8)
    if not per_edge:
        border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
        canvas[:] = np.rint(border.mean(axis=0)).astype(np.uint8)
        canvas[top : top + new_h, left : left + new_w] = pixels
        return canvas

    def colour(edge: np.ndarray) -> np.ndarray:
        return np.rint(edge.mean(axis=0)).astype(np.uint8)

    canvas[:top] = colour(pixels[0])
    canvas[top + new_h :] = colour(pixels[-1])
    canvas[:, :left] = colour(pixels[:, 0])
    canvas[:, left + new_w :] = colour(pixels[:, -1])
    canvas[top : top + new_h, left : left + new_w] = pixels
    return canvas


def load_image(
    source: str | Path | bytes,
    size: int,
    image_mode: str = "RGB",
    min_size: int = 1,
    max_pixels: int | None = None,
    resize: str = "squash",
) -> np.ndarray:
    """Decode ``source`` (a file, or the bytes of one, e.g. an upload), check its mode and size,
    and make it ``size`` x ``size``: ``resize="pad"`` keeps the aspect ratio (see
    :func:`letterbox`), ``"squash"`` stretches.

    Returns ``uint8`` of shape ``(size, size, 3)``; grey (``L``) sources are replicated to three
    channels so every backbone sees RGB input. Raises :class:`ImageLoadError` with the reason,
    also for an image narrower or lower than ``min_size`` pixels: upscaled, a thumbnail or a
    1x1 placeholder would be scored as if it showed the item; and for one of more than
    ``max_pixels`` pixels, refused from its header before it is decoded.
    """
    accepted = ACCEPTED_MODES[check_image_mode(image_mode)]
    try:
        opened = Image.open(
            io.BytesIO(source) if isinstance(source, bytes) else source, formats=IMAGE_FORMATS
        )
        with opened as image:
            if max_pixels is not None and image.width * image.height > max_pixels:
                raise ImageLoadError(
                    f"image is {image.width}x{image.height} = {image.width * image.height} "
                    f"pixels, more than the limit of {max_pixels}"
                )
            refuse_misread(image)
            # load() decodes the whole file: truncated or corrupt data fails here, not later.
            png_transparency(image)
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
            rgb = opaque(upright(image)).convert("RGB")
            if image_mode == "RGB":
                rgb = in_srgb(rgb, image.info.get("icc_profile"))
    except ImageLoadError:
        raise
    except FileNotFoundError as exc:
        raise ImageLoadError("file not found") from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError(
            f"not a readable image (corrupt, or not one of {', '.join(IMAGE_FORMATS)})"
        ) from exc
    except UNREADABLE as exc:
        raise ImageLoadError(f"cannot decode image ({exc})") from exc
    if resize in ("pad", PAD_BORDER) and rgb.width != rgb.height:
        return letterbox(rgb, size, per_edge=resize == "pad")
    if resize not in ("pad", PAD_BORDER, "squash"):
        raise ValueError(f"resize: expected 'pad' or 'squash', got {resize!r}")
    if rgb.size != (size, size):
        # Pillow's resampling filters are antialiased when shrinking.
        rgb = rgb.resize((size, size), RESIZE_FILTER)
    return np.asarray(rgb, dtype=np.uint8)


def image_size(source: str | Path) -> tuple[int, int] | None:
    """``(width, height)`` of an image file as displayed (EXIF orientation), from its header;
    ``None`` when unreadable."""
    try:
        with Image.open(source, formats=IMAGE_FORMATS) as image:
            width, height = image.width, image.height
            if image.format == "TIFF":
                # Pillow's TIFF reader reports a quarter-turned picture's size as displayed
                # already (and turns it when it loads), so swapping again gave the stored size:
                # a mask drawn on the displayed photo was refused as another picture's shape.
                # The header's own width and length (tags 256, 257) are the stored ones.
                width = image.tag_v2.get(256, width)
                height = image.tag_v2.get(257, height)
            if image.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8):  # a quarter turn
                return int(height), int(width)
            return int(width), int(height)
    except UNREADABLE:
        return None


def _resize_axis(mask: np.ndarray, n: int) -> np.ndarray:
    """``mask`` with ``n`` rows: nearest row when enlarging, OR of the covered rows when
    shrinking."""
    m = mask.shape[0]
    if n == m:
        return mask
    if n > m:
        return mask[np.arange(n) * m // n]
    out = np.zeros((n, *mask.shape[1:]), dtype=np.uint8)
    np.bitwise_or.at(out, np.arange(m) * n // m, mask)
    return out


def _resize_bits(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bit mask to ``height`` x ``width``, each axis on its own: nearest neighbour where it is
    enlarged, OR of the covered pixels where it shrinks (a cell keeps every bit of the pixels it
    covers, also when the other axis is enlarged, as squashing a wide strip does)."""
    if mask.shape == (height, width):
        return mask
    return _resize_axis(_resize_axis(mask, height).T, width).T


def load_mask(
    path: str | Path,
    size: int,
    resize: str = "squash",
    view_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """A per-view defect-bit mask (``schema.MASK_BITS``) at ``size`` x ``size``, placed as
    :func:`load_image` places its view (``resize``); bits survive shrinking.

    ``view_size`` is its view's ``(width, height)`` as displayed (:func:`image_size`): a mask
    of another shape (beyond a pixel of rounding at its own scale) is refused, as its bits
    would be placed over other pixels, e.g. a mask drawn on a camera's stored pixels beside a
    photo shown turned by its EXIF tag."""
    try:
        # The dataset formats only, as for its view (load_image): an EPS file runs Ghostscript
        # when decoded, and an icon decodes the PNG it holds, of any size, when opened.
        with Image.open(path, formats=IMAGE_FORMATS) as image:
            image.load()
            if image.mode != "L":
                raise ImageLoadError(f"mask mode {image.mode!r}; expected 8-bit grey 'L'")
            mask = np.asarray(upright(image), dtype=np.uint8)
    except ImageLoadError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageLoadError(
            f"not a readable mask (corrupt, or not one of {', '.join(IMAGE_FORMATS)})"
        ) from exc
    except UNREADABLE as exc:
        raise ImageLoadError(f"cannot decode mask ({exc})") from exc
    # A binary 0/255 mask (the usual segmentation format) would set every class's bit.
    strange = np.unique(mask[mask > ALL_MASK_BITS])
    if strange.size:
        bits = ", ".join(f"{name} {bit}" for name, bit in MASK_BITS.items())
        raise ImageLoadError(
            f"mask values {strange[:5].tolist()} set bits no defect class has (a pixel is the "
            f"sum of its classes' bits: {bits}; not a 0/255 binary mask)"
        )
    if view_size is not None:
        (width, height), (mask_h, mask_w) = view_size, mask.shape
        if abs(mask_w * height - mask_h * width) > max(width, height):
            raise ImageLoadError(
                f"mask is {mask_w}x{mask_h} pixels, its view {width}x{height} as displayed: "
                "not the same picture's shape"
            )
    if resize in ("pad", PAD_BORDER) and mask.shape[0] != mask.shape[1]:
        left, top, new_w, new_h = letterbox_box(mask.shape[1], mask.shape[0], size)
        canvas = np.zeros((size, size), dtype=np.uint8)
        canvas[top : top + new_h, left : left + new_w] = _resize_bits(mask, new_h, new_w)
        return canvas
    return _resize_bits(mask, size, size)
