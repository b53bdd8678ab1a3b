"""Settings of forecasting models, backtests and monitoring (torch-free; the CLI reads them).

The model names are defined here once: the networks (``lstm``, ``tft``) and the baselines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from forecasting.spec import DEFAULT_QUANTILES, quantile_column
from kernels.settings import (
    check_settings,
    setting,
    settings_from_dict,
    settings_to_dict,
    type_problem,
)

NETWORK_NAMES = ("lstm", "tft")
BASELINE_NAMES = ("seasonal_naive", "moving_average")
AUTO = "auto"
TARGET_TRANSFORMS = ("none", "log1p", "softplus")
"""How the networks' step quantiles are fitted (:mod:`forecasting.models.heads`)."""
DISTRIBUTIONS = ("quantile", "negative_binomial")
"""What a network's step head predicts (:mod:`forecasting.models.heads`)."""
MODEL_NAMES = (*NETWORK_NAMES, *BASELINE_NAMES, AUTO)


@dataclass
class ForecastConfig:
    """What to forecast and with which model.

    ``encoder_length`` defaults to four seasons but no more than 56 periods (or a season plus
    a horizon), at least two horizons, capped at the longest history
    (:func:`training.forecaster.default_encoder_length`); ``hidden_size`` is the network
    width (``None``: the network's own default);
    ``model_params`` holds any other argument of the network class; ``cold_start_rate`` is the
    share of training windows whose history is hidden so the network learns to forecast new
    items; ``min_encoder_length`` the observed periods a training window needs (default: one
    season). ``ensemble`` trains that many networks from successive seeds and averages their
    quantiles. ``auto`` fits every network and baseline and forecasts each demand class with
    the one that scored best on the validation window (:mod:`forecasting.auto`).
    """

    model: str = setting("lstm", "model to train", choices=MODEL_NAMES)
    horizon: int = setting(28, "periods forecast at once", min=1)
    encoder_length: int | None = setting(
        None, "history periods the network reads (none: up to 4 seasons, see the docs)", min=1
    )
    hidden_size: int | None = setting(None, "network width (none: the network's default)", min=1)
    quantiles: tuple[float, ...] = setting(DEFAULT_QUANTILES, "quantile levels forecast")
    cold_start_rate: float = setting(
        0.1, "share of training windows with hidden history (cold start)", min=0, max=0.9
    )
    min_encoder_length: int | None = setting(
        None, "observed periods a training window needs (none: one season)", min=1
    )
    volume_weight: float = setting(
        0.5,
        "exponent of a window's level in its loss weight: 0 weighs every series alike "
        "(scaled errors, as SQL and MASE do), 1 by its volume (as WAPE does)",
        min=0,
        max=1,
    )
    ensemble: int = setting(
        1, "networks trained from successive seeds, their quantiles averaged", min=1
    )
    target_transform: str = setting(
        "none",
        "fit the step quantiles on the scaled demand (none), on its log1p, where a spike "
        "weighs as a ratio instead of in units, or on the scaled demand through a softplus "
        "output, which keeps them positive (pytorch-forecasting's softplus normalizer)",
        choices=TARGET_TRANSFORMS,
    )
    distribution: str = setting(
        "quantile",
        "what the step head predicts: quantiles directly (pinball loss), or a negative "
        "binomial per step of the demand count (likelihood), its quantiles taken from it",
        choices=DISTRIBUTIONS,
    )
    auto_distributions: tuple[str, ...] = setting(
        DISTRIBUTIONS,
        "the step heads auto fits each network with (one more LSTM and TFT per head); "
        "its validation window picks among them",
    )
    auto_gbm: bool = setting(
        True,
        "fit the gradient-boosted forecaster (gbm) among auto's candidates, alone and averaged "
        "with the LSTM and TFT",
    )
    model_params: dict[str, Any] = setting(
        default_factory=dict, help="other network arguments", cli=False
    )

    def __post_init__(self) -> None:
        # "0.9" is not a number here either (float() would have read it as one).
        if type_problem(tuple[float, ...], self.quantiles):
            raise ValueError(f"quantiles: expected a list of levels, got {self.quantiles!r}")
        self.quantiles = tuple(float(q) for q in self.quantiles)
        check_settings(self)
        self.auto_distributions = tuple(self.auto_distributions)
        qs = self.quantiles
        if not qs or any(not 0 < q < 1 for q in qs) or list(qs) != sorted(set(qs)):
            raise ValueError(f"quantiles: expected increasing levels in (0, 1), got {list(qs)}")
        # Each level is a column of the forecast tables, named with six significant digits
        # (q0.1): levels that share a name would leave one column for both, and a name that
        # reads back as 0 or 1 (q1 for 0.9999995) is no level plan or monitor can use.
        names = [quantile_column(q) for q in qs]
        read = [float(name[1:]) for name in names]
        if len(set(names)) < len(names) or any(not 0 < r < 1 for r in read):
            raise ValueError(
                f"quantiles: levels {list(qs)} are named {names} in the forecast tables; give "
                "levels that differ in their first six significant digits, inside (0, 1)"
            )
        # The step head and its transform are settings of their own because the loss, the
        # learning rate, the whole-count check and auto read them here: given as network
        # arguments, the network got a negative binomial head that the pinball loss trained.
        own = sorted({"distribution", "target_transform"} & set(self.model_params or {}))
        if own:
            raise ValueError(
                f"model_params: {own} are forecast settings of their own (the loss reads them); "
                f"give {', '.join(f'{k}={self.model_params[k]!r}' for k in own)} as settings"
            )
        # The width given twice: the setting was built and model_params' value, recorded beside
        # it in the run, was dropped without a word.
        width = (self.model_params or {}).get("hidden_size", self.hidden_size)
        if self.hidden_size is not None and width != self.hidden_size:
            raise ValueError(
                f"hidden_size: {self.hidden_size} as a setting and {width!r} in model_params; "
                "give the network width once (the hidden_size setting)"
            )
        heads = self.auto_distributions
        if not heads or len(set(heads)) < len(heads) or set(heads) - set(DISTRIBUTIONS):
            raise ValueError(
                f"auto_distributions: expected distinct names of {list(DISTRIBUTIONS)}, "
                f"got {list(heads)}"
            )
        if self.distribution == "negative_binomial" and self.target_transform != "none":
            raise ValueError(
                "target_transform: a negative binomial head fits the counts themselves; "
                "use target_transform='none' with distribution='negative_binomial'"
            )

    @property
    def is_network(self) -> bool:
        return self.model in NETWORK_NAMES

    def network_params(self) -> dict[str, Any]:
        """The network class's own arguments: ``model_params`` plus ``hidden_size``,
        ``target_transform`` and ``distribution`` if set."""
        params = dict(self.model_params)
        if self.hidden_size is not None:
            params["hidden_size"] = self.hidden_size
        if self.target_transform != "none":  # runs saved before the setting build as they were
            params["target_transform"] = self.target_transform
        if self.distribution != "quantile":
            params["distribution"] = self.distribution
        return params

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> ForecastConfig:
        """From a mapping of field names (keywords, a manifest entry); unknown keys are named."""
        return settings_from_dict(cls, values, "forecast config")

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON/YAML types (tuples become lists), as a manifest keeps them."""
        return settings_to_dict(self)


@dataclass
class BacktestConfig:
    """Rolling-origin backtest: ``origins`` forecast origins ``step`` periods apart (default:
    one horizon; an origin never falls inside the data a model trained on), the last one
    leaving exactly one horizon of observed data."""

    origins: int = setting(3, "number of forecast origins", min=1)
    step: int | None = setting(None, "periods between origins (none: the horizon)", min=1)
    refit: bool = setting(False, "refit every model at every origin")
    cold_start: float = setting(
        0.0, "share of items whose history is hidden and whose forecasts are scored", min=0, max=0.9
    )
    baselines: tuple[str, ...] = setting(BASELINE_NAMES, "baselines scored beside the model")
    plot_series: int = setting(6, "series drawn in the fan charts", min=0)
    cold_start_seed: int = setting(0, "seed of the draw of cold-start items", min=0)
    min_history: int | None = setting(
        None,
        "periods of history a series needs before an origin to be scored (none: two seasons)",
        min=1,
    )

    def __post_init__(self) -> None:
        self.baselines = tuple(dict.fromkeys(self.baselines))  # one of each, in order
        check_settings(self)
        unknown = [b for b in self.baselines if b not in BASELINE_NAMES]
        if unknown:
            raise ValueError(f"baselines: unknown {unknown}; choose from {list(BASELINE_NAMES)}")


@dataclass
class MonitorConfig:
    """When the monitor flags a segment: its latest WAPE worse than the reference by more than
    ``wape_threshold`` (relative), or an interval coverage off its level by more than
    ``coverage_tolerance``."""

    wape_threshold: float = setting(
        0.15, "relative WAPE worsening that flags a segment", min=0, open_min=True
    )
    coverage_tolerance: float = setting(
        0.10, "interval coverage drift allowed", min=0, open_min=True, max=1
    )

    def __post_init__(self) -> None:
        check_settings(self)
