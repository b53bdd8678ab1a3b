"""Dropout with a cheaper mask on CPUs.

``nn.Dropout`` draws its CPU mask with ``bernoulli_``: one float draw per element, about a tenth
of a TFT training step on a CPU. :class:`Dropout` takes 16 random bits per element from the
same generator (a quarter of an int64 draw) and keeps an element when they are at or above
``round(p * 2**16)``, so the drop rate is ``p`` to within 2**-17, and scales the kept ones by
the exact inverse of the keep rate. The comparison writes the mask in ``x``'s dtype and the
scale is folded into it: a boolean mask would be converted to floats by the product, in the
forward and again in the backward (about 5% of a TFT training step on a CPU). On other
devices (CUDA's fused kernel is fast) and in evaluation it is ``nn.Dropout``: identity, so
exported graphs never see it.
"""

from __future__ import annotations

import torch
from torch import nn

_LEVELS = 1 << 16


def _cpu_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    threshold = round(p * _LEVELS)
    if threshold <= 0:
        return x
    if threshold >= _LEVELS:
        return torch.zeros_like(x)
    words = torch.empty((x.numel() + 3) // 4, dtype=torch.int64).random_(-(2**63), None)
    bits = words.view(torch.int16)[: x.numel()].view(x.shape)  # uniform over all 2**16 values
    mask = torch.ge(bits, threshold - _LEVELS // 2, out=torch.empty(x.shape, dtype=x.dtype))
    return x * mask.mul_(_LEVELS / (_LEVELS - threshold))


class Dropout(nn.Dropout):
    """``nn.Dropout`` (same ``p``, no state) with a 16-bit mask on CPU; see the module doc."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.p > 0 and x.device.type == "cpu" and not self.inplace:
            return _cpu_dropout(x, self.p)
        return super().forward(x)


def use_fast_dropout(module: nn.Module) -> nn.Module:
    """Replace every ``nn.Dropout`` inside ``module`` by :class:`Dropout` (in place)."""
    for parent in module.modules():
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:
                setattr(parent, name, Dropout(child.p, child.inplace))
    return module
