"""Heatmap overlays put each class-activation cell over the pixels it covers, also when the
input size is not a multiple of the backbone's stride (the grid then ends in a partial cell)."""

import numpy as np
import pytest
import torch

from vision.config import ModelSpec
from vision.heatmap import overlay
from vision.model import InspectionNet, apply_transform, keeps_corner, tta_transforms


def _hot_centre(side: int, logits: np.ndarray) -> tuple[float, float]:
    """Centre (x, y), in input pixels, of where the overlay of ``logits`` is hot."""
    image = np.full((side, side, 3), 128, np.uint8)
    hot = np.asarray(overlay(image, logits)).astype(float)
    cold = np.asarray(overlay(image, np.full_like(logits, -10.0))).astype(float)
    diff = np.abs(hot - cold).sum(axis=2)
    ys, xs = np.nonzero(diff > 0.5 * diff.max())
    scale = diff.shape[0] / side
    return (xs.mean() + 0.5) / scale, (ys.mean() + 0.5) / scale


def test_a_cell_of_a_partial_grid_is_drawn_over_its_own_pixels():
    # 100 px at stride 32: 4 cells of 32 px from the top-left (the last covers 96-99)
    logits = np.full((4, 4), -10.0)
    logits[1, 2] = 10.0  # pixels x 64-95, y 32-63
    x, y = _hot_centre(100, logits)
    assert abs(x - 80) < 4 and abs(y - 48) < 4, (x, y)


def test_exact_grids_are_unchanged():
    logits = np.full((4, 4), -10.0)
    logits[2, 1] = 10.0  # 128 px at stride 32: pixels x 32-63, y 64-95
    x, y = _hot_centre(128, logits)
    assert abs(x - 48) < 3 and abs(y - 80) < 3, (x, y)


def _pit_map(side: int, tta: str, x: int, y: int) -> np.ndarray:
    """The class-activation map of a network that sees only dark marks, for a pit at (x, y)."""
    torch.manual_seed(0)
    spec = ModelSpec(
        image_size=side, output_stride=32, contrast=7, tta=tta, mark_scales=1,
        width=8, head_dim=8, embed_dim=4,
    )  # fmt: skip
    net = InspectionNet(spec, 1, 1).eval()
    with torch.no_grad():
        net.local_head.weight.zero_()
        net.local_head.bias.zero_()
        net.contrast_head.weight.fill_(1.0)
        net.contrast_head.bias.zero_()
    image = np.full((side, side, 3), 180, np.uint8)
    image[y - 1 : y + 2, x - 1 : x + 2] = 20
    pixels = torch.from_numpy(image).permute(2, 0, 1)[None, None].float() / 255
    with torch.no_grad():
        return net(pixels, torch.ones(1, 1), torch.zeros(1, 7))[2][0, 0, 0].numpy()


def test_the_network_s_mark_shows_where_the_mark_is():
    side = 100
    maps = _pit_map(side, "none", 92, 50)  # a dark pit at x = 92, y = 50
    row, col = np.unravel_index(np.argmax(maps), maps.shape)
    assert (row, col) == (1, 2)  # the cell holding pixels 64-95 x 32-63
    x, _ = _hot_centre(side, np.where(maps == maps.max(), 10.0, -10.0))
    assert 64 <= x <= 96, x


@pytest.mark.parametrize("tta", ["hflip", "flips", "dihedral"])
def test_test_time_augmentation_keeps_the_mark_in_its_cell_on_a_partial_grid(tta):
    # 100 px at stride 32: the pit at x = 80, y = 50 is in cell (1, 2) (pixels 64-95 x 32-63).
    # Mirrored, the partial cell comes first and the pit falls in the mirrored image's cell 0,
    # which turned back is cell 3: the mirror's map put half the heat on pixels 96-99.
    maps = _pit_map(100, tta, 80, 50)
    hot = np.argwhere(maps > 0.5 * maps.max())
    assert hot.tolist() == [[1, 2]], maps.round(2)
    # Where the grid is exact every transform still contributes, as before.
    assert np.allclose(_pit_map(128, tta, 80, 50), _pit_map(128, "none", 80, 50), atol=1e-4)


def test_keeps_corner_names_the_transforms_that_keep_the_top_left_pixel():
    grid = torch.arange(12).view(3, 4)
    for turns, flip in tta_transforms("dihedral"):
        kept = int(apply_transform(grid, turns, flip)[0, 0]) == 0
        assert keeps_corner(turns, flip) == kept, (turns, flip)
