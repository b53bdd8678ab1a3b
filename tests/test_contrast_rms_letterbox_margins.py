"""The contrast path reads a mark in units of the photo's own texture, whatever the photo's
shape: a letterboxed 16:9 or 4:1 photo's flat margins are not texture. Counted in the root mean
square, they made the same pit in the same texture read 1.3x (16:9) to 1.9x (4:1) as strong as
in a square photo, and every texture peak with it, so a wide good photo looked marked."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from vision.catalog import REF_DIM
from vision.images import load_image
from vision.model import InspectionNet, ModelSpec, apply_transform, picture_pixels

SIZE = 128


def _photo(height: int) -> np.ndarray:
    """A 128 x ``height`` textured grey photo with a 4 px pit at its centre, letterboxed as
    the model reads it (its longer side is the model's: no rescaling)."""
    rng = np.random.default_rng(0)
    texture = np.clip(150 + rng.normal(0, 6, (SIZE, SIZE)), 0, 255)
    top = (SIZE - height) // 2
    photo = texture[top : top + height].astype(np.uint8)  # the same pixels around the pit
    photo[height // 2 - 2 : height // 2 + 2, 62:66] = 70
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="PNG")
    return load_image(buffer.getvalue(), SIZE, "L", resize="pad")


def _pit_evidence(net: InspectionNet, pixels: np.ndarray) -> float:
    """What the black top-hat adds to the pit's cell of class 0's heatmap."""
    images = torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None, None].float() / 255
    mask, catalog = torch.ones(1, 1), torch.zeros(1, REF_DIM)

    def cell(weight: float) -> float:
        with torch.no_grad():
            net.contrast_head.weight.fill_(-1.0e4)  # softplus: a weight of 0
            net.contrast_head.bias.zero_()
            net.contrast_head.weight[0, 0] = weight
            return float(net(images, mask, catalog)[2][0, 0, 0, 3, 3])

    return cell(float(np.log(np.e - 1))) - cell(-1.0e4)  # softplus weight 1 minus 0


def test_a_pit_reads_the_same_in_a_square_and_a_wide_photo():
    torch.manual_seed(0)
    spec = ModelSpec(width=8, image_size=SIZE, head_dim=16, contrast=7, mark_scales=1)
    net = InspectionNet(spec, 2, 1).eval()
    square = _pit_evidence(net, _photo(128))
    for height in (72, 32):  # 16:9 and 4:1
        wide = _pit_evidence(net, _photo(height))
        assert 0.85 < wide / square < 1.15, (height, wide, square)


@pytest.mark.parametrize("turns, flip", [(0, False), (1, False), (2, True), (3, True)])
def test_the_picture_is_found_however_the_canvas_is_turned(turns, flip):
    pixels = torch.from_numpy(_photo(72).copy()).permute(2, 0, 1)[None].float() / 255
    grey = apply_transform(pixels.mean(dim=1, keepdim=True), turns, flip)
    weights = picture_pixels(grey)[0, 0]
    expected = torch.zeros(SIZE, SIZE)
    expected[28:100] = 1  # 72 rows of the photo between margins of 28
    torch.testing.assert_close(weights, apply_transform(expected, turns, flip))


def test_flat_pictures_and_flat_edges_are_the_pictures_own():
    flat = torch.full((1, 1, 64, 64), 0.5)
    assert picture_pixels(flat).eq(1).all()
    overexposed = torch.rand(1, 1, 64, 64)
    overexposed[..., :10, :] = 1.0  # ten saturated rows at the top only: not a letterbox
    assert picture_pixels(overexposed).eq(1).all()
