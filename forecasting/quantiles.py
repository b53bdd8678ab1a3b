"""Quantile outputs: the pinball loss and a parametrization whose quantiles cannot cross."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def median_index(quantiles: Sequence[float]) -> int:
    """Index of the level closest to 0.5: the anchor the other quantiles are stacked on."""
    return min(range(len(quantiles)), key=lambda i: abs(quantiles[i] - 0.5))


def monotone_quantiles(raw: torch.Tensor, anchor: int) -> torch.Tensor:
    """Map unconstrained outputs (..., Q) to non-decreasing quantiles.

    ``raw[..., anchor]`` is the central quantile; the others are reached from it by cumulative
    softplus steps upward and downward, so the quantiles are ordered by construction (no sorting,
    which would hide crossing from the loss instead of preventing it).
    """
    if raw.shape[-1] == 1:
        # One level is its own quantile. The empty steps either side made the ONNX exporter
        # declare the output with two levels (a package's graph said (batch, H, 2)).
        return raw
    center = raw[..., anchor : anchor + 1]
    up = torch.cumsum(F.softplus(raw[..., anchor + 1 :]), dim=-1)
    down = torch.cumsum(F.softplus(raw[..., :anchor].flip(-1)), dim=-1).flip(-1)
    return torch.cat([center - down, center, center + up], dim=-1)


def pinball_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    quantiles: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean quantile (pinball) loss of ``prediction`` (B, H, Q) against ``target`` (B, H)."""
    if mask is None:
        error = target.unsqueeze(-1) - prediction
        return torch.maximum(quantiles * error, (quantiles - 1) * error).mean()
    total, weight = pinball_sums(prediction, target, quantiles, mask)
    return total / weight.clamp(min=1.0)


def pinball_sums(
    prediction: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor, weight: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``weight`` (B, H)-weighted sum of the pinball terms and the sum of their weights:
    :func:`pinball_loss` is the first over the second; sums over batches (or ranks) divided
    once give the loss of all their windows together."""
    error = target.unsqueeze(-1) - prediction
    loss = torch.maximum(quantiles * error, (quantiles - 1) * error)
    weights = weight.unsqueeze(-1).expand_as(loss)
    return (loss * weights).sum(), weights.sum()
