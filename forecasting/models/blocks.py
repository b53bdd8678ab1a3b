"""The TFT's gating blocks as pytorch-forecasting defines them, with less work per call.

Same layers, initialization and dropout placement as pytorch-forecasting's ``GatedLinearUnit``,
``GateAddNorm`` and ``GatedResidualNetwork`` (for the equal input and output sizes the TFT uses
after variable selection; ``tests/test_tft.py`` loads their weights into these and compares).
The differences are in cost only:

* dropout draws its CPU mask cheaply (:mod:`forecasting.models.dropout`);
* a context (the static covariates) is given per series, (B, C), and broadcast over the time
  steps after its projection, instead of being expanded to (B, T, C) and projected at every step;
* without dropout (evaluation), a GRN's second layer and its gate's layer are multiplied into one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from forecasting.models.dropout import Dropout


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
        return F.glu(self.fc(x), dim=-1)


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
        h = F.elu(h)
        gate = self.gate_norm.glu
        if self.training and gate.dropout is not None and gate.dropout.p > 0:
            return self.gate_norm(self.fc2(h), x)
        # Without dropout between them, fc2 and the gate's layer are one linear map.
        weight = gate.fc.weight @ self.fc2.weight
        bias = torch.addmv(gate.fc.bias, gate.fc.weight, self.fc2.bias)
        return self.gate_norm.norm(F.glu(F.linear(h, weight, bias), dim=-1) + x)
