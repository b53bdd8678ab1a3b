"""Output heads shared by the networks: per-step and cumulative quantiles.

Planning needs the distribution of demand summed over the next k periods, and quantiles do not
add up. So every network also predicts quantiles of the cumulative demand of steps 1..h directly,
trained with the pinball loss against the running sums of the target. Demand is non-negative, so
each cumulative quantile grows with h: it is built as a running sum over h of non-negative
increments that also grow with the quantile level, which keeps it ordered in both directions.

With ``transform="log1p"`` the step head is fitted on ``log1p`` of the scaled demand (see
:data:`TARGET_TRANSFORMS`): its outputs are mapped back with ``expm1`` here, inside the network,
so every consumer (prediction, ensembles, the ONNX graph) sees quantiles of demand, and the
loss maps them forward again. Quantiles commute with a monotone map, so the levels keep their
meaning; what changes is that a spike weighs in the fit as a ratio, not in units.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from forecasting.config import TARGET_TRANSFORMS
from forecasting.quantiles import median_index, monotone_quantiles


class QuantileHeads(nn.Module):
    """(B, H, D) features -> step quantiles (B, H, Q) and cumulative quantiles (B, H, Q)."""

    def __init__(self, input_size: int, quantiles: Sequence[float], transform: str = "none"):
        super().__init__()
        if transform not in TARGET_TRANSFORMS:
            raise ValueError(
                f"target_transform: expected one of {list(TARGET_TRANSFORMS)}, got {transform!r}"
            )
        self.anchor = median_index(quantiles)
        self.transform = transform
        self.step = nn.Linear(input_size, len(quantiles))
        self.cumulative = nn.Linear(input_size, len(quantiles))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        steps = monotone_quantiles(self.step(features), self.anchor)
        if self.transform == "log1p":
            steps = torch.expm1(steps)
        increments = torch.cumsum(F.softplus(self.cumulative(features)), dim=-1)
        return steps, torch.cumsum(increments, dim=1)
