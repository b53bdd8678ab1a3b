"""Several networks of the same inputs as one: their quantiles averaged level by level.

Averaging quantiles (Vincentization) of networks trained from different seeds cancels much of
what one seed's initialization and window draw got wrong, at the cost of running each member;
the average of non-crossing, non-negative quantiles is non-crossing and non-negative. Being one
module with the members' forward signature, an ensemble is trained member by member, saved as
one state dict, exported as one ONNX graph and interpreted (TFT) like a single network.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class EnsembleNet(nn.Module):
    """The level-wise mean of the step and cumulative quantiles of ``members``."""

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member network")
        self.members = nn.ModuleList(members)
        # The variable names an interpretation reads (TFT members) are the members' own.
        for name in ("static_names", "encoder_names", "decoder_names"):
            if hasattr(members[0], name):
                setattr(self, name, getattr(members[0], name))

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Each member's forecast is floored at zero demand (as a single network's is when it is
        # unscaled) before averaging: the ensemble is the mean of the members' forecasts.
        outputs = [member(*inputs) for member in self.members]
        steps = torch.stack([o[0].clamp(min=0.0) for o in outputs]).mean(dim=0)
        cumulative = torch.stack([o[1].clamp(min=0.0) for o in outputs]).mean(dim=0)
        return steps, cumulative

    def interpret(self, *inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """The members' forecasts, variable weights and attention, averaged (TFT members)."""
        outputs = [member.interpret(*inputs) for member in self.members]
        return {key: torch.stack([o[key] for o in outputs]).mean(dim=0) for key in outputs[0]}
