"""Defect masks supervise the class-activation cell that covers them, the cell the overlay draws
over those pixels and the contrast path puts a mark's evidence in, also on a partial grid (an
input size that is not a multiple of the backbone's stride)."""

import numpy as np
import pytest
import torch

from training.inspect_task import mask_cells


@pytest.mark.parametrize("side, stride", [(100, 32), (100, 16), (128, 32), (160, 32), (72, 16)])
def test_a_masked_pixel_teaches_the_cell_that_covers_it(side, stride):
    h = -(-side // stride)  # every stage rounds up
    rng = np.random.default_rng(side + stride)
    pixels = rng.integers(0, side, size=(64, 2))
    hit = torch.zeros(len(pixels), 1, side, side)
    for n, (y, x) in enumerate(pixels):
        hit[n, 0, y, x] = 1.0
    cells = mask_cells(hit, h, h)
    assert cells.shape == (len(pixels), 1, h, h)
    for n, (y, x) in enumerate(pixels):
        expected = torch.zeros(h, h)
        expected[y // stride, x // stride] = 1.0  # cells of `stride` px from the top-left
        assert torch.equal(cells[n, 0], expected), (side, stride, y, x)


def test_the_pit_s_evidence_and_its_mask_target_share_a_cell():
    # 100 px at stride 32: a pit at x = 80, y = 50 is in cell (1, 2), pixels 64-95 x 32-63,
    # where the contrast path's cell maximum puts it (tests/test_heatmap_cells.py); even bins
    # of 25 px taught cell (2, 3) instead.
    hit = torch.zeros(1, 1, 100, 100)
    hit[0, 0, 49:52, 79:82] = 1.0
    cells = mask_cells(hit, 4, 4)[0, 0]
    assert torch.nonzero(cells).tolist() == [[1, 2]]
