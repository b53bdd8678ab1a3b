"""Rolling-origin backtests over K origins, broken down by segment.

Origins are ``step`` periods apart and the last one leaves exactly one horizon of observed
data. By default every forecaster is fitted once with data before the first origin and then
forecasts every origin (no refit: cheaper, and nothing after the first origin leaks into
training); ``refit=True`` refits at each origin.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from forecasting.base import Forecaster
from forecasting.metrics import aggregate, demand_classes, mase_scale, window_scores
from forecasting.plots import save_fan_charts
from forecasting.spec import ITEM, LOCATION
from forecasting.store import UNKNOWN, Block, PanelStore
from forecasting.windows import evaluation_windows
from kernels.io import write_json, write_table

WINDOW_COLUMNS = (
    "model", "origin", ITEM, LOCATION, "demand_class", "history",
    "abs_error", "actual", "signed_error", "mase", "sql", "n_steps",
)  # fmt: skip
"""Columns of the window table besides the segments (and ``coverage_*``)."""


def rolling_origins(
    store: PanelStore, horizon: int, n_origins: int, step: int | None = None
) -> list[int]:
    """Grid positions of ``n_origins`` forecast origins, the last one ``horizon`` before the end."""
    if n_origins < 1:
        raise ValueError(f"n_origins: expected >= 1, got {n_origins}")
    step = horizon if step is None else step
    if step < 1:
        raise ValueError(f"step: expected >= 1 period between origins, got {step}")
    last = int(store.end.max().item()) - horizon
    origins = [last - k * step for k in reversed(range(n_origins))]
    if origins[0] <= 0:
        raise ValueError(
            f"the panel has {last + horizon} periods: too short for {n_origins} origins "
            f"{step} apart with a horizon of {horizon}"
        )
    return origins


@dataclass
class BacktestResult:
    """Per-window scores and the metrics table (model x segment)."""

    windows: pd.DataFrame
    metrics: pd.DataFrame
    forecasts: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    """Last origin's forecasts per model: ``series``, ``origins``, ``quantiles`` (N, H, Q) and
    their ``levels``."""
    store: PanelStore | None = None
    """The panel the backtest ran on (for the fan charts)."""
    plot_series: int = 6

    def overall(self) -> pd.DataFrame:
        """One row per model: metrics over every window."""
        rows = self.metrics[self.metrics["segment_type"] == "all"]
        return rows.drop(columns=["segment_type", "segment"]).set_index("model")

    def bias_by_segment(self) -> pd.DataFrame:
        """The median's bias, sum(median - actual) / sum(actual), per segment (rows) and model
        (columns): a forecast that runs low on one demand class or category shows here even
        when the overall bias is small. Positive: over-forecast."""
        rows = self.metrics[self.metrics["segment_type"] != "all"]
        # Every segment keeps its row: one without demand over its windows is where a forecast
        # of positive demand ran highest (+inf; pivot_table dropped it).
        order = pd.MultiIndex.from_frame(rows[["segment_type", "segment"]].drop_duplicates())
        table = rows.set_index(["segment_type", "segment", "model"])["bias"].unstack("model")
        return table.reindex(index=order, columns=list(dict.fromkeys(rows["model"])))

    def save(
        self, out_dir: str | Path, store: PanelStore | None = None, plot_series: int | None = None
    ) -> dict[str, Path]:
        """Write ``metrics.json``, ``metrics.csv``, ``windows.parquet`` and, given the store
        (default: the one it ran on), ``plots/fan_<model>.png`` for the ``plot_series`` largest
        series at the last origin."""
        out_dir = Path(out_dir)
        store = store if store is not None else self.store
        plot_series = self.plot_series if plot_series is None else plot_series
        records = self.metrics.to_dict(orient="records")
        payload: dict = {"metrics": records}
        if store is not None:  # what the monitor checks a forecast's grain against
            payload["frequency"] = store.spec.frequency
        paths = {
            "metrics_json": write_json(payload, out_dir / "metrics.json"),
            "metrics_csv": write_table(self.metrics, out_dir / "metrics.csv"),
            "windows": write_table(self.windows, out_dir / "windows.parquet"),
        }
        if store is not None and plot_series > 0 and self.forecasts:
            paths["plots"] = self.save_fan_charts(store, out_dir / "plots", plot_series)
        return paths

    def save_fan_charts(self, store: PanelStore, out_dir: Path, n_series: int) -> Path:
        """One PNG per model with the same series (the largest sellers read best)."""
        first = next(iter(self.forecasts.values()))
        volume = store.target[first["series"]].nan_to_num().sum(dim=1).cpu().numpy()
        chosen = first["series"][np.argsort(-volume, kind="stable")[:n_series]]
        for name, forecast in self.forecasts.items():
            position = {int(s): k for k, s in enumerate(forecast["series"])}
            order = np.array([position[int(s)] for s in chosen if int(s) in position], dtype=int)
            save_fan_charts(
                store,
                forecast["series"][order],
                forecast["origins"][order],
                forecast["quantiles"][order],
                forecast["levels"],
                out_dir / f"fan_{name}.png",
                title=f"{name}: forecasts from the last backtest origin",
            )
        return out_dir


def hide_items(
    store: PanelStore, fraction: float, seed: int = 0
) -> tuple[PanelStore, torch.Tensor]:
    """A copy of ``store`` in which a random ``fraction`` of items (at every FC) has no history
    and an unknown item code: what a forecaster sees of brand-new items."""
    if not 0 < fraction < 1:
        raise ValueError(f"cold_start: expected a fraction in (0, 1), got {fraction}")
    items = np.sort(store.keys[ITEM].unique())
    size = max(1, round(fraction * len(items)))
    # round() halves to even: 0.05 of 10 items (0.5) rounds to 0 as well, which a test of
    # ``size > fraction * n + 0.5`` passed without a word (10% hidden for 5% asked).
    if round(fraction * len(items)) == 0:
        # round() gave none: one item is hidden, a larger share than asked, which a user
        # reading the cold rows as "1%" of the items would not know.
        warnings.warn(
            f"cold_start: {fraction} of {len(items)} items rounds to none; hiding 1 item "
            f"({1 / len(items):.0%} of them)",
            UserWarning,
            stacklevel=3,
        )
    if size >= len(items):
        # Every item hidden leaves none to fit on: a network found no training window (an
        # error about history lengths) and baselines scored every series as a new item.
        raise ValueError(
            f"cold_start: {fraction} of the panel's {len(items)} item(s) hides every item, "
            "leaving none to fit on (hide a smaller share, or backtest more items)"
        )
    rng = np.random.default_rng(seed)
    chosen = rng.choice(items, size=size, replace=False)
    hidden = torch.from_numpy(np.flatnonzero(store.keys[ITEM].isin(chosen).to_numpy()))
    target = store.target.clone()
    target[hidden] = float("nan")
    start, end = store.start.clone(), store.end.clone()
    start[hidden], end[hidden] = 0, 0
    static_cat = store.static_cat.clone()
    if ITEM in store.static_cat_names:
        static_cat[hidden, store.static_cat_names.index(ITEM)] = UNKNOWN
    # Observed-only reals (page views...) are history too: a new item has none. Standardized
    # values are 0 where nothing was observed; a shared row is blanked when only hidden
    # series read it.
    observed = []
    is_hidden = torch.zeros(store.n_series, dtype=torch.bool)
    is_hidden[hidden] = True
    for block in store.observed_real:
        if block.rows is None:
            blank = is_hidden
        else:
            blank = torch.ones(block.values.shape[0], dtype=torch.bool)
            blank[block.rows.cpu()[~is_hidden]] = False
        values = block.values.clone()
        values[blank.to(values.device)] = 0.0
        raw = None
        if block.raw is not None:
            raw = block.raw.clone()
            raw[blank.to(raw.device)] = float("nan")
        observed.append(dataclasses.replace(block, values=values, raw=raw))
    hidden_store = dataclasses.replace(
        store,
        target=target,
        start=start,
        end=end,
        static_cat=static_cat,
        observed_real=observed,
    )
    return hidden_store, hidden


def launched_at(store: PanelStore, hidden: torch.Tensor, origin: int) -> PanelStore:
    """A copy of ``store`` in which the ``hidden`` series have no rows before ``origin``: what
    a table holding them as new items (rows from the origin on) gives a forecast from there.
    Their known reals are blank (NaN, read as 0) and their known categoricals unknown before
    it, so :meth:`PanelStore.as_of` z-scores their reals over the rows a forecast reads, as a
    new item's are; a row they share with other series (a price per item, weather per FC) is
    copied first, so the others keep theirs."""
    hidden = hidden.to(store.device)
    own = set(store.spec.known_categoricals)

    def cut(block: Block, blank: float) -> Block:
        # ``blank`` for the values (0: a real read as nothing, or the unknown level); a real's
        # raw values, which as_of scales again, are NaN (not recorded).
        rows = block.rows
        values, raw = block.values.clone(), None if block.raw is None else block.raw.clone()
        if rows is None:
            lines = hidden
        else:  # the hidden series read copies of their rows from now on
            taken = rows[hidden]
            lines = torch.arange(len(hidden), device=rows.device) + values.shape[0]
            rows = rows.clone()
            rows[hidden] = lines
            values = torch.cat([values, values[taken]])
            raw = None if raw is None else torch.cat([raw, raw[taken]])
        values[lines, :origin] = blank
        if raw is not None:
            raw[lines, :origin] = float("nan")
        return Block(values, rows, block.names, raw)

    first_row = store.first_row
    if first_row is not None:
        first_row = first_row.clone()
        first_row[hidden.cpu()] = origin
    return dataclasses.replace(
        store,
        known_real=[cut(block, 0.0) for block in store.known_real],
        known_cat=[
            cut(block, UNKNOWN) if own.issuperset(block.names) else block
            for block in store.known_cat
        ],
        first_row=first_row,
    )


def backtest(
    store: PanelStore,
    forecasters: Sequence[Forecaster],
    horizon: int,
    n_origins: int = 3,
    step: int | None = None,
    refit: bool = False,
    segments: Sequence[str] | None = None,
    min_history: int | None = None,
    progress: bool = True,
    cold_start: float = 0.0,
    seed: int = 0,
) -> BacktestResult:
    """Score ``forecasters`` over rolling origins; ``segments`` are static categoricals of the
    store (default: all of them) and the demand class (smooth / intermittent / lumpy / erratic).

    ``n_origins`` origins ``step`` periods apart (default: ``horizon``), the last ``horizon``
    periods before the end (:func:`rolling_origins`); each forecasts ``horizon`` periods. A
    forecaster is fitted on the data before the first origin, and anew at every origin with
    ``refit``. Series with
    fewer than ``min_history`` periods of history before an origin (default: two seasons), or
    without ``horizon`` observed periods from it, are not scored there. ``progress`` shows a
    progress bar.

    ``cold_start`` hides that fraction of items' history (and identity) from fitting and
    forecasting; their forecasts are scored like the others, in the segment ``history=cold``;
    ``seed`` picks them.
    """
    names = [f.name for f in forecasters]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        # Windows and metrics are keyed by the model's name: two models of one name would be
        # scored as one (and only the first of them fitted).
        raise ValueError(f"forecasters: each needs its own name, {repeated} given twice or more")
    origins = rolling_origins(store, horizon, n_origins, step)
    seen, hidden = store, torch.zeros(0, dtype=torch.long)
    if cold_start:
        seen, hidden = hide_items(store, cold_start, seed)
    season = store.spec.season
    min_history = min_history if min_history is not None else 2 * season
    if min_history < 0:
        # A negative history let in windows that open before the series' first row: their
        # unobserved (NaN) actuals counted as misses in coverage and as windows in n_windows.
        raise ValueError(f"min_history: expected >= 0 periods before an origin, got {min_history}")
    segments = list(segments if segments is not None else store.spec.static_categoricals)
    own = {*WINDOW_COLUMNS, "segment_type", "segment"}
    for segment in segments:
        if segment not in store.keys.columns:
            raise ValueError(f"segments: {segment!r} is not a static categorical of the panel")
        if segment == "all":
            # The metrics' overall rows are segment_type "all": this segment's rows would be
            # read as more overall rows of each model (overall(), a monitor's reference).
            raise ValueError(
                "segments: the static categorical 'all' has the name the backtest gives its "
                "overall rows; rename it"
            )
        if segment in own or segment.startswith("coverage_"):
            # The window table has a column of that name: the segment would overwrite it (or
            # be overwritten), and windows or metrics would go to the wrong model or segment.
            raise ValueError(
                f"segments: the static categorical {segment!r} has the name of a column of "
                f"the backtest's own tables; rename it"
            )
    for forecaster in forecasters:
        if forecaster.horizon < horizon:
            raise ValueError(
                f"{forecaster.name}: forecasts {forecaster.horizon} periods, "
                f"the backtest needs {horizon}"
            )
        if not np.isclose(np.asarray(forecaster.quantiles), 0.5).any():
            # Refused before any fitting: WAPE, MASE and bias score the median.
            raise ValueError(
                f"{forecaster.name}: quantiles {list(forecaster.quantiles)} lack the median "
                "(0.5), which the backtest scores"
            )

    parts, forecasts = [], {}
    fitted_at: dict[str, int] = {}
    as_of: dict[tuple[int, int], PanelStore] = {}
    work = [(o, f) for o in origins for f in forecasters]
    unscored: set[int] = set()  # origins where no series had a window to score
    for origin, forecaster in tqdm(work, desc="backtest", disable=not progress):
        # Observed-only reals are standardized over the periods before the origin, as a
        # table ending there would have them: nothing from the origin on reaches the model.
        # Known reals by each series' history before the origin (a series without history:
        # over the forecaster's horizon of rows), as a table at the origin has them.
        key = (origin, forecaster.horizon)
        if key not in as_of:
            as_of = {k: v for k, v in as_of.items() if k[0] == origin}  # origins come in order
            # Hidden items are forecast as items launched at the origin: no covariates before
            # it either (their past prices and promotions reached the encoder, and their
            # prices were z-scored over them: inputs a new item's table does not have).
            launched = launched_at(seen, hidden, origin) if len(hidden) else seen
            as_of[key] = launched.as_of(origin, forecaster.horizon)
        known = as_of[key]
        if refit or forecaster.name not in fitted_at:
            forecaster.fit(known, cutoff=origin)
            fitted_at[forecaster.name] = origin
        series = evaluation_windows(seen, origin, horizon, min_history)
        cold = _cold_windows(store, hidden, origin, horizon)
        series = torch.cat([series, cold])
        if len(series) == 0:
            unscored.add(origin)
            continue
        starts = torch.full_like(series, origin)
        predicted = forecaster.predict_windows(known, series, starts)[:, :horizon]
        # Pandas' sums skip NaN: a window without a forecast would drop out of the error sums
        # while its demand stays in the denominator, and WAPE and bias would improve. An
        # infinite quantile is no forecast either (a -inf lower one covered everything).
        _refuse_nonfinite(
            predicted, store, series, origin, f"{forecaster.name}: NaN quantiles",
            "a backtest scores only complete, finite forecasts (NaN or infinite quantiles are "
            "refused)",
        )  # fmt: skip
        actual = _actuals(store, series, origin, horizon)
        scale = mase_scale(store, series, starts, season)
        scores = window_scores(actual, predicted, forecaster.quantiles, scale)
        keys = store.keys.iloc[series.cpu().numpy()].reset_index(drop=True)
        scores.insert(0, "model", forecaster.name)
        scores.insert(1, "origin", store.dates[origin])
        scores.insert(2, ITEM, keys[ITEM].to_numpy())
        scores.insert(3, LOCATION, keys[LOCATION].to_numpy())
        for segment in segments:
            scores[segment] = keys[segment].to_numpy()
        # Classed by the history the forecasts had: a hidden item has none ("no_history", as
        # auto and predict class a new item), not its true history (cold windows were counted
        # in "smooth" etc. by the demand they were hidden, mixing cold scores into those rows).
        scores["demand_class"] = demand_classes(seen, series, starts)
        if cold_start:
            scores["history"] = np.where(np.isin(series.numpy(), hidden.numpy()), "cold", "warm")
        parts.append(scores)
        if origin == origins[-1]:
            forecasts[forecaster.name] = {
                "series": series.cpu().numpy(),
                "origins": starts.cpu().numpy(),
                "quantiles": predicted,
                "levels": forecaster.quantiles,
            }
    if not parts:
        raise ValueError(
            f"nothing to score: no series has {min_history} periods of history before an "
            f"origin ({store.dates[origins[0]].date()} .. {store.dates[origins[-1]].date()}) "
            f"and {horizon} observed periods from it"
        )
    if unscored:
        # The summary reads as n_origins origins' scores; the early ones that no series had
        # the history for were skipped.
        shown = ", ".join(str(store.dates[o].date()) for o in sorted(unscored)[:3])
        warnings.warn(
            f"backtest: {len(unscored)} of {len(origins)} origins scored no series ({shown}): "
            f"none has {min_history} periods of history before it and {horizon} observed "
            "periods from it",
            UserWarning,
            stacklevel=2,
        )
    windows = pd.concat(parts, ignore_index=True)
    _warn_unscored(store, windows, min_history, horizon)
    columns = [*segments, "demand_class", *(["history"] if cold_start else [])]
    return BacktestResult(windows, metrics_table(windows, columns), forecasts)


def _warn_unscored(
    store: PanelStore, windows: pd.DataFrame, min_history: int, horizon: int
) -> None:
    """Name the series that no window scored: they are in none of the metrics (a series
    launched less than ``min_history`` periods before the origins, or one that stopped selling
    before them, was left out without a word)."""
    scored = pd.MultiIndex.from_frame(windows[[ITEM, LOCATION]].drop_duplicates())
    keys = store.keys[[ITEM, LOCATION]]
    missing = keys[~pd.MultiIndex.from_frame(keys).isin(scored)]
    if len(missing):
        named = ", ".join(f"{i} @ {loc}" for i, loc in missing.head(3).itertuples(index=False))
        warnings.warn(
            f"backtest: {len(missing)} of {len(keys)} series are in no metric (e.g. {named}): "
            f"no origin has {min_history} periods of their history before it and {horizon} "
            "observed periods from it",
            UserWarning,
            stacklevel=3,
        )


def _cold_windows(
    store: PanelStore, hidden: torch.Tensor, origin: int, horizon: int
) -> torch.Tensor:
    """Hidden series whose demand is observed over the whole horizon from ``origin``."""
    if len(hidden) == 0:
        return hidden
    ok = (store.start[hidden] <= origin) & (store.end[hidden] >= origin + horizon)
    return hidden[ok]


def _refuse_nonfinite(
    predicted: np.ndarray,
    store: PanelStore,
    series: torch.Tensor,
    origin: int,
    what: str,
    why: str,
) -> None:
    """A ValueError naming the first series whose window forecast from ``origin`` holds a NaN
    or infinite quantile: ``"<what> for N of M windows from <date> (e.g. ...); <why>"``."""
    missing = ~np.isfinite(predicted).all(axis=(1, 2))
    if missing.any():
        keys = store.keys.iloc[series.cpu().numpy()[missing]]
        named = zip(keys[ITEM][:3], keys[LOCATION][:3], strict=True)
        first = ", ".join(f"{item} @ {location}" for item, location in named)
        raise ValueError(
            f"{what} for {int(missing.sum())} of {len(series)} windows from "
            f"{store.dates[origin].date()} (e.g. {first}); {why}"
        )


def _actuals(store: PanelStore, series: torch.Tensor, origin: int, horizon: int) -> np.ndarray:
    return store.target[series.to(store.device), origin : origin + horizon].cpu().numpy()


def metrics_table(windows: pd.DataFrame, segments: Sequence[str]) -> pd.DataFrame:
    """Aggregate per-window scores per model, overall and per value of each segment column."""
    rows = []
    for model, group in windows.groupby("model", sort=False):
        rows.append({"model": model, "segment_type": "all", "segment": "all", **aggregate(group)})
        for segment in segments:
            for value, part in group.groupby(segment, sort=True):
                rows.append(
                    {"model": model, "segment_type": segment, "segment": value, **aggregate(part)}
                )
    return pd.DataFrame(rows)


def cumulative_calibration(
    store: PanelStore,
    forecaster,
    origins: Sequence[int],
    horizons: Sequence[int] = (7, 28),
    min_history: int = 28,
) -> pd.DataFrame:
    """Share of realized k-period sums below each cumulative quantile, per horizon k.

    ``forecaster`` must forecast cumulative quantiles (``predict_windows(..., cumulative=True)``);
    a calibrated 0.9 quantile covers about 90% of the realized sums.
    """
    rows = []
    longest = max(horizons)
    if min(horizons) < 1 or longest > forecaster.horizon:
        raise ValueError(
            f"horizons: expected 1..{forecaster.horizon} (the model's horizon), got "
            f"{list(horizons)}"
        )
    for origin in origins:
        series = evaluation_windows(store, origin, longest, min_history)
        starts = torch.full_like(series, origin)
        # As the backtest forecasts: observed reals blank from the origin on and real
        # covariates scaled by the history before it, so nothing recorded from the origin on
        # (page views, a later price) reaches the forecast being calibrated.
        known = store.as_of(origin, forecaster.horizon)
        predicted = forecaster.predict_windows(known, series, starts, cumulative=True)
        # ``actual <= NaN`` is False: a window without a forecast counted as a sum above every
        # quantile, n kept it, and each level's coverage moved toward 0 (an over-covering
        # model read as calibrated).
        name = getattr(forecaster, "name", type(forecaster).__name__)
        _refuse_nonfinite(
            predicted[:, :longest], store, series, origin,
            f"{name}: NaN or infinite cumulative quantiles",
            "calibration scores only complete forecasts",
        )  # fmt: skip
        actual = np.cumsum(_actuals(store, series, origin, longest), axis=1)
        for k in horizons:
            below = actual[:, k - 1, None] <= predicted[:, k - 1, :]
            for level, share in zip(forecaster.quantiles, below.mean(axis=0), strict=True):
                rows.append(
                    {"origin": store.dates[origin], "horizon": k, "level": level,
                     "coverage": float(share), "n": len(series)}
                )  # fmt: skip
    table = pd.DataFrame(rows)
    weights = table["n"]
    pooled = (
        table.assign(weighted=table["coverage"] * weights)
        .groupby(["horizon", "level"], as_index=False)[["weighted", "n"]]
        .sum()
    )
    pooled["coverage"] = pooled["weighted"] / pooled["n"]
    return pooled.drop(columns="weighted")
