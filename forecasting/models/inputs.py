"""What a network needs to know about its inputs, derived from a store and saved with a run."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from forecasting.store import PanelStore


@dataclass(frozen=True)
class InputDims:
    """Sizes of the batch tensors of :data:`forecasting.windows.BATCH_KEYS`."""

    static_cat_cards: tuple[int, ...]
    known_cat_cards: tuple[int, ...]
    n_known_real: int
    n_observed_real: int
    n_static_real: int  # includes log1p(scale), appended by the window cutter
    static_cat_names: tuple[str, ...] = ()
    known_cat_names: tuple[str, ...] = ()
    known_real_names: tuple[str, ...] = ()
    observed_real_names: tuple[str, ...] = ()
    static_real_names: tuple[str, ...] = ()
    season: int = 0
    """Periods per season: the networks read the demand one season earlier as an input
    (:func:`seasonal_inputs`); 0 (runs saved before it existed) reads none."""
    flags_as_levels: bool = False
    """The TFT reads its 0/1 observation flags (``observed``, ``seasonal_lag_observed``) as
    two-level categoricals; False (runs saved before) reads them as real inputs."""
    lag_before_season: bool = False
    """Where the encoder is shorter than a season, forecast steps whose period one season back
    lies in the encoder read it (:func:`seasonal_inputs`); False (runs saved before) reads 0
    at every step there, as those networks were trained."""

    @property
    def seasonal_names(self) -> tuple[str, ...]:
        """The derived inputs that :func:`seasonal_inputs` adds to encoder and decoder."""
        return SEASONAL_NAMES if self.season else ()

    @classmethod
    def from_store(cls, store: PanelStore) -> InputDims:
        spec = store.spec
        return cls(
            static_cat_cards=tuple(store.cardinalities[n] for n in store.static_cat_names),
            known_cat_cards=tuple(store.cardinalities[n] for n in store.known_cat_names),
            n_known_real=store.n_known_real,
            n_observed_real=store.n_observed_real,
            n_static_real=store.static_real.shape[1] + 1,
            static_cat_names=store.static_cat_names,
            known_cat_names=store.known_cat_names,
            known_real_names=tuple(n for b in store.known_real for n in b.names),
            observed_real_names=tuple(n for b in store.observed_real for n in b.names),
            static_real_names=(*spec.static_reals, "log_scale"),
            season=spec.season,
            flags_as_levels=True,
            lag_before_season=True,
        )

    def to_dict(self) -> dict:
        """The fields as plain JSON types (tuples become lists), as a manifest keeps them."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, values: dict) -> InputDims:
        """The inverse of :meth:`to_dict` (lists become tuples)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


SEASONAL_NAMES = ("seasonal_lag", "seasonal_lag_observed")


def seasonal_inputs(
    encoder_target: torch.Tensor,
    encoder_mask: torch.Tensor,
    horizon: int,
    season: int,
    lag_before_season: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The scaled demand one season earlier and whether it was observed, for every encoder
    period (B, L, 2) and every forecast step (B, H, 2).

    A forecast step ``h`` reads the last observed cycle (``t - season``, ``t - 2 season``...,
    the seasonal-naive forecast), so the network starts from what seasonal naive knows and
    learns what to change: without it an LSTM or attention has to find the yearly peak of a
    monthly series among 48 inputs, and monthly networks fell behind seasonal naive. Periods
    the encoder does not reach read 0, flagged unobserved: with an encoder shorter than a
    season (60 weeks of history, horizon 13: 47 weeks, season 52) the first ``season - L``
    steps, while later steps read the encoder. ``lag_before_season=False`` (runs saved before,
    :attr:`InputDims.lag_before_season`) reads 0 at every step when ``season > L``.
    """
    batch, length = encoder_target.shape
    values = torch.stack([encoder_target, encoder_mask], dim=-1)  # (B, L, 2)
    if season > length:
        encoder = values.new_zeros(batch, length, 2)
        if not lag_before_season:
            return encoder, values.new_zeros(batch, horizon, 2)
        steps = length - season + torch.arange(horizon, device=values.device) % season
        # Steps whose period one season back precedes the encoder (steps < 0) read 0.
        reached = (steps >= 0).view(1, horizon, 1)
        picked = values.index_select(1, steps.clamp(min=0))
        return encoder, torch.where(reached, picked, torch.zeros_like(picked))
    encoder = F.pad(values[:, : length - season], (0, 0, season, 0))
    steps = length - season + torch.arange(horizon, device=values.device) % season
    return encoder, values.index_select(1, steps)


def embedding_size(cardinality: int) -> int:
    """A common rule of thumb (fast.ai): grows sub-linearly with the number of levels."""
    return max(2, min(32, round(1.6 * cardinality**0.56)))


DENSE_LOOKUP_LEVELS = 96
"""Tables up to this many rows are looked up on a CPU as a product with a one-hot matrix."""


def lookup_sum(
    table: torch.Tensor, codes: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """``sum_j weights[:, j] * table[codes[:, j]]`` for (R, C) codes: rows of ``table`` looked up
    and summed in one ``embedding_bag``, without the (R, C, D) tensor a gather would make. An
    export (ONNX) gets the gather: exporters turn ``embedding_bag`` into a loop over rows.

    On a CPU, a small table (the calendar's and events' levels) is read as ``onehot @ table``
    instead: ``embedding_bag``'s backward sorts the codes and accumulates row by row, two to
    three times the cost of the two small products (measured at 57 levels; from about 100
    levels up the one-hot matrix costs more)."""
    if torch.compiler.is_exporting() or torch.onnx.is_in_onnx_export():
        picked = table.index_select(0, codes.reshape(-1)).view(*codes.shape, -1)
        if weights is not None:
            picked = picked * weights.unsqueeze(-1)
        return picked.sum(dim=1)
    dense = table.device.type == "cpu" and not torch.is_autocast_enabled("cpu")
    if dense and table.shape[0] <= DENSE_LOOKUP_LEVELS:
        counts = weights if weights is not None else torch.ones_like(codes, dtype=table.dtype)
        onehot = table.new_zeros(codes.shape[0], table.shape[0])
        return onehot.scatter_add_(1, codes, counts.to(table.dtype)) @ table
    return F.embedding_bag(codes, table, per_sample_weights=weights, mode="sum")


class CategoricalTables(nn.Module):
    """One embedding per categorical column, their tables side by side as one block-diagonal
    matrix (a level's row holds its embedding in its column's slot, zeros elsewhere): every
    categorical input is then one row lookup (see the TFT's variable selection), and
    ``lookup_sum`` of a row's codes is their embeddings concatenated (:meth:`embed`)."""

    def __init__(self, cardinalities: Sequence[int], sizes: Sequence[int]):
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.Embedding(c, s) for c, s in zip(cardinalities, sizes, strict=True)
        )
        offsets = torch.tensor([0, *cardinalities], dtype=torch.long).cumsum(0)[:-1]
        self.register_buffer("offsets", offsets, persistent=False)
        counts = torch.tensor(list(cardinalities), dtype=torch.long)
        rows = torch.repeat_interleave(torch.arange(len(counts)), counts)
        self.register_buffer("rows", rows, persistent=False)
        self.sizes = tuple(sizes)

    def forward(self) -> tuple[torch.Tensor, torch.Tensor] | tuple[None, None]:
        """(levels, sum of sizes) block-diagonal table and the column each level belongs to."""
        if not len(self.embeddings):
            return None, None
        total, before, blocks = sum(self.sizes), 0, []
        for embedding, size in zip(self.embeddings, self.sizes, strict=True):
            blocks.append(F.pad(embedding.weight, (before, total - before - size)))
            before += size
        return torch.cat(blocks), self.rows

    def index(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (..., C) of the first C columns -> rows of the side-by-side table."""
        return codes + self.offsets[: codes.shape[-1]]

    def leading(
        self, table: torch.Tensor, rows: torch.Tensor, columns: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The part of :meth:`forward`'s table and rows that holds the first ``columns``
        columns (their levels come first and use the leading embedding slots)."""
        levels = sum(e.num_embeddings for e in self.embeddings[:columns])
        return table[:levels, : sum(self.sizes[:columns])], rows[:levels]

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (..., C) -> the columns' embeddings side by side (..., sum of sizes), as one
        lookup: each level's row is zero outside its column's slot, so the sum concatenates."""
        if not len(self.embeddings):
            return codes.new_zeros((*codes.shape[:-1], 0), dtype=torch.float32)
        table, _ = self()
        rows = self.index(codes).reshape(-1, codes.shape[-1])
        return lookup_sum(table, rows).view(*codes.shape[:-1], -1)
