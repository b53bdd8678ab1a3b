"""``auto``: fit every network and baseline, forecast each demand class with the best of them.

No single model wins everywhere: on intermittent items a moving average or seasonal naive can
beat a network that shines on smooth ones, and on a short monthly panel the networks may not
learn the season at all. ``auto`` fits the LSTM and the TFT (each an ensemble when ``ensemble``
is set) with each step head of ``auto_distributions``: quantiles (``lstm``, ``tft``) and a
negative binomial of the count (``lstm_nb``, ``tft_nb``), which fits some panels better and
others worse (on monthly m5_tiny it won, on weekly it lost), so the validation window decides.
It takes the gradient-boosted forecaster (``gbm``, :mod:`forecasting.models.gbm`; unless
``auto_gbm`` is off), seasonal naive and the moving average beside them, the average of each
pair of networks' quantiles (``lstm+tft``, ``lstm_nb+tft_nb``), of each pair's and the gbm's
(``lstm+tft+gbm``, ``lstm_nb+tft_nb+gbm``) and of the quantile pair's and seasonal naive's
(``lstm+tft+seasonal_naive``), scores them all on the validation window (the last horizon
before the cutoff, which no network trained on: it only chose their checkpoints) and keeps, per
demand class (smooth / intermittent / lumpy / erratic, from each series' own history), the
candidate with the best mean of its scaled quantile loss and its WAPE relative to seasonal
naive's, among those no worse than seasonal naive on either (seasonal naive itself when none
is): the quantiles and the median both count, and nothing that lost to the simplest forecast on
a class is shipped for it. A class the validation window did not have goes to the best
candidate overall.

One validation window is a small sample per class, and with twelve candidates the best of them on
it is often best by luck: on weekly m5_tiny the smooth class went to ``lstm_nb``, 1.6% ahead of
``lstm+tft`` on validation and 19% behind it on WAPE over the held-out horizon. So a class
leaves the overall best (``fallback``) for its own winner only when that winner is ahead in at
least :data:`SPECIALIZE_CONFIDENCE` of :data:`BOOTSTRAP_RESAMPLES` bootstrap resamples of the
class's windows (``p_better`` in the scores table), or when the fallback lost to seasonal naive
on the class.

A choice per demand class can still lose to seasonal naive on a segment that cuts across the
classes (a department of seasonal items, one state): so the routed forecast is then checked on
every segment of the static categoricals and the location with at least
:data:`MIN_SEGMENT_WINDOWS` validation windows, finest segmentation first, and where it lost to
seasonal naive on either metric, that segment's windows get the candidate that scores best
there by the same rule (``overrides``; a finer segment's override wins over a coarser one's).
The tables of validation scores are kept (``scores``, ``overrides``) and saved with the run,
so a user sees what was chosen and by how much.

Lead-time (cumulative) quantiles come from the model each series is routed to, so a plan reads
the forecast ``auto`` chose: a network's lead-time head, the baselines' sums (their own errors
of k-period sums, :mod:`forecasting.models.baselines`), an average's members level by level.
The gbm has no lead-time forecast: an average holding it leaves it out, and a series routed to
the gbm alone gets the networks' average. A series with less than 2 x horizon + season periods
of history routed to a baseline gets the cold start's: the baseline has too few errors of its
longest sums to spread them by.
"""

from __future__ import annotations

import dataclasses
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from forecasting.config import BASELINE_NAMES, NETWORK_NAMES, ForecastConfig
from forecasting.metrics import aggregate, demand_classes, mase_scale, window_scores
from forecasting.models.gbm import GradientBoosted
from forecasting.spec import LOCATION, PanelSpec
from forecasting.store import PanelStore
from forecasting.validate import missing_as_saved
from forecasting.windows import evaluation_windows
from training.config import TrainConfig

COMBINED = "lstm+tft"
"""The candidate that averages the two networks' quantiles level by level."""

BLEND = "lstm+tft+seasonal_naive"
"""The candidate that averages the two networks' and seasonal naive's quantiles: where a
yearly pattern is strong but the networks only half learned it, a third of seasonal naive
keeps it in the forecast."""

NB_SUFFIX = "_nb"
"""Names the networks with a negative binomial step head (``lstm_nb``, ``tft_nb``)."""

NB_COMBINED = f"lstm{NB_SUFFIX}+tft{NB_SUFFIX}"
"""The candidate that averages the two negative binomial networks' quantiles."""

GBM = "gbm"
"""The gradient-boosted forecaster (:mod:`forecasting.models.gbm`)."""

GBM_COMBINED = f"lstm+tft+{GBM}"
"""The candidate that averages the two quantile networks' and the gbm's quantiles."""

NB_GBM_COMBINED = f"{NB_COMBINED}+{GBM}"
"""The candidate that averages the two negative binomial networks' and the gbm's quantiles:
where the validation window prefers the negative binomial pair (daily m5_tiny), the gbm is a
model of another kind whose errors only partly coincide with theirs."""

COMPOSITES = {
    COMBINED: NETWORK_NAMES,
    BLEND: (*NETWORK_NAMES, "seasonal_naive"),
    NB_COMBINED: tuple(n + NB_SUFFIX for n in NETWORK_NAMES),
    GBM_COMBINED: (*NETWORK_NAMES, GBM),
    NB_GBM_COMBINED: (*(n + NB_SUFFIX for n in NETWORK_NAMES), GBM),
}
"""The candidates that average others' quantiles, and their parts (a composite whose networks
were not fitted is not a candidate)."""


def network_name(model: str, distribution: str) -> str:
    """``auto``'s name of network ``model`` with step head ``distribution``."""
    return model if distribution == "quantile" else model + NB_SUFFIX


def network_config(config: ForecastConfig, model: str, distribution: str) -> ForecastConfig:
    """The settings of ``auto``'s network ``model`` with step head ``distribution``: a target
    transform is the quantile heads' (a negative binomial head fits the counts themselves), so
    ``--target-transform log1p`` applies to ``lstm`` and ``tft`` and the ``_nb`` networks fit
    as without it (their settings refused the transform: the fit stopped)."""
    transform = config.target_transform if distribution == "quantile" else "none"
    return dataclasses.replace(
        config, model=model, distribution=distribution, target_transform=transform
    )


BOOTSTRAP_RESAMPLES = 1000
"""Resamples of the validation windows behind ``p_better``."""

SPECIALIZE_CONFIDENCE = 0.9
"""Share of resamples in which a class's own winner must beat the overall best for ``auto`` to
route the class to it: below, the difference is within what resampling the class's series moves
it by, and the candidate that wins over all series is the safer bet."""

MIN_SEGMENT_WINDOWS = 20
"""Validation windows a segment needs before ``auto`` overrides the per-class choice on it:
fewer, and a difference between candidates is mostly the noise of a few series."""


class AutoForecaster:
    """Per demand class, the best of the networks, their average and the baselines."""

    name = "auto"

    def __init__(self, config: ForecastConfig, train: TrainConfig):
        from training.forecaster import NeuralForecaster  # the module that uses this one

        self.config, self.train = config, train
        self.networks: dict[str, NeuralForecaster] = {
            network_name(name, head): NeuralForecaster(network_config(config, name, head), train)
            for head in config.auto_distributions
            for name in NETWORK_NAMES
        }
        # Every fit starts from these: a network left out of one fit (diverged, or negative
        # binomial on fractional demand) is tried again at the next (a backtest's next origin).
        self._configured = dict(self.networks)
        self.baselines: dict[str, Any] = {}
        # Fitted with the panel's frequency, which fit() learns: named here, built there.
        self.trees: dict[str, GradientBoosted | None] = {GBM: None} if config.auto_gbm else {}
        self.choice: dict[str, str] = {}
        self.fallback = self._default_fallback()
        self.overrides: list[dict[str, Any]] = []
        self.scores = pd.DataFrame()
        self.info: dict[str, Any] = {}

    @property
    def horizon(self) -> int:
        return self.config.horizon

    @property
    def quantiles(self) -> tuple[float, ...]:
        return self.config.quantiles

    @property
    def vocab(self) -> dict[str, list[str]]:
        """The categorical vocabularies the networks were trained with (one store, so one
        vocabulary): a prediction table is encoded with them, never with its own levels."""
        for network in self.networks.values():
            if network.vocab:
                return network.vocab
        return {}

    @property
    def composites(self) -> dict[str, tuple[str, ...]]:
        """The averaging candidates whose networks this forecaster has."""
        have = {*self.networks, *self.trees, *BASELINE_NAMES}
        return {name: parts for name, parts in COMPOSITES.items() if set(parts) <= have}

    @property
    def candidates(self) -> tuple[str, ...]:
        return (*self.networks, *self.trees, *self.composites, *BASELINE_NAMES)

    @property
    def static_stats(self) -> dict[str, list[float]] | None:
        """The static reals' training mean and std (the networks share one store)."""
        for network in self.networks.values():
            if network.static_stats:
                return network.static_stats
        return None

    def _default_fallback(self) -> str:
        """Before any validation: the first average of two networks."""
        return next(iter(self.composites), next(iter(self.networks)))

    def _set_baselines(self, season: int) -> None:
        from training.forecaster import baseline

        self.baselines = {name: baseline(name, self.config, season) for name in BASELINE_NAMES}

    # ----------------------------------------------------------------- fitting

    def fit(
        self, store: PanelStore, cutoff: int | None = None, run_dir: str | Path | None = None
    ) -> AutoForecaster:
        """Fit every network on periods before ``cutoff`` (their checkpoints and logs in
        ``run_dir/<network>/``), then choose per demand class on the validation window. A
        network whose training diverged is left out with a warning (its NaN forecasts would
        score as perfect); every network diverging is a ``TrainingDiverged`` error."""
        from training.forecaster import TrainingDiverged, check_whole_counts, fractional_demand

        cutoff = int(store.end.max().item()) if cutoff is None else int(cutoff)
        # The configured networks, not the last fit's: one that diverged at a backtest's first
        # origin was never fitted again at the later ones (and the others diverging there was
        # "every network diverged").
        self.networks = dict(self._configured)
        count, example = fractional_demand(store, cutoff)
        nb_networks = [name for name in self.networks if name.endswith(NB_SUFFIX)]
        if count and len(nb_networks) == len(self.networks):
            check_whole_counts(store, cutoff)  # --auto-distributions negative_binomial alone
        if count and nb_networks:
            # A negative binomial head forecasts whole counts (0 or 1 unit of a 0.3 a day).
            warnings.warn(
                f"auto: {count} demand values are fractional (first: {example}); the negative "
                f"binomial networks ({', '.join(nb_networks)}) forecast whole counts and are "
                "left out",
                stacklevel=2,
            )
            self.networks = {k: v for k, v in self.networks.items() if k not in nb_networks}
            self.fallback = self._default_fallback()
        diverged = {}
        for name, network in self.networks.items():
            folder = None if run_dir is None else Path(run_dir) / name
            try:
                network.fit(store, cutoff, run_dir=folder)
            except TrainingDiverged as exc:
                # Its forecasts would be NaN, which the validation scores read as a perfect
                # score (no error counted): a candidate left out, the others kept.
                diverged[name] = exc
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)  # saves nothing of it
        if diverged and len(diverged) == len(self.networks):
            raise TrainingDiverged(
                "auto: every network diverged; " + "; ".join(str(e) for e in diverged.values())
            )
        for name, error in diverged.items():
            warnings.warn(f"auto: {name} left out ({error})", stacklevel=2)
        if diverged:
            self.networks = {k: v for k, v in self.networks.items() if k not in diverged}
            self.fallback = self._default_fallback()
        # Every fit tries the gbm afresh: one that had too little history at a backtest's
        # first origin may fit at a later one.
        self.trees = {GBM: None} if self.config.auto_gbm else {}
        for name in list(self.trees):
            try:
                self.trees[name] = GradientBoosted(
                    self.horizon, store.spec.frequency, self.quantiles, seed=self.train.seed
                ).fit(store, cutoff)
            except ValueError as exc:  # too little history for its lags: not a candidate
                warnings.warn(f"auto: {name} left out ({exc})", stacklevel=2)
                del self.trees[name]
        self._set_baselines(store.spec.season)
        self.choose(store, cutoff - self.horizon)
        first = next(iter(self.networks.values())).info
        self.info = {
            "cutoff": first.get("cutoff"),
            "data_fingerprint": first.get("data_fingerprint"),
            "best_val_loss": {n: m.info.get("best_val_loss") for n, m in self.networks.items()},
            "choice": dict(self.choice),
            "fallback": self.fallback,
            "overrides": [dict(o) for o in self.overrides],
            "is_global_zero": first.get("is_global_zero", True),
            **{name: tree.info for name, tree in self._trees.items()},
        }
        return self

    @property
    def _trees(self) -> dict[str, GradientBoosted]:
        """The fitted tree forecasters (none before fit)."""
        return {name: tree for name, tree in self.trees.items() if tree is not None}

    def choose(self, store: PanelStore, origin: int) -> pd.DataFrame:
        """Score every candidate on the windows forecast from ``origin`` and keep the best per
        demand class (see the module docstring); the table has every candidate's scores."""
        season = store.spec.season
        series = evaluation_windows(store, origin, self.horizon, min_history=season)
        if len(series) == 0:
            self.choice, self.fallback = {}, self._default_fallback()
            # Nothing was compared with seasonal naive: say so, and what every series gets
            # (the summary is empty, and the forecasts came from an unscored candidate).
            warnings.warn(
                f"auto: no series has {season} periods of history before the validation "
                f"window ({store.dates[origin].date()}) and that window observed: no candidate "
                f"was scored, every series is forecast with {self.fallback}",
                stacklevel=3,
            )
            self.scores = pd.DataFrame()
            self.overrides = []
            return self.scores
        origins = torch.full_like(series, origin)
        actual = store.target[series, origin : origin + self.horizon].cpu().numpy()
        scale = mase_scale(store, series, origins, season)
        classes = demand_classes(store, series, origins)
        # The candidates forecast the validation windows from what a table ending at ``origin``
        # gives, as predict would have: the store's reals are z-scored over the validation
        # window and the prices published after it, inputs no forecast from there reads.
        known = store.as_of(origin, self.horizon)
        rows = []
        per_window = {}
        forecasts = self._candidate_forecasts(known, series, origins)
        for name, forecast in list(forecasts.items()):
            bad = ~np.isfinite(forecast).all(axis=tuple(range(1, forecast.ndim)))
            if name != "seasonal_naive" and bad.any():
                # The scores sum a window's errors skipping NaN: a candidate forecasting NaN
                # for some windows scored as if it had no error there (WAPE 0 where every
                # window was NaN), ranked first and was shipped. Not a candidate.
                warnings.warn(
                    f"auto: {name} left out: its forecast is not finite (NaN or inf) for "
                    f"{int(bad.sum())} of {len(bad)} validation windows",
                    stacklevel=3,
                )
                del forecasts[name]
        for name, forecast in forecasts.items():
            scores = window_scores(actual, forecast, self.quantiles, scale)
            per_window[name] = scores.copy()
            scores["demand_class"] = classes
            rows.append({"model": name, "demand_class": "all", **aggregate(scores)})
            for label, part in scores.groupby("demand_class"):
                rows.append({"model": name, "demand_class": label, **aggregate(part)})
        table = pd.DataFrame(rows)
        naive = table[table["model"] == "seasonal_naive"].set_index("demand_class")
        no_worse = pd.Series(True, index=table.index)
        for metric in ("sql", "wape"):
            reference = table["demand_class"].map(naive[metric])
            table[f"relative_{metric}"] = table[metric] / reference
            # A metric seasonal naive or the candidate cannot score on a class (no MASE
            # scale, no demand) is a tie, as in _no_worse and _relative.
            scored = np.isfinite(table[metric]) & np.isfinite(reference)
            no_worse &= ~scored | (table[metric] <= reference)
        relative = table[["relative_sql", "relative_wape"]]
        table["score"] = relative.where(np.isfinite(relative)).mean(axis=1).fillna(1.0)
        # A candidate worse than seasonal naive on either metric is not eligible; seasonal
        # naive itself always is (score 1), so every class gets a model.
        eligible = table[(table["model"] == "seasonal_naive") | no_worse]
        ranked = eligible.sort_values(["score", "sql"], na_position="last")
        best = ranked.groupby("demand_class", sort=True).first()["model"].to_dict()
        self.fallback = fallback = best.pop("all")
        table["p_better"] = _p_better(per_window, classes, table, fallback, seed=self.train.seed)
        p_better = table.set_index(["model", "demand_class"])["p_better"]
        fallback_eligible = set(eligible.loc[eligible["model"] == fallback, "demand_class"])
        self.choice = {
            label: name
            if label not in fallback_eligible or p_better[(name, label)] >= SPECIALIZE_CONFIDENCE
            else fallback
            for label, name in best.items()
        }
        self.scores = table
        routed = np.array([self.choice.get(c, self.fallback) for c in classes], dtype=object)
        keys = store.keys.iloc[series.cpu().numpy()].reset_index(drop=True)
        self.overrides = _segment_overrides(per_window, routed, keys, _segment_columns(store))
        return table

    def summary(self) -> pd.DataFrame:
        """Per demand class (and ``all``, the fallback): the model chosen and its validation
        SQL and WAPE beside seasonal naive's."""
        if self.scores.empty:
            return pd.DataFrame(columns=["demand_class", "model"])
        scores = self.scores.set_index(["model", "demand_class"])
        rows = []
        for label, name in [*sorted(self.choice.items()), ("all", self.fallback)]:
            rows.append(
                {
                    "demand_class": label,
                    "model": name,
                    "sql": scores.loc[(name, label), "sql"],
                    "wape": scores.loc[(name, label), "wape"],
                    "seasonal_naive_sql": scores.loc[("seasonal_naive", label), "sql"],
                    "seasonal_naive_wape": scores.loc[("seasonal_naive", label), "wape"],
                    "n_windows": int(scores.loc[(name, label), "n_windows"]),
                    "p_better": scores.get("p_better", pd.Series(dtype=float)).get(
                        (name, label), float("nan")
                    ),
                }
            )
        return pd.DataFrame(rows)

    # --------------------------------------------------------------- predicting

    def _candidate_forecasts(
        self, store: PanelStore, series: torch.Tensor, origins: torch.Tensor, only=None
    ) -> dict[str, np.ndarray]:
        wanted = set(self.candidates if only is None else only)
        composites = self.composites
        for composite, parts in composites.items():
            if composite in wanted:
                wanted |= set(parts)
        out = {
            name: model.predict_windows(store, series, origins)
            for name, model in {**self.networks, **self._trees, **self.baselines}.items()
            if name in wanted
        }
        for composite, parts in composites.items():
            if composite in wanted:
                out[composite] = np.mean([out[name] for name in parts], axis=0)
        return out

    def route(self, store: PanelStore, series: torch.Tensor, origins: torch.Tensor) -> np.ndarray:
        """The candidate each window is forecast with: its demand class's, or its segment's
        where an override holds (a segment value not seen in validation has none)."""
        classes = demand_classes(store, series, origins)
        chosen = np.array([self.choice.get(c, self.fallback) for c in classes], dtype=object)
        if self.overrides:
            keys = store.keys.iloc[series.cpu().numpy()].reset_index(drop=True)
            # Coarsest first, so a finer segment's override is the one that stays.
            for override in reversed(self.overrides):
                column = override["segment_type"]
                if column in keys.columns:
                    # A level as the vocabulary reads it: a pack size 1 is the 1.0 of a table
                    # whose column also held 1.5, as its embedding is (the override was not
                    # applied to a table spelling it otherwise).
                    known = store.vocab.get(column) or [
                        o["segment"] for o in self.overrides if o["segment_type"] == column
                    ]
                    values = missing_as_saved(keys[column].to_numpy(dtype=object), known)
                    chosen[values == override["segment"]] = override["model"]
        # A series with no history (a new item or item x FC pair) was in no validation window
        # and its class or segment says nothing about it: a baseline repeats or averages a
        # history it does not have (a forecast of 0), so it gets the networks' cold start.
        cold = classes == "no_history"
        # Nor was one with less than a season of history (the choice is scored on series with
        # a season or more, see choose()): one launched a few days ago has no season for
        # seasonal naive to repeat and no error to spread a baseline's quantiles (every level
        # one number, 0 after a launch day without a sale), and the trees learnt from longer
        # histories. Where its candidate reads its own history, it gets the cold start too.
        season = store.spec.season
        short = (store.start[series] + season > origins).cpu().numpy()
        # Decided per candidate, not per series: route runs over every series of a forecast.
        names, which = np.unique(chosen.astype(str), return_inverse=True)
        reads_history = np.array([not self._networks_only(n) for n in names], dtype=bool)
        cold |= short & reads_history[which]
        if cold.any():
            chosen[cold] = self.cold_start_model()
        return chosen

    def _networks_only(self, name: str) -> bool:
        """Whether candidate ``name`` forecasts from the networks alone: no baseline and no
        trees, which forecast from a series' own history only."""
        composites = self.composites
        baselines = {*BASELINE_NAMES, *self.trees}
        return name in self.networks or (
            name in composites and not set(composites[name]) & baselines
        )

    def cold_start_model(self) -> str:
        """The candidate a series with no history is forecast with: the fallback when no
        baseline is part of it, else the network-only candidate that scored best overall on
        the validation window (the networks start a new item from its peers' level)."""
        # The trees read a series' own history as well: a new item's rows are all missing.
        networks_only = self._networks_only
        if networks_only(self.fallback):
            return self.fallback
        table = self.scores
        if not table.empty and {"model", "demand_class", "score"} <= set(table.columns):
            rows = table[(table["demand_class"] == "all") & table["model"].map(networks_only)]
            if len(rows):
                return str(rows.sort_values(["score", "sql"]).iloc[0]["model"])
        return next(n for n in (*self.composites, *self.networks) if networks_only(n))

    def predict_windows(
        self,
        store: PanelStore,
        series: torch.Tensor,
        origins: torch.Tensor,
        cumulative: bool = False,
    ) -> np.ndarray:
        """Quantiles (N, horizon, Q), each window from its demand class's model; with
        ``cumulative``, lead-time quantiles from the same model (see :meth:`lead_time_members`).
        """
        if not self.baselines:
            raise RuntimeError("this forecaster is not fitted: call fit() or load() first")
        chosen = self.route(store, series, origins)
        if cumulative:
            chosen = self._lead_time_route(store, series, origins, chosen)
        members = {
            str(name): self.lead_time_members(str(name)) if cumulative else self._members(name)
            for name in set(chosen)
        }
        out = np.zeros((len(series), self.horizon, len(self.quantiles)), dtype=np.float32)
        # Each model forecasts only the windows routed to it or to an average it is part of.
        models = {**self.networks, **self._trees, **self.baselines}
        needed = {
            name: np.isin(chosen, [c for c, parts in members.items() if name in parts])
            for name in models
        }
        # The peers' levels as of the request's latest origin, as one network forecasting
        # every window reads them: a network's share of the windows ends at another origin
        # (a series whose data stops earlier), and a series' forecast moved with the routing
        # of the others (a series of another FC added to the request changed it).
        cutoff = {"prior_cutoff": int(origins.max())} if len(origins) else {}
        lead = {"cumulative": True} if cumulative else {}
        single = {
            name: models[name].predict_windows(
                store,
                *_rows(series, origins, rows),
                **lead,
                **(cutoff if name in self.networks else {}),
            )
            for name, rows in needed.items()
            if rows.any()
        }
        for name, parts in members.items():
            routed = chosen == name
            out[routed] = np.mean([single[n][routed[needed[n]]] for n in parts], axis=0)
        return out

    def _lead_time_route(
        self, store: PanelStore, series: torch.Tensor, origins: torch.Tensor, chosen: np.ndarray
    ) -> np.ndarray:
        """``chosen`` with the windows whose history is too short for a baseline's lead-time
        quantiles moved to the cold start, as :meth:`route` moves those with less than a season.

        A baseline spreads its k-period sums by its errors of such sums from earlier origins:
        seasonal naive has one error of its longest sums once a series has horizon + season
        periods of history, and quantiles of a handful of overlapping sums are one number or
        nearly (Poisson days, horizon 28: the 28-day 0.9 quantile covered 53% of the realized
        sums at 35 days of history, 81% at 50, 84% at 63, 87% at 90). So a series needs
        horizon such errors, 2 x horizon + season periods, before its baseline's lead time is
        used.
        """
        needed = 2 * self.horizon + store.spec.season
        young = (store.start[series] + needed > origins).cpu().numpy()
        names, which = np.unique(chosen.astype(str), return_inverse=True)
        baseline = np.array([bool(set(self._members(n)) & set(BASELINE_NAMES)) for n in names])
        moved = young & baseline[which]
        if not moved.any():
            return chosen
        chosen = chosen.copy()
        chosen[moved] = self.cold_start_model()
        return chosen

    def _members(self, name: str) -> tuple[str, ...]:
        """The models whose quantiles candidate ``name`` averages (itself, if not an average)."""
        return self.composites.get(name, (name,))

    def lead_time_members(self, name: str) -> tuple[str, ...]:
        """The models whose lead-time quantiles a window routed to ``name`` averages: its own
        members (the baselines forecast the sums from their own errors of such sums), less the
        gbm, which has no lead-time forecast; the gbm alone gets the networks' average."""
        parts = tuple(p for p in self._members(name) if p not in self.trees)
        return parts or tuple(self.networks)

    # ------------------------------------------------------------ persistence

    def state(self) -> dict[str, Any]:
        """Each network's state, the choice per demand class and the validation scores."""
        return {
            "networks": {name: model.state() for name, model in self.networks.items()},
            "trees": {name: tree.state() for name, tree in self._trees.items()},
            "choice": self.choice,
            "fallback": self.fallback,
            "overrides": self.overrides,
            "scores": self.scores.to_dict(orient="records"),
        }

    @classmethod
    def restore(
        cls,
        config: ForecastConfig,
        train: TrainConfig,
        spec: PanelSpec,
        state: dict[str, Any],
        folder: Path,
        info: dict[str, Any] | None = None,
    ) -> AutoForecaster:
        """Rebuild from :meth:`state` and the networks' weights files in ``folder``."""
        from training.forecaster import NeuralForecaster

        model = cls(config, train)
        info = dict(info or {})
        # What each network's own run would say of it (one exported or saved alone).
        shared: dict[str, Any] = {k: info[k] for k in ("cutoff", "data_fingerprint") if k in info}
        losses = info.get("best_val_loss")
        # The networks the run has (runs saved before the negative binomial heads: two).
        model.networks = {}
        for name, network_state in state["networks"].items():
            head = "negative_binomial" if name.endswith(NB_SUFFIX) else "quantile"
            network = name.removesuffix(NB_SUFFIX)
            own = {"best_val_loss": losses.get(name)} if isinstance(losses, dict) else {}
            model.networks[name] = NeuralForecaster.restore(
                network_config(config, network, head),
                train,
                spec,
                network_state,
                folder / network_state["weights"],
                info={**shared, **own},
            )
        # Runs saved before the gbm candidate have none, whatever the setting's default.
        trees = state.get("trees") or {}
        model.trees = {
            name: GradientBoosted.restore(tree_state, folder / tree_state["trees"])
            for name, tree_state in trees.items()
        }
        model._set_baselines(spec.season)
        model.choice, model.fallback = dict(state["choice"]), state["fallback"]
        model.overrides = [dict(o) for o in state.get("overrides", [])]  # older runs: none
        # A route to a model the run does not hold (a manifest edited by hand) is named here,
        # not met as a KeyError at the first forecast of a class routed to it.
        routes = [*model.choice.values(), model.fallback, *(o["model"] for o in model.overrides)]
        unknown = sorted({str(r) for r in routes} - set(model.candidates))
        if unknown:
            raise ValueError(
                f"routes to {unknown}, which the run does not hold "
                f"(it holds {list(model.candidates)})"
            )
        model.scores = pd.DataFrame(state.get("scores", []))
        model.info = info
        return model


def _rows(
    series: torch.Tensor, origins: torch.Tensor, rows: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    keep = torch.from_numpy(rows).to(series.device)
    return series[keep], origins[keep]


def _segment_columns(store: PanelStore) -> list[str]:
    """The location and the static categoricals, the finest (most levels) first."""
    columns = [c for c in (LOCATION, *store.spec.static_categoricals) if c in store.keys.columns]
    return sorted(columns, key=lambda c: (-store.keys[c].nunique(), c))


def _segment_overrides(
    per_window: dict[str, pd.DataFrame],
    routed: np.ndarray,
    keys: pd.DataFrame,
    columns: list[str],
) -> list[dict[str, Any]]:
    """Where the routed forecast loses to seasonal naive on a segment's validation windows,
    the best eligible candidate for that segment (see the module docstring).

    ``per_window``: every candidate's :func:`window_scores` on the same windows; ``routed``:
    the candidate each window gets from its demand class. Returns the overrides in order of
    precedence (finest segmentation first), each with its validation figures.
    """
    names = list(per_window)
    columns_of = list(per_window[names[0]].columns)
    stacked = np.stack([per_window[n][columns_of].to_numpy(dtype=np.float64) for n in names])
    index = {name: k for k, name in enumerate(names)}
    route = np.array([index[n] for n in routed])
    decided = np.zeros(len(route), dtype=bool)  # windows a finer segment already overrode

    def scores(rows: np.ndarray, pick: np.ndarray) -> dict[str, float]:
        frame = pd.DataFrame(stacked[pick, rows], columns=columns_of)
        return aggregate(frame)

    overrides: list[dict[str, Any]] = []
    for column in columns:
        values = keys[column].astype(str).to_numpy()
        overridden = np.zeros(len(route), dtype=bool)
        for value in np.unique(values):
            rows = np.flatnonzero(values == value)
            if len(rows) < MIN_SEGMENT_WINDOWS:
                continue
            naive = scores(rows, np.full(len(rows), index["seasonal_naive"]))
            before = scores(rows, route[rows])
            if _no_worse(before, naive):
                continue
            free = ~decided[rows]
            options = {n: scores(rows, np.where(free, index[n], route[rows])) for n in names}
            eligible = [n for n in names if _no_worse(options[n], naive)]
            # With none eligible (a finer override there lost), seasonal naive on the rest.
            best = min(
                eligible or ["seasonal_naive"],
                key=lambda n: (_relative(options[n], naive), options[n]["sql"]),
            )
            best_scores = options[best]
            route[rows[free]] = index[best]
            overridden[rows[free]] = True
            overrides.append(
                {
                    "segment_type": column,
                    "segment": str(value),
                    "model": best,
                    "n_windows": len(rows),
                    "sql": best_scores["sql"],
                    "wape": best_scores["wape"],
                    "routed_sql": before["sql"],
                    "routed_wape": before["wape"],
                    "seasonal_naive_sql": naive["sql"],
                    "seasonal_naive_wape": naive["wape"],
                }
            )
        decided |= overridden
    return overrides


def _no_worse(scores: dict[str, float], naive: dict[str, float]) -> bool:
    """No worse than seasonal naive on SQL and on WAPE (a metric it cannot score is a tie)."""
    return all(
        not (np.isfinite(scores[m]) and np.isfinite(naive[m])) or scores[m] <= naive[m]
        for m in ("sql", "wape")
    )


def _relative(scores: dict[str, float], naive: dict[str, float]) -> float:
    """Mean of SQL and WAPE relative to seasonal naive's (1: as good as seasonal naive)."""
    parts = [
        scores[m] / naive[m]
        for m in ("sql", "wape")
        if np.isfinite(scores[m]) and np.isfinite(naive[m]) and naive[m] > 0
    ]
    return float(np.mean(parts)) if parts else 1.0


def _p_better(
    per_window: dict[str, pd.DataFrame],
    classes: np.ndarray,
    table: pd.DataFrame,
    fallback: str,
    seed: int = 0,
) -> np.ndarray:
    """For each row (model, demand class) of ``table``: the share of bootstrap resamples of the
    class's windows ("all": every window) in which the model's score (mean of SQL and WAPE
    relative to seasonal naive's) is lower than ``fallback``'s. NaN for the fallback itself.

    Both ratios are ratios of sums over the same windows (a window's SQL is NaN for every
    candidate alike), so a resample is a vector of window counts and each score a few dot
    products; the counts come in chunks of windows so that memory stays bounded on a panel of
    millions of windows (Poisson(1) counts: the usual large-sample form of the bootstrap).
    """
    rng = np.random.default_rng(seed)
    names = list(per_window)
    classes = np.asarray(classes)
    sums = {label: np.zeros((len(names), 2, BOOTSTRAP_RESAMPLES)) for label in sorted(set(classes))}
    chunk = max(1, 2_000_000 // BOOTSTRAP_RESAMPLES)
    values = np.stack(
        [
            np.nan_to_num(per_window[n][["sql", "abs_error"]].to_numpy(np.float64), nan=0.0)
            for n in names
        ]
    )  # (candidates, windows, 2)
    actual = per_window[names[0]]["actual"].to_numpy(np.float64)  # the same for every candidate
    sold = {label: np.zeros(BOOTSTRAP_RESAMPLES) for label in sums}
    for start in range(0, values.shape[1], chunk):
        part = values[:, start : start + chunk]
        counts = rng.poisson(1.0, size=(BOOTSTRAP_RESAMPLES, part.shape[1]))
        in_chunk = classes[start : start + chunk]
        for label in sums:
            rows = in_chunk == label
            if rows.any():
                sums[label] += np.einsum("cwm,bw->cmb", part[:, rows], counts[:, rows])
                sold[label] += counts[:, rows] @ actual[start : start + chunk][rows]
    sums["all"] = np.sum(list(sums.values()), axis=0)  # the classes partition the windows
    sold["all"] = np.sum(list(sold.values()), axis=0)
    naive, best = names.index("seasonal_naive"), names.index(fallback)
    out = np.full(len(table), np.nan)
    for label in sums:
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = sums[label] / sums[label][naive]  # (candidates, 2, resamples)
        # A resample that sold nothing has no WAPE: a tie, as in the scores table.
        relative[:, 1, sold[label] <= 0] = np.nan
        finite = np.isfinite(relative)
        n_finite = finite.sum(axis=1)
        # The mean of the finite ratios; none finite (nothing sold, no scale): a tie.
        score = np.where(
            n_finite > 0, np.where(finite, relative, 0.0).sum(axis=1) / np.maximum(n_finite, 1), 1.0
        )
        for k, name in enumerate(names):
            if name == fallback:
                continue
            rows = (table["model"] == name).to_numpy() & (table["demand_class"] == label).to_numpy()
            out[rows] = float(np.mean(score[k] < score[best]))
    return out
