"""Windows cut from a :class:`~forecasting.store.PanelStore` with tensor ops, never per sample.

A window of series ``s`` at origin ``t0`` covers the encoder periods ``[t0 - L, t0)`` and the
decoder (forecast) periods ``[t0, t0 + H)``. A batch of windows is one ``gather`` per feature
block over a (B, L + H) grid of positions, done on the store's device.

Training windows are sampled at random, uniformly over every valid (series, origin) pair, a fixed
number of batches per epoch (as GluonTS does) so an epoch's cost does not grow with the number of
series. Validation and prediction windows are enumerated deterministically.

Target scaling: each window's target is divided by its series' mean demand over the encoder,
shrunk toward a prior level by one pseudo-observation, ``(sum + prior) / (n + 1)``; zero-demand
windows and windows with little history then keep a sensible scale. The prior is the mean level
of the series' peers (same FC and static categoricals, :func:`group_prior_scale`), which is
what a new item starts from. The model sees ``log1p(scale)`` as a static real and its outputs
are multiplied back by the scale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache

import numpy as np
import pandas as pd
import torch

from forecasting.grid import FLAT_STD, calendar_features, dates_before, group_prior
from forecasting.spec import ITEM, LOCATION
from forecasting.store import UNKNOWN, PanelStore, gather_rows

BATCH_KEYS = (
    "encoder_target",
    "encoder_mask",
    "encoder_real",
    "encoder_cat",
    "decoder_real",
    "decoder_cat",
    "static_cat",
    "static_real",
)
"""Model inputs, in the order the networks take them (fixed names for ONNX export)."""


def default_prior_scale(store: PanelStore, cutoff: int | None = None) -> float:
    """Mean demand per observed period before ``cutoff``: the fallback level of a series."""
    total, count = _history_sums(store, cutoff)
    return float(total.sum() / count.sum().clamp(min=1))


def _history_sums(store: PanelStore, cutoff: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    target = store.target if cutoff is None else store.target[:, :cutoff]
    observed = torch.isfinite(target)
    zero = torch.zeros((), device=target.device, dtype=target.dtype)
    return torch.where(observed, target, zero).sum(dim=1), observed.sum(dim=1).to(target.dtype)


def group_prior_scale(
    store: PanelStore, cutoff: int | None = None, fallback: float | None = None
) -> torch.Tensor:
    """Per series, the mean demand per period of its peers before ``cutoff``.

    Peers share the location and every static categorical (category, department...); a group
    with no history falls back to the location, then to ``fallback`` (default: the panel mean).
    This is how a new item borrows the level of similar items before it has history of its own.
    """
    prior = group_prior(
        store.target.cpu().numpy(),
        store.keys,
        store.spec.static_categoricals,
        cutoff=cutoff,
        fallback=fallback,
    )
    return torch.from_numpy(prior).to(store.device)


class OriginPrior:
    """Per window, :func:`group_prior_scale` as of the window's own origin: the mean demand per
    period of its peers before that origin (then of its location, then of the panel), so that
    a training window's level, the whole scale of a window whose history is hidden, never
    reads the demand it forecasts or any later. Cumulative sums per group and period, cut
    at ``cutoff``; called with ``(series, origins)``, and ``exclude`` (B,) bool for windows
    whose history is hidden: their own demand leaves their peers' level, as a new item's
    table has none of it (alone in its group, it took its own level)."""

    def __init__(self, store: PanelStore, cutoff: int, fallback: float = 1.0):
        from forecasting._origin_sums import group_period_sums  # Numba: only when a fit needs it

        self.target = store.target[:, :cutoff]
        self.cutoff, self.fallback = int(cutoff), float(fallback)
        keys = store.keys
        levels = []
        for columns in ([], [LOCATION], [LOCATION, *store.spec.static_categoricals]):
            if columns:
                # A copy: pandas hands out a read-only view, which torch warns of.
                groups = keys.groupby(columns, sort=False).ngroup().to_numpy().copy()
            else:
                groups = np.zeros(len(keys), dtype=np.int64)
            levels.append((groups, int(groups.max()) + 1 if len(groups) else 1))
        # One pass over the target for all levels, each level's groups a block of rows: the
        # sums add each group's series in series order (as np.add.at did), not in another.
        offsets = np.cumsum([0] + [n for _, n in levels])
        rows = np.stack([groups + offset for (groups, _), offset in zip(levels, offsets)])
        target = self.target.cpu().numpy()  # a view on the CPU: no masked copy
        all_sums, all_counts = group_period_sums(target, self.cutoff, rows, int(offsets[-1]))
        self.levels = []
        for (groups, _), lo, hi in zip(levels, offsets[:-1], offsets[1:]):
            sums, counts = all_sums[lo:hi], all_counts[lo:hi]
            np.cumsum(sums, axis=1, out=sums)
            np.cumsum(counts, axis=1, out=counts)
            # Counts kept in float32 (summed in float64): a (groups x periods) table per level.
            # Sums stay in float64: a hidden window's own demand is taken out of them, and in
            # float32 a large item's rounding step outweighed its small peers' whole demand.
            counts = counts.astype(np.float32)
            self.levels.append(
                tuple(torch.from_numpy(a).to(store.device) for a in (groups, sums, counts))
            )

    def __call__(
        self, series: torch.Tensor, origins: torch.Tensor, exclude: torch.Tensor | None = None
    ) -> torch.Tensor:
        at = origins.clamp(0, self.cutoff)
        prior = torch.full(series.shape, self.fallback, device=series.device)
        own_sum = own_count = None
        if exclude is not None and bool(exclude.any()):
            # The window's own demand before its origin, taken out of each level's sums.
            history = self.target[series].double()
            steps = torch.arange(history.shape[1], device=history.device)
            own = (steps[None, :] < at[:, None]) & torch.isfinite(history) & exclude[:, None]
            zero = torch.zeros((), dtype=history.dtype, device=history.device)
            own_sum = torch.where(own, history, zero).sum(dim=1)
            own_count = own.sum(dim=1).float()
        for groups, sums, counts in self.levels:  # finer levels overwrite
            rows = groups[series]
            total, count = sums[rows, at], counts[rows, at]
            if own_sum is not None:
                total, count = (total - own_sum).clamp(min=0), count - own_count
            prior = torch.where(count > 0, total / count.clamp(min=1), prior)
        return prior.float()


def make_batch(
    store: PanelStore,
    series: torch.Tensor,
    origins: torch.Tensor,
    encoder_length: int,
    horizon: int,
    prior_scale: torch.Tensor | float | Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    with_target: bool = True,
    hide_history: torch.Tensor | None = None,
    unknown_item: torch.Tensor | None = None,
    reals_as_of: bool = False,
) -> dict[str, torch.Tensor]:
    """Cut the windows ``(series[b], origins[b])`` into a batch of model inputs.

    Returns the tensors of :data:`BATCH_KEYS` plus ``scale`` (B,) and, ``with_target``,
    ``target`` (B, H) scaled and ``target_mask`` (B, H). ``hide_history`` (B,) bool blanks the
    encoder's demand, observed-only reals and own known covariates of those windows (a new
    item's table has none of them before its launch) and ``unknown_item`` gives them the
    unknown item code: training on such windows teaches the cold-start path (a new item or
    item x FC pair). ``reals_as_of`` z-scores each window's real covariates as a table at its
    origin has them (training and validation windows of a store z-scored over the whole
    history): by the series' history before the origin, a hidden window's known reals by
    the rows a new item's forecast reads (its horizon), as :meth:`PanelStore.as_of` and
    :func:`forecasting.backtest.launched_at` give them.
    """
    device = store.device
    steps = torch.arange(-encoder_length, horizon, device=device)
    positions = origins[:, None] + steps[None, :]  # (B, L + H)
    inside = (positions >= 0) & (positions < store.n_periods)
    safe = positions.clamp(0, store.n_periods - 1)

    values = gather_rows(store.target, series, safe)
    observed = torch.isfinite(values) & inside
    # The encoder covers positions before the origin only: nothing later leaks into it.
    encoder_values = values[:, :encoder_length]
    encoder_mask = observed[:, :encoder_length]
    if hide_history is not None:
        encoder_mask = encoder_mask & ~hide_history[:, None]
    zero = torch.zeros((), device=device, dtype=values.dtype)
    encoder_values = torch.where(encoder_mask, encoder_values, zero)

    if callable(prior_scale):  # a level as of each window's origin (OriginPrior)
        if hide_history is not None:  # without the hidden windows' own demand
            prior = prior_scale(series, origins, exclude=hide_history).to(values.dtype)
        else:
            prior = prior_scale(series, origins).to(values.dtype)
    else:
        prior = torch.as_tensor(prior_scale, dtype=values.dtype, device=device)
        if prior.ndim == 1:
            prior = prior[series]
    count = encoder_mask.sum(dim=1).to(values.dtype)
    scale = (encoder_values.sum(dim=1) + prior) / (count + 1.0)
    scale = scale.clamp(min=1e-3)

    # Known covariates are cut once over encoder + decoder, observed ones over the encoder only.
    # Positions off the grid (an encoder reaching before the table's first period) have no
    # row: no covariate, as before a series' first row, and the calendar of their own dates.
    if reals_as_of:
        hidden_rows = (
            torch.zeros_like(origins, dtype=torch.bool) if hide_history is None else hide_history
        )
        lo = torch.where(hidden_rows, origins, torch.zeros_like(origins))
        hi = torch.where(hidden_rows, origins + horizon, origins)
        known_real = _gather_as_of(store.known_real, series, safe, lo, hi)
    else:
        known_real = _gather(store.known_real, series, safe, torch.float32)
    known_real = known_real * inside[:, :, None]
    known_cat = _gather(store.known_cat, series, safe, torch.long)
    n_own = len(store.spec.known_categoricals)
    if n_own:
        known_cat[:, :, :n_own] = known_cat[:, :, :n_own] * inside[:, :, None]
    if store.spec.calendar and known_cat.shape[2] > n_own and encoder_length > 0:
        before = _calendar_before(store.dates[0], encoder_length, store.spec.frequency)
        before = torch.from_numpy(before).to(device)  # (L, K) codes of periods -L .. -1
        index = (positions + encoder_length).clamp(0, encoder_length - 1)
        known_cat[:, :, n_own:] = torch.where(
            (positions < 0)[:, :, None], before[index], known_cat[:, :, n_own:]
        )
    encoder_real = known_real[:, :encoder_length]
    encoder_cat = known_cat[:, :encoder_length]
    if hide_history is not None:
        # A new item's table starts at its launch: it has no prices, promotions or events of
        # its own before the origin (a backtest's hidden items get none either, see
        # forecasting.backtest.launched_at), so the windows that teach the cold-start path
        # have none: with them, training read inputs a new item never has.
        hidden = hide_history[:, None, None]
        encoder_real = encoder_real * ~hidden
        if n_own:
            encoder_cat[:, :, :n_own] = torch.where(hidden, UNKNOWN, encoder_cat[:, :, :n_own])
    if store.observed_real:
        if reals_as_of:
            observed_real = _gather_as_of(
                store.observed_real, series, safe[:, :encoder_length], torch.zeros_like(origins),
                origins,
            )  # fmt: skip
        else:
            observed_real = _gather(
                store.observed_real, series, safe[:, :encoder_length], torch.float32
            )
        observed_real = observed_real * inside[:, :encoder_length, None]
        if hide_history is not None:
            # Observed-only reals (page views) are history too: a new item has none.
            observed_real = observed_real * ~hide_history[:, None, None]
        encoder_real = torch.cat([encoder_real, observed_real], dim=2)
    batch = {
        "encoder_target": encoder_values / scale[:, None],
        "encoder_mask": encoder_mask.to(values.dtype),
        "encoder_real": encoder_real,
        "encoder_cat": encoder_cat,
        "decoder_real": known_real[:, encoder_length:],
        "decoder_cat": known_cat[:, encoder_length:],
        "static_cat": _static_codes(store, series, unknown_item),
        "static_real": torch.cat([store.static_real[series], torch.log1p(scale)[:, None]], dim=1),
        "scale": scale,
    }
    if with_target:
        decoder_mask = observed[:, encoder_length:]
        batch["target"] = (
            torch.where(decoder_mask, values[:, encoder_length:], zero) / scale[:, None]
        )
        batch["target_mask"] = decoder_mask.to(values.dtype)
    return batch


@lru_cache(maxsize=64)
def _calendar_before(first: pd.Timestamp, periods: int, freq: str) -> np.ndarray:
    """Calendar codes (periods, K) of the ``periods`` periods before ``first``."""
    codes, _ = calendar_features(dates_before(first, periods, freq), freq)
    return codes


def _static_codes(
    store: PanelStore, series: torch.Tensor, unknown_item: torch.Tensor | None
) -> torch.Tensor:
    codes = store.static_cat[series]
    if unknown_item is not None and ITEM in store.static_cat_names:
        column = store.static_cat_names.index(ITEM)
        codes = codes.clone()
        codes[:, column] = torch.where(unknown_item, UNKNOWN, codes[:, column])
    return codes


def _gather(
    blocks: list, series: torch.Tensor, positions: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """Concatenate the features of ``blocks`` at (series, positions) -> (B, W, F)."""
    parts = [block.gather(series, positions).to(dtype) for block in blocks]
    if not parts:
        return torch.zeros(*positions.shape, 0, dtype=dtype, device=positions.device)
    return torch.cat(parts, dim=2) if len(parts) > 1 else parts[0]


def _gather_as_of(
    blocks: list,
    series: torch.Tensor,
    positions: torch.Tensor,
    lo: torch.Tensor,
    hi: torch.Tensor,
) -> torch.Tensor:
    """Real features of ``blocks`` at (series, positions) -> (B, W, F), each window z-scored
    from the raw values with the mean and standard deviation of its row over the periods
    ``[lo, hi)`` (as :func:`forecasting.grid.standardize_history` scales a table ending
    there: NaN ignored, a flat or empty window scales by 1, NaN -> 0)."""
    parts = []
    for block in blocks:
        if block.raw is None:  # no raw values kept: the store's scaling
            parts.append(block.gather(series, positions).float())
            continue
        raw = block.raw.to(positions.device)
        rows = series if block.rows is None else block.rows[series]
        history = raw[rows].double()  # (B, T, F)
        steps = torch.arange(history.shape[1], device=history.device)
        inside = (steps[None, :] >= lo[:, None]) & (steps[None, :] < hi[:, None])
        finite = torch.isfinite(history) & inside[:, :, None]
        n = finite.sum(dim=1)
        zero = torch.zeros((), dtype=history.dtype, device=history.device)
        mean = torch.where(finite, history, zero).sum(dim=1) / n.clamp(min=1)
        spread = torch.where(finite, history - mean[:, None], zero)
        std = (spread.square().sum(dim=1) / n.clamp(min=1)).sqrt()
        std = torch.where((n > 0) & (std > FLAT_STD), std, torch.ones_like(std))
        values = (gather_rows(raw, rows, positions).double() - mean[:, None]) / std[:, None]
        parts.append(torch.nan_to_num(values, nan=0.0).float())
    if not parts:
        return torch.zeros(*positions.shape, 0, dtype=torch.float32, device=positions.device)
    return torch.cat(parts, dim=2) if len(parts) > 1 else parts[0]


def valid_origin_range(
    store: PanelStore, horizon: int, cutoff: int | None, min_encoder_length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per series, the first origin and the number of valid training origins.

    An origin is valid when its whole decoder is observed before ``cutoff`` and at least
    ``min_encoder_length`` observed periods precede it.
    """
    last = store.end if cutoff is None else store.end.clamp(max=cutoff)
    first = store.start + min_encoder_length
    count = (last - horizon - first + 1).clamp(min=0)
    return first, count


class WindowSampler:
    """An iterable of random training batches, ``batches_per_epoch`` of them per pass.

    Each pass draws new windows from a generator seeded by ``(seed, epoch, rank)``, so runs
    repeat for a seed and DDP ranks see different windows. A ``cold_start_rate`` share of
    windows has its history hidden (and half of those the item's identity) so the network
    learns to forecast new items from what it knows of similar ones. Batches are cut on the
    store's device; with a host store and a CUDA ``device`` they are pinned and copied
    asynchronously.
    """

    def __init__(
        self,
        store: PanelStore,
        encoder_length: int,
        horizon: int,
        batch_size: int,
        batches_per_epoch: int,
        prior_scale: torch.Tensor | float,
        cutoff: int | None = None,
        min_encoder_length: int = 1,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        device: torch.device | None = None,
        cold_start_rate: float = 0.0,
    ):
        if not 0 <= cold_start_rate < 1:
            raise ValueError(f"cold_start_rate: expected in [0, 1), got {cold_start_rate}")
        self.store = store
        self.encoder_length = encoder_length
        self.horizon = horizon
        self.batch_size = batch_size
        self.batches_per_epoch = batches_per_epoch
        self.cold_start_rate = cold_start_rate
        if not callable(prior_scale):
            prior_scale = torch.as_tensor(prior_scale, device=store.device)
        self.prior_scale = prior_scale
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.device = device or store.device
        self.epoch = 0
        # A trainer that resumes a run sets these: the epoch being trained and the batches
        # of it already done (read when a pass starts; see ForecastTask.train_dataloader).
        self.position: Callable[[], tuple[int, int]] | None = None
        first, count = valid_origin_range(store, horizon, cutoff, min_encoder_length)
        self.first = first
        self.cumulative = torch.cumsum(count, dim=0)
        self.total = int(self.cumulative[-1].item()) if len(count) else 0
        if self.total == 0:
            last = store.end if cutoff is None else store.end.clamp(max=cutoff)
            longest = int((last - store.start).clamp(min=0).max().item()) if len(count) else 0
            where = (
                ""
                if cutoff is None or not 0 < cutoff <= len(store.dates)
                else f" ({store.dates[cutoff - 1].date()}; the periods after it are held out "
                "for validation)"
            )
            # Says what the data has against what is needed: "the cutoff" alone is no date the
            # user gave, and a table too short for horizon + validation read as a mystery.
            raise ValueError(
                f"no training window fits: a series needs {min_encoder_length} observed "
                f"periods plus a horizon of {horizon}, {min_encoder_length + horizon} in all, "
                f"before the cutoff{where}; the longest has {longest} there (a shorter "
                "horizon or validation, or a longer history, makes room)"
            )

    def __len__(self) -> int:
        return self.batches_per_epoch

    def sample(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw (series, origin) pairs uniformly over all valid pairs."""
        device = self.store.device
        flat = torch.randint(self.total, (self.batch_size,), generator=generator, device="cpu").to(
            device
        )
        series = torch.searchsorted(self.cumulative, flat, right=True)
        before = torch.where(series > 0, self.cumulative[(series - 1).clamp(min=0)], 0)
        origins = self.first[series] + (flat - before)
        return series, origins

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        epoch, done = (self.epoch, 0) if self.position is None else self.position()
        generator = torch.Generator().manual_seed(
            self.seed * 1_000_003 + epoch * self.world_size + self.rank
        )
        self.epoch = epoch + 1
        for index in range(self.batches_per_epoch):
            series, origins = self.sample(generator)
            hidden = unknown = None
            if self.cold_start_rate > 0:
                # Half of the windows without history also lose the item's identity.
                draw = torch.rand(self.batch_size, 2, generator=generator).to(series.device)
                hidden = draw[:, 0] < self.cold_start_rate
                unknown = hidden & (draw[:, 1] < 0.5)
            if index < done:  # drawn before the run was interrupted: trained on already
                continue
            batch = make_batch(
                self.store,
                series,
                origins,
                self.encoder_length,
                self.horizon,
                self.prior_scale,
                hide_history=hidden,
                unknown_item=unknown,
                reals_as_of=True,
            )
            yield to_device(batch, self.device)


class WindowList:
    """Deterministic windows ``(series, origins)`` in batches, optionally one shard per rank."""

    def __init__(
        self,
        store: PanelStore,
        series: torch.Tensor,
        origins: torch.Tensor,
        encoder_length: int,
        horizon: int,
        batch_size: int,
        prior_scale: torch.Tensor | float,
        with_target: bool = True,
        rank: int = 0,
        world_size: int = 1,
        device: torch.device | None = None,
        reals_as_of: bool = False,
    ):
        self.store = store
        self.reals_as_of = reals_as_of
        self.series = series[rank::world_size].to(store.device)
        self.origins = origins[rank::world_size].to(store.device)
        self.encoder_length, self.horizon = encoder_length, horizon
        self.batch_size = batch_size
        self.prior_scale = torch.as_tensor(prior_scale, device=store.device)
        self.with_target = with_target
        self.device = device or store.device

    def __len__(self) -> int:
        return (len(self.series) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for lo in range(0, len(self.series), self.batch_size):
            batch = make_batch(
                self.store,
                self.series[lo : lo + self.batch_size],
                self.origins[lo : lo + self.batch_size],
                self.encoder_length,
                self.horizon,
                self.prior_scale,
                with_target=self.with_target,
                reals_as_of=self.reals_as_of,
            )
            yield to_device(batch, self.device)


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Move a batch; from host to GPU through pinned memory without blocking the host."""
    device = torch.device(device)
    first = next(iter(batch.values()))
    if first.device == device:
        return batch
    if device.type == "cuda":
        return {k: v.pin_memory().to(device, non_blocking=True) for k, v in batch.items()}
    return {k: v.to(device) for k, v in batch.items()}


def evaluation_windows(
    store: PanelStore, origin: int, horizon: int, min_history: int = 1
) -> torch.Tensor:
    """Series whose decoder ``[origin, origin + horizon)`` is fully observed and that have at
    least ``min_history`` observed periods before ``origin``."""
    ok = (store.start + min_history <= origin) & (store.end >= origin + horizon)
    return torch.nonzero(ok, as_tuple=False).squeeze(1)
