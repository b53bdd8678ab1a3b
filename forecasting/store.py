"""The compact panel store: one (series x time) tensor per feature block, nothing copied per window.

A panel of S series on a grid of T periods is held as

* ``target``: (S, T) float32, NaN where a series has no observation (before launch, after its last
  observed period, future periods);
* feature blocks of shape (G, T, F) with a row index per series: per-series blocks have G = S,
  shared blocks have fewer rows (a price per item, a weather forecast per FC, a calendar shared by
  all series), so a feature is stored once, at its natural grain;
* static categorical codes (S, C) and static reals (S, R).

Categorical codes are integers with 0 reserved for "unknown" (a level unseen when the vocabulary
was built). Real covariates are standardized per row over the history (relative price moves are
what drive demand). Gaps inside a series' history are filled with demand 0 and the covariates of
the period before (the documented rule of :mod:`forecasting.validate`).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from forecasting.grid import (
    UNKNOWN,
    build_grid,
    calendar_features,
    check_horizon,
    ffill_time,
    fill_gaps,
    forecast_origins,
    history_stop,
    known_rows_until,
    observed_until,
    standardize,
    standardize_history,
    standardize_static,
)
from forecasting.grid import known_until as grid_known_until
from forecasting.grid import static_stats as grid_static_stats
from forecasting.spec import ITEM, LOCATION, PanelSpec
from forecasting.validate import PanelError, missing_as_saved, unseen_message

DERIVED_INPUTS = ("target", "observed", "seasonal_lag", "seasonal_lag_observed", "log_scale")
"""Inputs the networks add to a panel's covariates (:mod:`forecasting.models`), by name."""


@dataclass
class Block:
    """Features of shape (G, T, F) and the row each series reads (``rows`` None: row = series)."""

    values: torch.Tensor
    rows: torch.Tensor | None = None
    names: tuple[str, ...] = ()
    raw: torch.Tensor | None = None
    """Reals: the forward-filled values before standardization (NaN where nothing was
    recorded), so that a backtest can standardize them as of an origin."""

    def to(self, device: torch.device) -> Block:
        rows = None if self.rows is None else self.rows.to(device)
        raw = None if self.raw is None else self.raw.to(device)
        return Block(self.values.to(device), rows, self.names, raw)

    def gather(self, series: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Values at ``positions`` (B, W) of ``series`` (B,) -> (B, W, F)."""
        rows = series if self.rows is None else self.rows[series]
        return gather_rows(self.values, rows, positions)


def gather_rows(values: torch.Tensor, rows: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """``values[rows[:, None], positions]`` for (G, T[, F]) values, as one ``index_select`` of
    contiguous feature rows: several times faster than advanced indexing on CPU."""
    n_periods = values.shape[1]
    flat = (rows[:, None] * n_periods + positions).reshape(-1)
    picked = values.reshape(values.shape[0] * n_periods, -1).index_select(0, flat)
    return picked.reshape(*positions.shape, *values.shape[2:])


def _row_stop(end: np.ndarray, rows: np.ndarray | None, n_rows: int, fallback: int) -> np.ndarray:
    """:func:`forecasting.grid.history_stop` per row of a feature block: a shared row (a price
    per item) is scaled over the longest history of the series that read it."""
    if rows is None:
        return history_stop(end, fallback)
    rows = np.asarray(rows, dtype=np.int64)
    longest = np.zeros(n_rows, dtype=np.int64)
    np.maximum.at(longest, rows, np.asarray(end, dtype=np.int64))
    return history_stop(longest, fallback)


def _shared_known_until(values: np.ndarray, rows: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """:func:`forecasting.grid.known_until` from each series' origin for a block of shared
    rows (G, T, F) that series read through ``rows``: one past the unbroken run of periods
    of its row present from its origin, without a (series x periods) copy of the block."""
    present = np.isfinite(values).all(axis=2)
    t = present.shape[1]
    missing = np.where(present, t, np.arange(t)[None, :])
    # Per row and period, the first missing period at or after it (t: none).
    first = np.minimum.accumulate(missing[:, ::-1], axis=1)[:, ::-1]
    first = np.concatenate([first, np.full((len(first), 1), t)], axis=1)
    return first[rows, np.clip(origins, 0, t)]


def _rescaled(block: Block, scale) -> Block:
    """``block`` with its values scaled again from its raw ones by ``scale(values, rows)`` (a
    block without raw values, a shared calendar, unchanged)."""
    if block.raw is None:
        return block
    rows = None if block.rows is None else block.rows.cpu().numpy()
    values = scale(block.raw.cpu().numpy().copy(), rows)
    return Block(torch.from_numpy(values).to(block.values.device), block.rows, block.names,
                 block.raw)  # fmt: skip


@dataclass
class PanelStore:
    """A panel as tensors, ready to be windowed on CPU or GPU (see :mod:`forecasting.windows`)."""

    spec: PanelSpec
    dates: pd.DatetimeIndex  # (T,)
    target: torch.Tensor  # (S, T) float32, NaN = not observed
    start: torch.Tensor  # (S,) first observed period
    end: torch.Tensor  # (S,) one past the last observed period
    known_until: torch.Tensor  # (S,) one past the last period with every known real present
    keys: pd.DataFrame  # (S,) item_id, location_id, and static categoricals as strings
    static_cat: torch.Tensor  # (S, C) long codes
    static_real: torch.Tensor  # (S, R) float32, standardized across series
    known_real: list[Block] = field(default_factory=list)
    known_cat: list[Block] = field(default_factory=list)
    observed_real: list[Block] = field(default_factory=list)
    vocab: dict[str, list[str]] = field(default_factory=dict)
    cardinalities: dict[str, int] = field(default_factory=dict)  # categorical -> n codes
    static_cat_names: tuple[str, ...] = ()
    known_cat_names: tuple[str, ...] = ()
    first_row: torch.Tensor | None = None
    """(S,) the first period the table had a row for: where a series with no history (a new
    item that has only future rows) is forecast from. ``None`` for stores built from arrays."""
    rows_until: torch.Tensor | None = None
    """(S,) one past the unbroken run of periods with a row from each series' forecast origin:
    how far its known categoricals reach. ``None`` for stores built from arrays."""
    static_stats: dict[str, list[float]] | None = None
    """Mean and std across series the static reals were z-scored with (the training table's
    where a run gave them): a run saves them and predicts with them."""

    @property
    def n_series(self) -> int:
        """S, the number of (item, location) series: rows of ``target``."""
        return self.target.shape[0]

    @property
    def n_periods(self) -> int:
        return self.target.shape[1]

    @property
    def device(self) -> torch.device:
        """The device the store's tensors are on (that of ``target``)."""
        return self.target.device

    @property
    def n_known_real(self) -> int:
        return sum(b.values.shape[2] for b in self.known_real)

    @property
    def n_observed_real(self) -> int:
        return sum(b.values.shape[2] for b in self.observed_real)

    def nbytes(self) -> int:
        """Bytes held by the store's tensors (the windowing overhead is what exceeds the data)."""
        tensors = [self.target, self.start, self.end, self.known_until, self.static_cat]
        tensors += [self.static_real]
        for block in self.known_real + self.known_cat + self.observed_real:
            tensors.append(block.values)
            if block.rows is not None:
                tensors.append(block.rows)
        return sum(t.numel() * t.element_size() for t in tensors)

    def to(self, device: str | torch.device) -> PanelStore:
        """A copy of the store on ``device`` (tensors only; metadata is shared)."""
        device = torch.device(device)
        if device == self.device:
            return self
        moved = {
            name: getattr(self, name).to(device)
            for name in ("target", "start", "end", "known_until", "static_cat", "static_real")
        }
        for name in ("known_real", "known_cat", "observed_real"):
            moved[name] = [block.to(device) for block in getattr(self, name)]
        return dataclasses.replace(self, **moved)

    def as_of(self, cutoff: int, horizon: int = 0) -> PanelStore:
        """The store as a table that ends before period ``cutoff`` would give it: observed-only
        reals (known up to a forecast origin) standardized over the periods before ``cutoff``
        and blank from it on, so that nothing observed from the origin on reaches a model;
        known reals standardized by each series' history before ``cutoff`` (a series without
        one: over the periods before ``cutoff + horizon``, the rows a forecast from ``cutoff``
        reads), as a table at the origin has them (a price published later must not move its
        z-score)."""
        # A series launched at or after the cutoff has no history before it (0): min(end,
        # cutoff) alone gave it the cutoff, a z-score over periods before its first row (all
        # NaN: mean 0, std 1), so its prices read unscaled (12.5 for 12.5).
        start = self.start.cpu().numpy()
        ended = np.where(start < cutoff, np.minimum(self.end.cpu().numpy(), int(cutoff)), 0)

        def known(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
            stop = _row_stop(ended, rows, len(values), int(cutoff + horizon))
            return standardize_history(values, stop)

        def observed(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
            values[:, cutoff:] = np.nan
            return standardize(values, max(int(cutoff), 1))

        return dataclasses.replace(
            self,
            known_real=[_rescaled(block, known) for block in self.known_real],
            observed_real=[_rescaled(block, observed) for block in self.observed_real],
        )

    def pin_memory(self) -> PanelStore:
        """Page-lock the host tensors so batches cut on the host copy to a GPU asynchronously."""
        if not torch.cuda.is_available() or self.device.type != "cpu":
            return self
        self.target = self.target.pin_memory()
        for block in self.known_real + self.known_cat + self.observed_real:
            block.values = block.values.pin_memory()
        return self

    def check_horizon(self, series: torch.Tensor, origins: torch.Tensor, horizon: int) -> None:
        """Raise if known covariates do not cover ``horizon`` periods from each origin."""
        check_horizon(
            self.keys,
            self.known_until.cpu().numpy() if self.known_real else None,
            self.n_periods,
            self.spec,
            series.cpu().numpy(),
            origins.cpu().numpy(),
            horizon,
            dates=self.dates,
        )
        if self.rows_until is not None and self.spec.known_categoricals:
            check_horizon(
                self.keys,
                self.rows_until.cpu().numpy(),
                self.n_periods,
                self.spec,
                series.cpu().numpy(),
                origins.cpu().numpy(),
                horizon,
                columns=", ".join(self.spec.known_categoricals),
                dates=self.dates,
            )

    # ------------------------------------------------------------------ builders

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        spec: PanelSpec,
        vocab: dict[str, list[str]] | None = None,
        extra_periods: int = 0,
        static_stats: dict[str, list[float]] | None = None,
    ) -> PanelStore:
        """Build a store from a panel checked by :func:`forecasting.validate.validate_panel`.

        ``vocab`` maps each categorical to its levels (from training); without it the levels are
        learned from ``frame``. Levels not in ``vocab`` get code 0 (unknown) with a warning.
        ``extra_periods`` extends the grid past the last row (calendar features stay known).
        ``static_stats`` (from training) z-score the static reals; without them, this table's.
        A spec without a frequency gets the one the dates show.
        """
        grid = build_grid(frame, spec, extra_periods)
        encoder = _Encoder(vocab)
        known_cat = []
        if grid.spec.known_categoricals:
            codes = np.zeros(grid.known_cat_codes.shape, dtype=np.int32)
            for k, column in enumerate(grid.spec.known_categoricals):
                # Each level is encoded once, then looked up; a cell with no row stays 0.
                encoded = encoder.encode(column, pd.Series(grid.known_cat_levels[k]))
                cells = grid.known_cat_codes[:, :, k]
                codes[:, :, k] = np.where(cells >= 0, encoded[cells.clip(min=0)], 0)
            known_cat = [(codes, None)]
        store = cls.from_arrays(
            grid.spec,
            grid.dates,
            grid.target,
            grid.keys,
            known_real=[(grid.known_real, None)] if grid.spec.known_reals else [],
            known_cat=known_cat,
            observed_real=[(grid.observed_real, None)] if grid.spec.observed_reals else [],
            static_real=grid.static_real,
            encoder=encoder,
            first_row=grid.first_row,
            static_stats=static_stats,
        )
        if grid.spec.known_categoricals:
            store.rows_until = torch.from_numpy(known_rows_until(grid))
        return store

    @classmethod
    def from_arrays(
        cls,
        spec: PanelSpec,
        dates: pd.DatetimeIndex,
        target: np.ndarray,
        keys: pd.DataFrame,
        known_real: list[tuple[np.ndarray, np.ndarray | None]] = (),
        known_cat: list[tuple[np.ndarray, np.ndarray | None]] = (),
        observed_real: list[tuple[np.ndarray, np.ndarray | None]] = (),
        static_real: np.ndarray | None = None,
        vocab: dict[str, list[str]] | None = None,
        learn_vocab: bool | None = None,
        encoder: _Encoder | None = None,
        first_row: np.ndarray | None = None,
        static_stats: dict[str, list[float]] | None = None,
    ) -> PanelStore:
        """Build a store from (series x time) arrays without a long table.

        ``target`` (S, T) float32 with NaN where unobserved is used in place (not copied).
        Feature blocks are ``(values (G, T, F), rows (S,) or None)``, their features in the
        order the spec declares them; known categoricals are already integer codes (0 =
        unknown) in the order of ``spec.known_categoricals`` and ``vocab``. ``keys`` holds
        ``item_id``, ``location_id`` and the static categoricals of each series. Levels of
        categoricals missing from ``vocab`` are learned when ``learn_vocab`` (default: when no
        ``vocab`` is given). ``first_row`` (S,) is each series' first period with a row in a
        table: where a series without history is forecast from, and where its known covariates
        are counted from.
        """
        if encoder is None:
            encoder = _Encoder(vocab, learn=vocab is None if learn_vocab is None else learn_vocab)
        n_series, n_periods = target.shape
        start, end = fill_gaps(target)
        origins = forecast_origins(end, first_row)  # where each series' forecast starts

        real_blocks, known_until = [], np.full(n_series, n_periods, dtype=np.int64)
        names = iter(spec.known_reals)
        for values, rows in known_real:
            # A shared row (a price per item) is filled forward over the history of the series
            # that read it, not over the future: a price missing there ends what is known
            # from each reading series' origin, as a series' own row does (it was carried).
            values = ffill_time(values, limit=_row_stop(end, rows, len(values), 0))
            if rows is None:
                until = grid_known_until(values, origins)
            else:
                until = _shared_known_until(values, np.asarray(rows), origins)
            known_until = np.minimum(known_until, until)
            raw = values.copy()  # as_of standardizes them again as of an origin
            values = standardize_history(values, _row_stop(end, rows, len(values), n_periods))
            block_names = tuple(next(names) for _ in range(values.shape[2]))
            block = _block(values, rows, block_names)
            block.raw = torch.from_numpy(raw)
            real_blocks.append(block)
        observed_blocks = []
        names = iter(spec.observed_reals)
        for values, rows in observed_real:
            # Scaled over the history alone: nothing observed from an origin on reaches it. A
            # shared row (web traffic per FC) is history up to the latest origin of the series
            # that read it: filled forward and scaled over that, blank after it (its future
            # values, or its last value carried over the future periods, moved the z-score).
            stop = _row_stop(end, rows, len(values), 0)
            raw = ffill_time(values, limit=stop)
            values = standardize(observed_until(raw, stop), n_periods)
            block_names = tuple(next(names) for _ in range(values.shape[2]))
            block = _block(values, rows, block_names)
            block.raw = torch.from_numpy(raw)
            observed_blocks.append(block)

        cardinalities: dict[str, int] = {}
        cat_blocks = []
        names = iter(spec.known_categoricals)
        for codes, rows in known_cat:
            block_names = tuple(next(names) for _ in range(codes.shape[2]))
            for k, name in enumerate(block_names):
                cardinalities[name] = size = len(encoder.vocab[name]) + 1
                # The networks read a code as a row of one table holding every column's
                # levels side by side: a code past its column's levels (or below 0, pandas'
                # code of a missing value) read another column's embedding without a word.
                column = codes[:, :, k]
                if column.size and (int(column.min()) < 0 or int(column.max()) >= size):
                    raise PanelError(
                        name,
                        f"codes {int(column.min())}..{int(column.max())} given; expected "
                        f"0 (unknown) to {size - 1} (the levels of its vocabulary)",
                    )
            cat_blocks.append(_block(codes.astype(np.int32, copy=False), rows, block_names))
        known_cat_names = tuple(spec.known_categoricals)
        # Checked when a model is to be fitted (no vocabulary yet): a run fitted before these
        # names were refused still forecasts (its importances list the name twice).
        fitting = encoder.learn
        derived = [name for name in DERIVED_INPUTS if fitting and name in spec.covariates()]
        if derived:
            # The networks add inputs of these names: the importances of a TFT would list
            # the name twice (a price column named 'observed' beside the demand's flag).
            raise PanelError(
                derived[0],
                f"a covariate has the name of an input the networks derive "
                f"({', '.join(DERIVED_INPUTS)}): rename the column",
            )
        if spec.calendar:
            cal, sizes = calendar_features(dates, spec.freq)
            named = spec.covariates() if fitting else (*known_cat_names, *spec.static_categoricals)
            clash = [name for name in sizes if name in named]
            if clash:
                # Two inputs of one name: the calendar's size would replace the column's, or
                # a static categorical's the calendar's (its codes past it reading the next
                # variable's embeddings), and the importances would list the name twice (a
                # known real 'month' too).
                role = next(r for r, c in spec.roles().items() if clash[0] in c)
                raise PanelError(
                    clash[0],
                    f"a {role[:-1].replace('_', ' ')} has the name of a derived calendar feature "
                    f"({', '.join(sizes)}): rename the column, or set calendar false",
                )
            cat_blocks.append(
                Block(
                    torch.from_numpy(cal.astype(np.int32))[None],
                    torch.zeros(n_series, dtype=torch.long),
                    tuple(sizes),
                )
            )
            cardinalities.update(sizes)
            known_cat_names += tuple(sizes)

        static_names = list(spec.static_categoricals)
        if spec.key_embeddings:
            static_names = [ITEM, LOCATION, *static_names]
        keys = keys.reset_index(drop=True).astype(str)
        static_codes = np.zeros((n_series, len(static_names)), dtype=np.int64)
        for k, column in enumerate(static_names):
            static_codes[:, k] = encoder.encode(column, keys[column])
            cardinalities[column] = len(encoder.vocab[column]) + 1
        if static_real is None:
            static_real = np.zeros((n_series, 0), dtype=np.float32)
        else:
            static_stats = static_stats or grid_static_stats(static_real)
            static_real = standardize_static(static_real, static_stats)
        encoder.warn_unknown()
        return cls(
            spec=spec,
            dates=dates,
            target=torch.from_numpy(target),
            start=torch.from_numpy(start),
            end=torch.from_numpy(end),
            known_until=torch.from_numpy(known_until),
            keys=keys,
            static_cat=torch.from_numpy(static_codes),
            static_real=torch.from_numpy(np.ascontiguousarray(static_real)),
            known_real=real_blocks,
            known_cat=cat_blocks,
            observed_real=observed_blocks,
            vocab=encoder.vocab,
            cardinalities=cardinalities,
            static_cat_names=tuple(static_names),
            known_cat_names=known_cat_names,
            first_row=None if first_row is None else torch.from_numpy(first_row),
            static_stats=static_stats if spec.static_reals else None,
        )


class _Encoder:
    """Maps categorical levels to codes 1..n (0 = unknown), learning the vocabulary if none."""

    def __init__(self, vocab: dict[str, list[str]] | None, learn: bool | None = None):
        self.learn = vocab is None if learn is None else learn
        self.vocab = {} if vocab is None else dict(vocab)
        self.unknown: dict[str, list[str]] = {}

    def encode(self, column: str, values: pd.Series) -> np.ndarray:
        values = values.astype(str)
        if column in self.vocab:
            values = pd.Series(missing_as_saved(values.to_numpy(), self.vocab[column]))
        if column not in self.vocab:
            if not self.learn:
                raise ValueError(f"{column}: no vocabulary was saved for this categorical")
            self.vocab[column] = sorted(values.unique().tolist())
        codes = pd.Index(self.vocab[column]).get_indexer(values) + 1  # unseen: -1 + 1 = UNKNOWN
        if (codes == UNKNOWN).any():
            self.unknown[column] = sorted(values[codes == UNKNOWN].unique().tolist())
        return codes.astype(np.int32)

    def warn_unknown(self) -> None:
        if self.unknown:
            warnings.warn(unseen_message(self.unknown, self.vocab), UserWarning, stacklevel=3)


def _block(values: np.ndarray, rows: np.ndarray | None, names: tuple[str, ...]) -> Block:
    rows_t = None if rows is None else torch.from_numpy(np.asarray(rows, dtype=np.int64))
    return Block(torch.from_numpy(values), rows_t, names)
