"""Self-supervised pretraining refuses to return a backbone it never trained.

A batch of one image has no negative and is skipped, so ``batch_size=1`` (or a single image)
took no step: the untouched random backbone came back, with NaN losses, as if pretrained.
"""

from __future__ import annotations

import pytest
import torch

from training.pretrain import pretrain_backbone
from vision.config import ModelSpec
from vision.datasets import TensorItems

SPEC = ModelSpec(width=8, image_size=32, head_dim=16)


def _items(n: int) -> TensorItems:
    images = torch.randint(0, 256, (n, 1, 3, 32, 32), dtype=torch.uint8)
    return TensorItems(images, torch.zeros(n, 1))


def test_batches_of_one_image_are_refused():
    with pytest.raises(ValueError, match="batch_size: expected >= 2"):
        pretrain_backbone(_items(4), SPEC, 1, batch_size=1, progress=False)


def test_a_single_image_is_refused():
    with pytest.raises(ValueError, match="nothing was trained"):
        pretrain_backbone(_items(1), SPEC, 1, progress=False)


def test_pretraining_runs_on_deterministic_kernels_and_gives_the_flags_back(monkeypatch):
    """It runs before the trainer, which sets deterministic kernels for the supervised fit only:
    the SSL loop ran with whatever the process had (on a GPU, cuDNN's free choice), so the same
    seed need not give the same pretrained weights there."""
    from training import pretrain

    seen = []
    forward = pretrain._SimCLR.forward

    def spy(self, x):
        seen.append((torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark))
        return forward(self, x)

    monkeypatch.setattr(pretrain._SimCLR, "forward", spy)
    items = _items(6)
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.benchmark = True
    try:
        first, _ = pretrain_backbone(items, SPEC, 1, batch_size=3, progress=False)
        assert seen and all(s == (True, False) for s in seen)
        assert not torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.benchmark
        seen.clear()
        pretrain_backbone(items, SPEC, 1, batch_size=3, progress=False, deterministic=False)
        assert seen and all(s == (False, True) for s in seen)
    finally:
        torch.backends.cudnn.benchmark = False
    again, _ = pretrain_backbone(items, SPEC, 1, batch_size=3, progress=False)
    assert all(torch.equal(first[k], again[k]) for k in first)
