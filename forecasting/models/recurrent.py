"""An ``nn.LSTM`` that also runs under CPU bf16 autocast on every x86 CPU."""

from __future__ import annotations

import torch
from torch import nn


class LSTM(nn.LSTM):
    """``nn.LSTM`` (same weights and state-dict keys) that runs in fp32 under CPU autocast.

    oneDNN's bf16 LSTM needs AVX-512 BF16 instructions; on other CPUs (AVX2 only) it fails with
    "could not create a primitive descriptor", so CPU autocast would crash the network there.
    The recurrence is a small share of the cost, so it runs in fp32; CUDA autocast is unchanged.
    """

    def forward(self, input, hx=None):
        if input.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                if hx is not None:
                    hx = tuple(h.float() for h in hx)
                return super().forward(input.float(), hx)
        return super().forward(input, hx)
