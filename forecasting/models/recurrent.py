"""LSTMs that also run under CPU bf16 autocast on every x86 CPU, and a stack of them."""

from __future__ import annotations

import torch
from torch import nn

from forecasting.models.dropout import Dropout


class LSTM(nn.LSTM):
    """``nn.LSTM`` (same weights and state-dict keys) that runs in fp32 under CPU autocast.

    oneDNN's bf16 LSTM needs AVX-512 BF16 instructions; on other CPUs (AVX2 only) it fails with
    "could not create a primitive descriptor", so CPU autocast would crash the network there.
    The recurrence is a small share of the cost, so it runs in fp32; CUDA autocast is unchanged.
    """

    def forward(self, input, hx=None):
        if input.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            # The weights' own dtype, not always fp32: autocast leaves a float64 (or bf16) LSTM
            # in its dtype, and a float32 input would fail nn.LSTM's dtype check for it.
            dtype = self.weight_ih_l0.dtype
            with torch.autocast("cpu", enabled=False):
                if hx is not None:
                    hx = tuple(h.to(dtype) for h in hx)
                return super().forward(input.to(dtype), hx)
        return super().forward(input, hx)


class StackedLSTM(nn.Module):
    """``nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, dropout=dropout)`` as a
    stack of one-layer :class:`LSTM` s with :class:`~forecasting.models.dropout.Dropout`
    between them (``nn.LSTM`` draws its inter-layer dropout with ``bernoulli_``, a tenth of an
    LSTM's training step on a CPU). The same function and the same (layers, B, hidden) states."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float = 0.0):
        super().__init__()
        self.layers = nn.ModuleList(
            LSTM(input_size if i == 0 else hidden_size, hidden_size, batch_first=True)
            for i in range(num_layers)
        )
        self.dropout = Dropout(dropout)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        hidden, cell = [], []
        for i, layer in enumerate(self.layers):
            if i:
                x = self.dropout(x)
            x, (h, c) = layer(
                x, None if state is None else (state[0][i : i + 1], state[1][i : i + 1])
            )
            hidden.append(h)
            cell.append(c)
        if len(self.layers) == 1:
            return x, (hidden[0], cell[0])
        return x, (torch.cat(hidden), torch.cat(cell))
