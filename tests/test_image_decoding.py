"""How an image file becomes pixels: the same picture reads the same, the letterbox margin
reads as background, and the grey-or-colour choice is the folders' majority.
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from vision.images import letterbox_box, load_image, load_mask
from vision.items import majority_mode, read_class_folders
from vision.model import RMS_FLOOR, top_hats

# The letterbox margin reads as background to the contrast path, also where it is thin.


def _marks(pixels: np.ndarray, scale: int) -> torch.Tensor:
    """The contrast path's top-hats over their RMS at one of its scales (as InspectionNet)."""
    grey = torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].float().div(255)
    grey = grey.mean(dim=1, keepdim=True)
    if scale > 1:
        grey = F.avg_pool2d(grey, scale, ceil_mode=True)
    marks = top_hats(grey, 7)
    return (marks / (marks.square().mean(dim=(2, 3), keepdim=True).sqrt() + RMS_FLOOR))[0]


def test_thin_letterbox_margin_is_no_mark(tmp_path):
    # A defect-free 270 x 256 photo (nearly square: 6-7 px margins at 256) whose light falls off
    # from top (150) to bottom (110), with a little texture, as a tunnel or bench photo has.
    rng = np.random.default_rng(0)
    grey = np.linspace(150, 110, 256)[:, None] + rng.normal(0, 3, (256, 270))
    pixels = np.clip(grey, 0, 255).astype(np.uint8)
    Image.fromarray(np.dstack([pixels] * 3)).save(tmp_path / "photo.png")
    padded = load_image(tmp_path / "photo.png", 256, resize="pad")
    _, top, _, new_h = letterbox_box(270, 256, 256)
    assert 0 < top < 8
    for scale in (1, 2, 4):
        marks = _marks(padded, scale)
        lo, hi = -(-top // scale), (top + new_h) // scale  # rows of the picture alone
        inside = marks[:, lo:hi].amax(dim=(1, 2))
        whole = marks.amax(dim=(1, 2))
        # The margin adds no mark stronger than the photo's own texture (a 20-level scratch
        # reads about 5 here; with one colour for every margin the margin read 5.7 and 6.3).
        assert (whole <= 1.25 * inside).all(), (scale, whole.tolist(), inside.tolist())


def test_each_margin_takes_the_colour_of_its_own_edge(tmp_path):
    pixels = np.zeros((40, 80, 3), np.uint8)
    pixels[:20] = (200, 180, 160)  # bright top half
    pixels[20:] = (40, 60, 80)  # dark bottom half
    Image.fromarray(pixels).save(tmp_path / "two_tone.png")
    padded = load_image(tmp_path / "two_tone.png", 64, resize="pad")
    assert (padded[:16] == (200, 180, 160)).all()  # above: the top edge's colour
    assert (padded[48:] == (40, 60, 80)).all()  # below: the bottom edge's colour


# The image mode chosen from class folders is the mode of most of their images.


def _write(folder, count, mode, rng):
    folder.mkdir(parents=True)
    for i in range(count):
        if mode == "I;16":
            Image.fromarray(rng.integers(0, 65536, (8, 8)).astype(np.uint16)).save(
                folder / f"{i}.png"
            )
        else:
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).convert(mode).save(folder / f"{i}.png")


def test_mode_is_read_over_every_class_folder(tmp_path):
    # 210 grey crack photos come first in folder order, then 400 colour good ones: most images
    # are colour. Read from the first 200 files only, the model became grey and every good
    # photo was refused ("mode 'RGB' is not accepted for a L model"), so the fit trained on
    # cracks alone.
    rng = np.random.default_rng(0)
    _write(tmp_path / "crack", 210, "L", rng)
    _write(tmp_path / "good", 400, "RGB", rng)
    assert majority_mode(read_class_folders(tmp_path)) == "RGB"


def test_mode_vote_reaches_the_last_folder(tmp_path):
    # 20 colour crack photos, then 25 grey good ones: most images are grey. With a step of
    # 45 // 30 = 1 the vote (up to 30 images) stopped at the 30th, 20 of them cracks, and the
    # model became colour (every grey good photo refused); the default limit of 200 did the
    # same to 200 colour cracks and 300 grey good photos.
    rng = np.random.default_rng(2)
    _write(tmp_path / "crack", 20, "RGB", rng)
    _write(tmp_path / "good", 25, "L", rng)
    assert majority_mode(read_class_folders(tmp_path), limit=30) == "L"


def test_unusable_modes_do_not_vote(tmp_path):
    # 16-bit files are refused by either model; the 8-bit grey ones decide.
    rng = np.random.default_rng(1)
    _write(tmp_path / "crack", 6, "I;16", rng)
    _write(tmp_path / "good", 4, "L", rng)
    assert majority_mode(read_class_folders(tmp_path)) == "L"


# What lies under a transparent pixel is not part of the picture a model reads.


def _encoded(pixels: np.ndarray, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _cut_out(under: tuple[int, int, int]) -> np.ndarray:
    """A 40 x 60 photo whose left 12 columns are cut away (alpha 0) with ``under`` stored there."""
    rng = np.random.default_rng(0)
    rgb = (np.full((40, 60, 3), (120, 140, 160)) + rng.integers(0, 20, (40, 60, 3))).astype(
        np.uint8
    )
    alpha = np.full((40, 60), 255, np.uint8)
    alpha[:, :12] = 0
    rgb[:, :12] = under
    return np.dstack([rgb, alpha])


def test_pictures_that_look_alike_read_alike():
    # The same cut-out saved by tools that store black, white or grey under the cut: a viewer
    # shows three identical pictures; the model read pixels 175 grey levels apart.
    loaded = [
        load_image(_encoded(_cut_out(under)), 32, resize="pad")
        for under in ((0, 0, 0), (255, 255, 255), (120, 140, 160))
    ]
    for other in loaded[1:]:
        np.testing.assert_array_equal(other, loaded[0])
    # and as lossless WebP, whose encoder clears the colour under transparent pixels
    webp = load_image(_encoded(_cut_out((255, 255, 255)), "WEBP", lossless=True), 32, resize="pad")
    np.testing.assert_array_equal(webp, loaded[0])


def test_palette_transparency_is_transparency():
    pixels = np.zeros((20, 20), np.uint8)
    pixels[5:15, 5:15] = 1
    pictures = []
    for hidden in ((255, 0, 0), (0, 0, 255)):
        image = Image.fromarray(pixels, "P")
        image.putpalette([*hidden, 90, 90, 90] + [0] * 762)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", transparency=0)
        pictures.append(load_image(buffer.getvalue(), 20))
    np.testing.assert_array_equal(pictures[0], pictures[1])
    assert (pictures[0][10, 10] == 90).all()


def _reference(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """Brute force: an output cell ORs the input pixels that fall in it (shrinking axis) or
    takes the nearest input pixel (enlarging axis), each axis on its own."""
    h, w = mask.shape

    def sources(n_in, n_out, j):
        if n_out > n_in:
            return [j * n_in // n_out]
        return [i for i in range(n_in) if i * n_out // n_in == j]

    out = np.zeros((height, width), np.uint8)
    for r in range(height):
        for c in range(width):
            v = 0
            for i in sources(h, height, r):
                for k in sources(w, width, c):
                    v |= int(mask[i, k])
            out[r, c] = v
    return out


def test_squashed_strip_keeps_a_thin_crack(tmp_path):
    mask = np.zeros((64, 512), np.uint8)
    mask[:, 3] = 1  # damage bit on one column
    Image.fromarray(mask).save(tmp_path / "m.png")
    out = load_mask(tmp_path / "m.png", 128, "squash")
    assert int(np.bitwise_or.reduce(out, axis=None)) == 1
    np.testing.assert_array_equal(out, _reference(mask, 128, 128))
    tall = np.ascontiguousarray(mask.T) * 2
    Image.fromarray(tall).save(tmp_path / "t.png")
    np.testing.assert_array_equal(
        load_mask(tmp_path / "t.png", 128, "squash"), _reference(tall, 128, 128)
    )


def test_random_masks_match_the_reference(tmp_path):
    rng = np.random.default_rng(0)
    for h, w, size in [(20, 50, 32), (50, 20, 32), (40, 40, 16), (10, 12, 32), (33, 7, 24)]:
        mask = (rng.random((h, w)) < 0.03).astype(np.uint8) << rng.integers(0, 4, (h, w))
        mask = mask.astype(np.uint8)
        Image.fromarray(mask).save(tmp_path / "r.png")
        np.testing.assert_array_equal(
            load_mask(tmp_path / "r.png", size, "squash"), _reference(mask, size, size)
        )
