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
