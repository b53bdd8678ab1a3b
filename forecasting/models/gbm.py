"""A global gradient-boosted forecaster (LightGBM): one model of every series, direct multi-step.

The networks read a window of history and learn their own summaries of it; trees are given
the summaries a forecaster would compute by hand, as the M5 competition's winning entries
were. Each training row is one (series, origin, step h): the demand at ``origin + h`` from

* the demand before the origin: recent lags, means and spreads over several windows, the share
  of zero periods, periods since the last sale, the series' level over a year;
* the demand one and two seasons and one year before the target period, and where the season
  is shorter than a year (the week of daily data) the same phase's last value before the
  origin (seasonal naive's forecast) and its mean over the last 4 and 8 seasons;
* the item's mean over its locations and the location's over its items (recent window);
* the known covariates at the target period (each real raw, and relative to its mean over the
  year before the origin, to its last value before it and to the item's mean over its
  locations; each categorical's code, the calendar among them), the static categoricals as
  LightGBM categories, the static reals, and ``h``.

Nothing of the demand from the origin on is read (:meth:`GradientBoosted.features` cuts the
target at the origin before any feature is computed), so a row is what a forecast made at its
origin could know.

Fitting chooses on the validation window (the last horizon before the cutoff, as the networks
do): the median's objective among the absolute loss and Tweedie (count-like demand) and every
model's number of trees (early stopping on that window); the other levels are quantile
(pinball) objectives. The chosen models are then refitted on every origin up to the cutoff
(the validation window included) with their tree counts; they forecast from the cutoff on,
and the models fitted before the validation window forecast windows that start before it
(``auto`` scores its candidates there: the refitted trees have learnt that window). A
forecast's levels are sorted so that they never cross. Models are kept as LightGBM's own text
format (no pickles).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from forecasting.spec import DEFAULT_QUANTILES
from forecasting.store import PanelStore

YEAR = {"D": 364, "W": 52, "M": 12}
"""Periods in a year, by frequency (364 days: whole weeks, so the weekday lines up)."""


@dataclasses.dataclass(frozen=True)
class Grain:
    """The history features at one frequency: lags, windows and training origins."""

    lags: tuple[int, ...]
    windows: tuple[int, ...]
    spreads: tuple[int, ...]
    origin_stride: int
    train_span: int
    min_history: int


GRAINS = {
    "D": Grain((1, 2, 3, 4, 5, 6, 7, 14, 21, 28), (7, 14, 28, 56, 112, 364), (28, 112), 28,
               2 * 364, 56),
    "W": Grain((1, 2, 3, 4, 5, 6, 7, 8, 13, 26), (4, 8, 13, 26, 52), (8, 26), 2, 10**6, 26),
    "M": Grain((1, 2, 3, 4, 5, 6, 12), (3, 6, 12, 24), (6, 12), 1, 10**6, 12),
}  # fmt: skip
"""Per frequency. Daily origins are 28 days apart over the last two years (consecutive ones
repeat nearly the same rows, at 28 times the cost); weekly and monthly take every other week
and every month of the history."""

MEDIAN_OBJECTIVES = {
    "l1": {"objective": "quantile", "alpha": 0.5},
    "l1_leaves127": {"objective": "quantile", "alpha": 0.5, "num_leaves": 127,
                     "min_data_in_leaf": 30},
    "tweedie1.2": {"objective": "tweedie", "tweedie_variance_power": 1.2},
    "tweedie1.5": {"objective": "tweedie", "tweedie_variance_power": 1.5},
}  # fmt: skip
"""The median's candidates, chosen by WAPE on the validation window."""

MAX_ROUNDS = 1000
EARLY_STOPPING = 40


def _lightgbm():
    try:
        import lightgbm
    except ImportError as exc:  # a dependency of stockcast: only a broken install lacks it
        raise ImportError("the gbm forecaster needs lightgbm: pip install lightgbm") from exc
    return lightgbm


def _mean(values: np.ndarray, axis: int = 1) -> np.ndarray:
    """NaN-aware mean without numpy's warning on all-NaN rows (NaN there)."""
    finite = np.isfinite(values)
    count = finite.sum(axis=axis)
    total = np.where(finite, values, 0.0).sum(axis=axis)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan).astype(np.float32)


def _std(values: np.ndarray) -> np.ndarray:
    mean = _mean(values)
    return np.sqrt(_mean((values - mean[:, None]) ** 2)).astype(np.float32)


class GradientBoosted:
    """A global LightGBM quantile forecaster (backtest protocol: ``fit``, ``predict_windows``)."""

    name = "gbm"

    def __init__(
        self,
        horizon: int,
        frequency: str = "D",
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        seed: int = 0,
        threads: int = 0,
    ):
        if frequency not in GRAINS:
            raise ValueError(f"frequency: expected one of {list(GRAINS)}, got {frequency!r}")
        self.horizon, self.frequency = int(horizon), frequency
        self.quantiles = tuple(float(q) for q in quantiles)
        self.seed, self.threads = int(seed), int(threads)
        self.grain = GRAINS[frequency]
        self.boosters: dict[float, Any] = {}
        # The models fitted before the validation window, which forecast windows starting
        # before the cutoff: the refitted ones learnt those windows' demand.
        self.validation_boosters: dict[float, Any] = {}
        self.feature_names: list[str] = []
        self.categorical: list[str] = []
        self.cutoff: int | None = None
        # The date of the last period the refitted trees read: a prediction table's periods
        # count from its own first date, not the training table's.
        self.last_fitted: str | None = None
        self.info: dict[str, Any] = {}

    # -------------------------------------------------------------- features

    def features(self, store: PanelStore, origin: int) -> tuple[np.ndarray, list[str]]:
        """Rows (S * horizon, F) of every series at ``origin`` and steps 1..horizon, and the
        feature names. Reads the demand before ``origin`` only."""
        grain, horizon, year = self.grain, self.horizon, YEAR[self.frequency]
        history = store.target[:, :origin].cpu().numpy().astype(np.float32)
        n_series = history.shape[0]
        steps = np.arange(horizon)
        target_periods = origin + steps
        columns: dict[str, np.ndarray] = {}

        def each_step(values: np.ndarray) -> np.ndarray:
            return np.repeat(np.asarray(values, np.float32)[:, None], horizon, axis=1)

        def lagged(k: int) -> np.ndarray:
            return history[:, origin - k] if k <= origin else np.full(n_series, np.nan, np.float32)

        def last(window: int) -> np.ndarray:
            return history[:, max(0, origin - window) : origin]

        columns["h"] = np.broadcast_to(steps + 1, (n_series, horizon))
        for k in grain.lags:
            columns[f"lag{k}"] = each_step(lagged(k))
        for window in grain.windows:
            columns[f"mean{window}"] = each_step(_mean(last(window)))
        for window in grain.spreads:
            columns[f"std{window}"] = each_step(_std(last(window)))
        for window in (grain.windows[2], grain.windows[-1]):
            recent = last(window)
            columns[f"zeros{window}"] = each_step(_mean(np.where(np.isnan(recent), np.nan,
                                                                 recent == 0)))  # fmt: skip
        columns["n_observed"] = each_step(np.isfinite(history).sum(axis=1))
        sold = np.where(np.nan_to_num(history) > 0, np.arange(origin)[None, :], -1).max(axis=1)
        columns["since_sale"] = each_step(np.where(sold >= 0, origin - sold, np.nan))
        columns["level"] = each_step(_mean(last(year)))
        recent_mean = pd.Series(_mean(last(grain.windows[2])))
        for name in ("item_id", "location_id"):
            group = store.keys[name].astype(str).to_numpy()
            columns[f"{name}_mean"] = each_step(recent_mean.groupby(group).transform("mean"))
        # The target period one and two seasons and one year back (all before the origin when
        # the horizon is within a season; a later one is NaN), and the year's neighbours.
        for k in sorted({store.spec.season, 2 * store.spec.season, year, 2 * year}):
            columns[f"seasonal{k}"] = self._at(history, target_periods - k)
        around = range(-3, 4) if self.frequency == "D" else range(-1, 2)
        columns["year_around"] = _mean(
            np.stack([self._at(history, target_periods - year + d) for d in around]), axis=0
        )
        season = store.spec.season
        if season < year:
            # A season shorter than the horizon (the week of a 28-day forecast): the same
            # phase's last value before the origin (seasonal naive's forecast) and the mean of
            # its last 4 and 8, where the lags one season back are past the origin.
            first = target_periods - season * (steps // season + 1)
            phase = np.stack([self._at(history, first - season * j) for j in range(8)])
            columns["phase1"] = phase[0]
            columns["phase4"] = _mean(phase[:4], axis=0)
            columns["phase8"] = _mean(phase, axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                columns["phase8_vs_level"] = columns["phase8"] / columns[f"mean{grain.windows[3]}"]
        self._covariates(store, origin, target_periods, year, columns)
        for k, name in enumerate(store.static_cat_names):
            columns[f"scat_{name}"] = each_step(store.static_cat[:, k].cpu().numpy())
        for k in range(store.static_real.shape[1]):
            columns[f"sreal_{k}"] = each_step(store.static_real[:, k].cpu().numpy())
        names = list(columns)
        matrix = np.stack([np.asarray(columns[n], np.float32).reshape(-1) for n in names], axis=1)
        return matrix, names

    @staticmethod
    def _at(history: np.ndarray, periods: np.ndarray) -> np.ndarray:
        """``history[:, periods]`` (S, len(periods)), NaN where a period is outside it."""
        inside = (periods >= 0) & (periods < history.shape[1])
        out = np.full((history.shape[0], len(periods)), np.nan, np.float32)
        out[:, inside] = history[:, periods[inside]]
        return out

    def _covariates(self, store, origin, periods, year, columns) -> None:
        """Known reals (raw, relative to their year before the origin, to their last value
        before it and to the item's mean over its locations) and known categorical codes, at
        the target periods."""
        n_series = store.n_series
        items = store.keys["item_id"].astype(str).to_numpy()
        series = torch.arange(n_series)
        # Only the periods read (the year before the origin and the target periods) are cut,
        # before the rows are spread over the series: a shared block (a price per item, the
        # calendar's one row) was copied to every series over every period, (S, T, F) at each
        # origin (for 2,000 series of 4,000 days 224 MB for an 11 MB feature matrix).
        n_periods = store.n_periods
        lo = max(0, origin - year)
        clipped = np.clip(periods, 0, n_periods - 1)
        hi = max(origin, int(clipped.max()) + 1)
        for block in store.known_real:
            raw = block.raw if block.raw is not None else block.values
            rows = series if block.rows is None else block.rows
            values = raw[:, lo:hi].cpu().numpy()[rows.cpu().numpy()].astype(np.float32)
            for f, name in enumerate(block.names):
                at = values[:, clipped - lo, f]
                at[:, periods >= n_periods] = np.nan
                past = values[:, : origin - lo, f]
                before = values[:, origin - 1 - lo, f] if origin > 0 else np.full(n_series, np.nan)
                item_mean = pd.DataFrame(at).groupby(items).transform("mean").to_numpy()
                with np.errstate(divide="ignore", invalid="ignore"):
                    columns[f"kreal_{name}"] = at
                    columns[f"kreal_{name}_vs_year"] = at / _mean(past)[:, None]
                    columns[f"kreal_{name}_vs_last"] = at / before[:, None]
                    columns[f"kreal_{name}_vs_item"] = at / item_mean
        for block in store.known_cat:
            rows = series if block.rows is None else block.rows
            cut = block.values[:, torch.as_tensor(clipped, device=block.values.device)]
            codes = cut.cpu().numpy()[rows.cpu().numpy()]  # (S, H, F)
            for f, name in enumerate(block.names):
                columns[f"kcat_{name}"] = codes[:, :, f].astype(np.float32)

    @staticmethod
    def _categorical(names: list[str]) -> list[str]:
        # Each block's columns carry their own prefix, so a user's column name never reads
        # as another kind (a static categorical named "real0" beside the static reals).
        return [n for n in names if n.startswith(("scat_", "kcat_"))]

    # ------------------------------------------------------------------ fitting

    def _origins(self, limit: int) -> list[int]:
        """Training origins whose whole horizon ends before ``limit``, the latest first kept."""
        last = limit - self.horizon
        first = max(self.grain.min_history, last - self.grain.train_span)
        return list(range(last, first - 1, -self.grain.origin_stride))[::-1]

    def _rows(self, store: PanelStore, limit: int, origins: list[int]):
        """Feature rows and targets of ``origins`` (every target before ``limit``)."""
        xs, ys = [], []
        for origin in origins:
            matrix, names = self.features(store, origin)
            target = store.target[:, origin : origin + self.horizon].cpu().numpy()
            assert origin + self.horizon <= limit
            target = target.reshape(-1)
            keep = np.isfinite(target) & (
                matrix[:, names.index("n_observed")] >= self.grain.min_history
            )
            xs.append(matrix[keep])
            ys.append(target[keep])
        if not xs or not sum(len(y) for y in ys):
            raise ValueError(
                f"gbm: no training rows: every series needs {self.grain.min_history} periods of "
                f"history and a whole horizon ({self.horizon}) before the cutoff"
            )
        return np.concatenate(xs), np.concatenate(ys)

    def _params(self, extra: dict[str, Any]) -> dict[str, Any]:
        params = {
            "learning_rate": 0.1, "num_leaves": 31, "min_data_in_leaf": 50,
            "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
            "lambda_l2": 1.0, "max_bin": 127, "seed": self.seed, "deterministic": True,
            "force_col_wise": True, "verbose": -1, "num_threads": self.threads,
        }  # fmt: skip
        return {**params, **extra}

    def _train(self, params, train, valid=None, rounds: int = MAX_ROUNDS):
        lgb = _lightgbm()
        data = lgb.Dataset(train[0], train[1], feature_name=self.feature_names,
                           categorical_feature=self.categorical, free_raw_data=False)  # fmt: skip
        if valid is None:
            return lgb.train(params, data, num_boost_round=rounds)
        checked = lgb.Dataset(valid[0], valid[1], reference=data)
        stop = lgb.early_stopping(EARLY_STOPPING, verbose=False)
        return lgb.train(params, data, rounds, valid_sets=[checked], callbacks=[stop])

    def fit(self, store: PanelStore, cutoff: int | None = None) -> GradientBoosted:
        """Fit on the demand before ``cutoff`` (default: the panel's end): choose on its last
        horizon, then refit on all of it (see the module docstring)."""
        cutoff = int(store.end.max().item()) if cutoff is None else int(cutoff)
        validation = cutoff - self.horizon
        # The store as of the cutoff: nothing of the demand from it on is read below.
        store = dataclasses.replace(store, target=store.target[:, :cutoff])
        matrix, names = self.features(store, validation)
        self.feature_names, self.categorical = names, self._categorical(names)
        train = self._rows(store, validation, self._origins(validation))
        actual = store.target[:, validation:cutoff].cpu().numpy().reshape(-1)
        keep = np.isfinite(actual) & (
            matrix[:, names.index("n_observed")] >= self.grain.min_history
        )
        valid = (matrix[keep], actual[keep])
        if not len(valid[1]):
            raise ValueError("gbm: the validation window (the last horizon) has no demand rows")
        total = max(float(np.abs(valid[1]).sum()), 1e-9)
        median: dict[str, tuple[float, int]] = {}
        held: dict[str, Any] = {}
        for label, extra in MEDIAN_OBJECTIVES.items():
            if extra["objective"] == "tweedie" and not train[1].any():
                # Tweedie's log link has no fit to a demand that is all zero (LightGBM stops
                # with "sum of labels is zero"): the absolute loss forecasts it.
                continue
            held[label] = self._train(self._params({**extra, "metric": "l1"}), train, valid)
            point = np.maximum(held[label].predict(valid[0]), 0)  # at its best iteration
            median[label] = (float(np.abs(point - valid[1]).sum() / total),
                             held[label].best_iteration)  # fmt: skip
        chosen = min(median, key=lambda k: median[k][0])
        shape = {k: v for k, v in MEDIAN_OBJECTIVES[chosen].items() if k.startswith(("num", "min"))}
        plan = {0.5: (MEDIAN_OBJECTIVES[chosen], median[chosen][1])}
        self.validation_boosters = {0.5: held[chosen]}
        for q in self.quantiles:
            if q not in plan:
                extra = {"objective": "quantile", "alpha": q, **shape}
                booster = self._train(self._params({**extra, "metric": "quantile"}), train, valid)
                plan[q] = (extra, booster.best_iteration)
                self.validation_boosters[q] = booster
        # Refit on every origin up to the cutoff, the trees scaled with the rows (at most +20%).
        every = self._rows(store, cutoff, self._origins(cutoff))
        grow = min(1.2, len(every[1]) / len(train[1]))
        self.boosters = {
            q: self._train(self._params(extra), every, rounds=max(20, round(rounds * grow)))
            for q, (extra, rounds) in plan.items()
        }
        self.cutoff = cutoff
        self.last_fitted = store.dates[cutoff - 1].isoformat()
        self.info = {
            "median_objective": chosen,
            "validation_wape": {k: round(v[0], 6) for k, v in median.items()},
            "trees": {str(q): b.num_trees() for q, b in self.boosters.items()},
            "training_rows": len(every[1]),
        }
        return self

    # --------------------------------------------------------------- predicting

    def predict_windows(
        self, store: PanelStore, series: torch.Tensor, origins: torch.Tensor
    ) -> np.ndarray:
        """Quantiles (N, horizon, Q) of each window (``series[i]`` from ``origins[i]``)."""
        if not self.boosters:
            raise RuntimeError("this forecaster is not fitted: call fit() first")
        series_np = series.cpu().numpy()
        origins_np = origins.cpu().numpy()
        out = np.zeros((len(series_np), self.horizon, len(self.quantiles)), np.float32)
        for origin in np.unique(origins_np):
            rows = np.flatnonzero(origins_np == origin)
            matrix, names = self.features(store, int(origin))
            if names != self.feature_names:
                raise ValueError(
                    "gbm: this panel's covariates differ from the training panel's "
                    f"({len(names)} features against {len(self.feature_names)})"
                )
            boosters = self.boosters
            if self._before_cutoff(store, int(origin)):
                boosters = self.validation_boosters
            # The features need every series (the item's and location's means), the trees only
            # the windows asked for: a table whose series end on many dates cost a prediction
            # of the whole panel per end.
            wanted = matrix.reshape(store.n_series, self.horizon, -1)[series_np[rows]]
            levels = self._levels(boosters, wanted.reshape(-1, wanted.shape[-1]))
            out[rows] = levels.reshape(len(rows), self.horizon, -1)
        return out

    def _before_cutoff(self, store: PanelStore, origin: int) -> bool:
        """Whether a window from ``origin`` starts on a period the refitted trees learnt.
        Compared by date: a table whose history starts later than the training table's (a
        trimmed history, or without a series that started earlier) numbers its periods from
        another first date, and its forecasts were made by the validation trees."""
        if self.cutoff is None:
            return False
        if self.last_fitted is None:  # saved before the date was kept: the training store's
            return origin < self.cutoff
        return origin < len(store.dates) and store.dates[origin] <= pd.Timestamp(self.last_fitted)

    def _levels(self, boosters: dict[float, Any], matrix: np.ndarray) -> np.ndarray:
        out = np.empty((len(matrix), len(self.quantiles)), np.float32)
        for j, q in enumerate(self.quantiles):
            out[:, j] = boosters[q].predict(matrix)  # at its best iteration, if it stopped early
        # No crossing, no negative demand. The sorted values go to the levels in increasing
        # order, not to the columns in turn: levels given as (0.9, 0.5, 0.1) got the 0.1
        # model's forecast under 0.9 and the 0.9 model's under 0.1.
        out = np.maximum(out, 0.0)
        out[:, np.argsort(self.quantiles, kind="stable")] = np.sort(out, axis=1)
        return out

    # -------------------------------------------------------------- persistence

    def state(self) -> dict[str, Any]:
        """The settings and what fitting chose (the trees go to :meth:`save_trees`)."""
        return {
            "horizon": self.horizon, "frequency": self.frequency,
            "quantiles": list(self.quantiles), "seed": self.seed, "cutoff": self.cutoff,
            "last_fitted": self.last_fitted, "feature_names": self.feature_names,
            "categorical": self.categorical,
            "info": self.info,
        }  # fmt: skip

    def save_trees(self, path: str | Path) -> None:
        """Every level's trees (refitted and validation ones), in LightGBM's text format, as
        one JSON file."""
        models = {
            kind: {str(q): b.model_to_string() for q, b in boosters.items()}
            for kind, boosters in (("forecast", self.boosters),
                                   ("validation", self.validation_boosters))
        }  # fmt: skip
        Path(path).write_text(json.dumps(models))

    @classmethod
    def restore(cls, state: dict[str, Any], trees: str | Path) -> GradientBoosted:
        """Rebuild from :meth:`state` and the file :meth:`save_trees` wrote (text, no pickle)."""
        lgb = _lightgbm()
        model = cls(state["horizon"], state["frequency"], state["quantiles"], state["seed"])
        model.cutoff = state.get("cutoff")
        model.last_fitted = state.get("last_fitted")
        model.feature_names = list(state["feature_names"])
        model.categorical = list(state["categorical"])
        model.info = dict(state.get("info") or {})
        models = json.loads(Path(trees).read_text())
        for kind in ("forecast", "validation"):
            boosters = {float(q): lgb.Booster(model_str=text) for q, text in models[kind].items()}
            missing = [q for q in model.quantiles if q not in boosters]
            if missing:
                raise ValueError(f"{trees}: no {kind} trees for the levels {missing}")
            setattr(model, "boosters" if kind == "forecast" else "validation_boosters", boosters)
        return model
