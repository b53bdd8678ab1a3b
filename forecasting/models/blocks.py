"""The TFT's gating blocks, as pytorch-forecasting defines them, cheaper to differentiate.

Same layers, initialization and dropout placement as pytorch-forecasting's ``GatedLinearUnit``,
``GateAddNorm`` and ``GatedResidualNetwork`` (for the equal input and output sizes the TFT uses
after variable selection; ``tests/test_tft.py`` loads their weights into these and compares).
Two differences, both in cost only:

* the gate is ``a * sigmoid(b)`` rather than ``F.glu``: the same function, but on CPUs the
  backward of ``glu`` is a slow composite, about twice the cost of ``mul`` and ``sigmoid``'s;
* a context (the static covariates) is given per series, (B, C), and broadcast over the time
  steps after its projection, instead of being expanded to (B, T, C) and projected at every step.
"""

from __future__ import annotations

import torch
from torch import nn

from forecasting.models.dropout import Dropout


def glu(x: torch.Tensor) -> torch.Tensor:
    """``F.glu(x, dim=-1)``: the first half of the last axis gated by the second."""
    value, gate = x.chunk(2, dim=-1)
    return value * torch.sigmoid(gate)


class GatedLinearUnit(nn.Module):
    """Dropout, ``Linear(input, 2 * hidden)``, gate: (..., input) -> (..., hidden)."""

    def __init__(
        self, input_size: int, hidden_size: int | None = None, dropout: float | None = None
    ):
        super().__init__()
        self.dropout = Dropout(dropout) if dropout is not None else None
        self.fc = nn.Linear(input_size, 2 * (hidden_size or input_size))
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dropout is not None:
            x = self.dropout(x)
        return glu(self.fc(x))


class GateAddNorm(nn.Module):
    """``LayerNorm(glu(x) + skip)``."""

    def __init__(self, input_size: int, dropout: float | None = None):
        super().__init__()
        self.glu = GatedLinearUnit(input_size, dropout=dropout)
        self.norm = nn.LayerNorm(input_size)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.norm(self.glu(x) + skip)


class GatedResidualNetwork(nn.Module):
    """``LayerNorm(x + glu(fc2(elu(fc1(x) + context(c)))))`` over (..., size) inputs; a context
    (B, context_size) is broadcast over every axis between the batch and the features."""

    def __init__(self, size: int, dropout: float = 0.1, context_size: int | None = None):
        super().__init__()
        self.fc1 = nn.Linear(size, size)
        self.context = nn.Linear(context_size, size, bias=False) if context_size else None
        self.fc2 = nn.Linear(size, size)
        self.gate_norm = GateAddNorm(size, dropout=dropout)
        for layer in (self.fc1, self.fc2):
            nn.init.kaiming_normal_(layer.weight, a=0, mode="fan_in", nonlinearity="leaky_relu")
            nn.init.zeros_(layer.bias)
        if self.context is not None:
            nn.init.xavier_uniform_(self.context.weight)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        h = self.fc1(x)
        if context is not None and self.context is not None:
            c = self.context(context)
            h = h + c.view(c.shape[0], *([1] * (h.ndim - 2)), c.shape[-1])
        h = self.fc2(nn.functional.elu(h))
        return self.gate_norm(h, x)
