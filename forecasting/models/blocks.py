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
        bias = gate.fc.bias + gate.fc.weight @ self.fc2.bias  # (ONNX has no addmv)
        return self.gate_norm.norm(F.glu(F.linear(h, weight, bias), dim=-1) + x)


class GatedResidualNetworks(nn.Module):
    """``n`` :class:`GatedResidualNetwork` s of one input, (B, size) -> (n, B, size), each layer
    one batched product for all ``n`` (the TFT's four static contexts: a few rows each, where
    the cost is the number of operations, not their size)."""

    def __init__(self, n: int, size: int, dropout: float = 0.1):
        super().__init__()

        def kaiming() -> nn.Parameter:
            return nn.Parameter(torch.randn(n, size, size) * (2.0 / size) ** 0.5)

        bound = (6.0 / (3 * size)) ** 0.5  # xavier_uniform of a Linear(size, 2 * size)
        self.fc1, self.fc2 = kaiming(), kaiming()
        self.fc1_bias = nn.Parameter(torch.zeros(n, size))
        self.fc2_bias = nn.Parameter(torch.zeros(n, size))
        self.gate = nn.Parameter(torch.empty(n, size, 2 * size).uniform_(-bound, bound))
        self.gate_bias = nn.Parameter(torch.zeros(n, 2 * size))
        self.norm_weight = nn.Parameter(torch.ones(n, size))
        self.norm_bias = nn.Parameter(torch.zeros(n, size))
        self.dropout = Dropout(dropout)
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.elu(torch.matmul(x, self.fc1) + self.fc1_bias.unsqueeze(1))  # (n, B, size)
        if self.training and self.dropout.p > 0:
            h = self.dropout(torch.bmm(h, self.fc2) + self.fc2_bias.unsqueeze(1))
            gate, gate_bias = self.gate, self.gate_bias
        else:  # fc2 and the gate's layer are one linear map
            gate = self.fc2 @ self.gate
            gate_bias = (self.fc2_bias.unsqueeze(1) @ self.gate).squeeze(1) + self.gate_bias
        h = F.glu(torch.baddbmm(gate_bias.unsqueeze(1), h, gate), dim=-1) + x
        h = F.layer_norm(h, (self.size,))  # a constant shape, as ONNX tracing needs
        return torch.addcmul(self.norm_bias.unsqueeze(1), h, self.norm_weight.unsqueeze(1))
