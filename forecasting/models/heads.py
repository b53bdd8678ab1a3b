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

With ``transform="softplus"`` the step quantiles pass through a softplus, a monotone map onto
positive values, and are fitted on the scaled demand as without a transform. This is the output
side of pytorch-forecasting's ``GroupNormalizer(transformation="softplus")``: no quantile is
negative, so none is floored after the fact, and a quantile near 0 moves gently instead of
crossing into negative demand.

With ``distribution="negative_binomial"`` (:class:`NegativeBinomialHeads`) the step head
predicts a negative binomial mean and dispersion of each step's demand count instead, fitted by
likelihood; its quantiles come from that distribution (:mod:`forecasting.negbin`), so every
consumer still reads quantiles. The cumulative head is the same quantile head in both.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from forecasting.config import DISTRIBUTIONS, TARGET_TRANSFORMS
from forecasting.negbin import MIN_DISPERSION, NegativeBinomialQuantiles
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

    def forward(
        self, features: torch.Tensor, log_scale: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Step and cumulative quantiles of scaled demand (``log_scale``, (B,) ``log1p`` of
        each window's level, is what the negative binomial head needs; unused here)."""
        steps = monotone_quantiles(self.step(features), self.anchor)
        if self.transform == "log1p":
            steps = torch.expm1(steps)
        elif self.transform == "softplus":
            steps = F.softplus(steps)
        return steps, self.cumulative_quantiles(features)

    def cumulative_quantiles(self, features: torch.Tensor) -> torch.Tensor:
        increments = torch.cumsum(F.softplus(self.cumulative(features)), dim=-1)
        return torch.cumsum(increments, dim=1)


class NegativeBinomialHeads(QuantileHeads):
    """(B, H, D) features -> a negative binomial per step, given as its quantiles (B, H, Q)
    of scaled demand, and the cumulative quantiles (B, H, Q) of :class:`QuantileHeads`.

    The distribution is of the count itself (scaled demand times the window's level): a mean
    of 0.3 units has most of its mass at 0, a mean of 300 is nearly symmetric, and a scaled
    distribution could not tell the two apart. The dispersion is free per step and window.
    """

    def __init__(self, input_size: int, quantiles: Sequence[float]):
        super().__init__(input_size, quantiles)
        self.step = nn.Linear(input_size, 2)
        self.quantile_of = NegativeBinomialQuantiles(quantiles)

    def distribution(
        self, features: torch.Tensor, log_scale: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and dispersion (B, H) of each step's demand count."""
        raw = self.step(features).float()
        scale = torch.expm1(log_scale.float())[:, None]
        mean = F.softplus(raw[..., 0]) * scale
        return mean, F.softplus(raw[..., 1]) + MIN_DISPERSION

    def forward(
        self, features: torch.Tensor, log_scale: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mean, dispersion = self.distribution(features, log_scale)
        scale = torch.expm1(log_scale.float()).clamp(min=1e-6)[:, None, None]
        # Kept in float32: under autocast the features may be bfloat16 (the LSTM's head), whose
        # 8-bit mantissa would move a count of 71 units to 70.8 and 551.7 to 549.9.
        steps = self.quantile_of(mean, dispersion) / scale
        return steps, self.cumulative_quantiles(features)


class ForecastNetwork(nn.Module):
    """A network whose :meth:`features` (B, H, D) per forecast step are read by ``self.heads``.

    The inputs are the tensors of :data:`forecasting.windows.BATCH_KEYS`, ``static_real``
    last, whose last column is ``log1p`` of each window's level (what the negative binomial
    head scales its counts by). Training with a likelihood calls :meth:`features` and the
    heads' distribution directly; everything else calls the network for its quantiles.
    """

    heads: QuantileHeads

    def features(self, *inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Step and cumulative quantiles (B, H, Q) of scaled demand."""
        return self.heads(self.features(*inputs), inputs[-1][:, -1])


def gives_counts(net: nn.Module) -> bool:
    """Whether ``net``'s step quantiles are whole counts (a negative binomial head), also
    where an ensemble of such networks (``members``) averages them: a count its members agree
    on comes back whole only after :func:`snap_counts`, as a single network's does."""
    members = getattr(net, "members", None)
    if members is not None:
        return len(members) > 0 and all(gives_counts(m) for m in members)
    return isinstance(getattr(net, "heads", None), NegativeBinomialHeads)


def snap_counts(values: torch.Tensor, tolerance: float = 1e-5) -> torch.Tensor:
    """Whole counts back from step quantiles multiplied by their window's level.

    :class:`NegativeBinomialHeads` returns counts divided by ``expm1(log_scale)`` in float32
    and the caller multiplies by the float32 level: ``7`` comes back as ``6.9999995`` or
    ``7.0000005``, which ``int()`` truncates and ``ceil`` rounds up a unit. A value within
    ``tolerance`` (relative) of a whole number is that number; a quantile sliding between two
    counts moves by at most that much.
    """
    whole = torch.round(values)
    close = (values - whole).abs() <= tolerance * whole.abs().clamp(min=1.0)
    return torch.where(close, whole, values)


def make_heads(
    input_size: int, quantiles: Sequence[float], transform: str, distribution: str
) -> QuantileHeads:
    """The output heads a network's settings ask for."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"distribution: expected one of {list(DISTRIBUTIONS)}, got {distribution!r}"
        )
    if distribution == "negative_binomial":
        if transform != "none":
            raise ValueError(
                "target_transform: a negative binomial head fits counts, not a transform of "
                f"them; use target_transform='none' with it (got {transform!r})"
            )
        return NegativeBinomialHeads(input_size, quantiles)
    return QuantileHeads(input_size, quantiles, transform)
