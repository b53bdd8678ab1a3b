"""``Forecaster``: one fit / predict / backtest / save API over a long demand table.

    forecaster = Forecaster("tft", horizon=28, spec=spec, train=TrainConfig(max_epochs=20))
    forecaster.fit("sales.parquet", run_dir="runs/tft")   # load, validate, build the store, fit
    table = forecaster.predict("sales.parquet")           # item_id, location_id, date, step, q...
    Forecaster.load("runs/tft")

:class:`NeuralForecaster` is the store-level network it wraps; it follows
:class:`forecasting.base.Forecaster`, so backtests score it beside the baselines. A run folder
holds ``model.pt`` (a state dict, loaded with ``weights_only=True``), the trainer's
``checkpoints/`` and ``logs/``, and ``manifest.json`` (the shared run format of
:mod:`kernels.runfolder`: settings, vocabularies, data fingerprint, metrics, sha256 of every file).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import tempfile
import warnings
import weakref
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from forecasting.backtest import BacktestResult, backtest
from forecasting.config import (
    AUTO,
    BASELINE_NAMES,
    NETWORK_NAMES,
    BacktestConfig,
    ForecastConfig,
)
from forecasting.grid import (
    calendar_features,
    dates_before,
    ended_early,
    horizon_rows,
    launch_origin,
)
from forecasting.interpret import in_column_names, interpret_windows
from forecasting.io import map_columns, read_panel
from forecasting.models import InputDims, MovingAverage, SeasonalNaive, build_network
from forecasting.models.ensemble import EnsembleNet
from forecasting.models.heads import gives_counts, snap_counts
from forecasting.spec import PanelSpec
from forecasting.store import UNKNOWN, PanelStore
from forecasting.tables import check_cumulative, cumulative_frame, forecast_frame
from forecasting.validate import ValidationReport, validate_panel
from forecasting.windows import (
    BATCH_KEYS,
    WindowList,
    default_prior_scale,
    group_prior_scale,
    valid_origin_range,
)
from kernels.io import FileError, load_weights
from kernels.io import save_weights as write_weights
from kernels.runfolder import (
    building,
    check_unchanged,
    is_main_process,
    manifest_entry,
    read_manifest,
    reading_entry,
    write_manifest,
)
from training.auto import AutoForecaster
from training.config import MAX_SEED, TrainConfig
from training.devices import resolve_precision, select_device
from training.forecast_task import ForecastData, ForecastTask
from training.trainer import fit, keep_finished_checkpoint, random_state_restored

WEIGHTS_FILE = "model.pt"


# Training settings a resume may give anew. Some do not change what a fit computes step by step
# (README: data-loader workers do not change it; the progress bar is display; the epochs and the
# patience say only when it stops, the learning-rate schedule does not read them): to train an
# interrupted run on for longer or to end it sooner. The others say where it runs (device,
# device count, nodes, the precision the hardware offers), the user's choice on each machine
# (`auto` here and the `cpu` it picks are one): the run's manifest records those of its last fit.
NOT_RESUMED = (
    "progress_bar",
    "num_workers",
    "max_epochs",
    "early_stopping_patience",
    "accelerator",
    "devices",
    "num_nodes",
    "precision",
)


def resume_settings(config, train, fingerprint: str) -> dict[str, object]:
    """What a network's fit depends on, recorded in its checkpoints and compared on resume:
    the model and training settings (``forecast.<field>``, ``train.<field>``) and the
    fingerprint of the data it trains on (:func:`store_fingerprint`)."""
    settings: dict[str, object] = {
        f"forecast.{k}": v for k, v in dataclasses.asdict(config).items()
    }
    settings.update(
        {f"train.{k}": v for k, v in dataclasses.asdict(train).items() if k not in NOT_RESUMED}
    )
    # The learning rate the fit uses: the default written out and none given are one.
    if train.learning_rate is None:
        settings["train.learning_rate"] = default_learning_rate(config)
    settings["data"] = fingerprint
    return settings


def store_fingerprint(store: PanelStore, cutoff: int) -> str:
    """sha256 of the training data: the demand before the cutoff, the series keys, the dates
    and every covariate the network reads before the cutoff (a table with other prices or
    dates trains another model, so it has another fingerprint)."""

    def update(array) -> None:
        digest.update(np.ascontiguousarray(array).tobytes())

    digest = hashlib.sha256()
    update(store.target[:, :cutoff].cpu().numpy())
    digest.update(pd.util.hash_pandas_object(store.keys, index=False).to_numpy().tobytes())
    update(store.dates[:cutoff].to_numpy(dtype="datetime64[ns]").astype(np.int64))
    update(store.static_real.cpu().numpy())
    for role, blocks in (
        ("known_real", store.known_real),
        ("known_cat", store.known_cat),
        ("observed_real", store.observed_real),
    ):
        for block in blocks:
            digest.update(repr((role, block.names)).encode())
            values = block.values if block.raw is None else block.raw
            update(values[:, :cutoff].cpu().numpy())
            if block.rows is not None:
                update(block.rows.cpu().numpy())
    return digest.hexdigest()


ENCODER_PERIODS = 56
"""Periods the default encoder stops at, unless a season plus a horizon needs more."""


def default_encoder_length(horizon: int, season: int) -> int:
    """Four seasons, but no more than :data:`ENCODER_PERIODS` periods (or one season plus a
    horizon where that is longer), and at least two horizons.

    Daily data (season 7, horizon 28) reads 56 days, monthly (12, 6) 48 months, weekly (52, 8)
    60 weeks. Why the cap: both networks read the encoder step by step, so its cost grows with
    its length, and past a season the extra periods did not help: on weekly m5_tiny the LSTM +
    TFT average scored WAPE 0.300 / SQL 0.431 with a 208-week encoder (four seasons) against
    0.284 / 0.409 with 52 weeks (``benchmarks/accuracy.py --grains W --encoder-length N``),
    and ``auto``'s weekly fit and forecast took 905 s at 208 weeks against 463 s at 60.
    """
    return max(2 * horizon, min(4 * season, max(ENCODER_PERIODS, season + horizon)))


def default_learning_rate(config: ForecastConfig) -> float:
    """The peak learning rate a network trains with when none is given: 1e-2 for the TFT with
    the quantile head, 3e-3 otherwise.

    Why they differ: the pinball loss's gradient is bounded (each quantile's by ``max(q, 1 - q)``
    per unit of scaled demand) and the TFT's gates and layer norms keep its activations in
    range, so it takes larger steps; at 3e-3 it was still improving when its 30 epochs ran
    out on weekly data. On m5_tiny (``benchmarks/accuracy.py --lr R``, seeds 0 and 1) the TFT
    at 1e-2 against 3e-3 scored WAPE 0.273 / 0.267 against 0.308 / 0.286 weekly and 0.302 /
    0.295 against 0.321 / 0.307 monthly, SQL lower too, and daily level (0.467 against 0.469).
    The LSTM at 1e-2 lost (weekly WAPE 0.340 against 0.287), and so did the TFT's negative
    binomial head, whose likelihood has no bounded gradient (monthly WAPE 0.326 / 0.317
    against 0.286 / 0.297).
    """
    if config.model == "tft" and config.distribution == "quantile":
        return 1e-2
    return 3e-3


def fractional_demand(store: PanelStore, cutoff: int) -> tuple[int, str]:
    """How many observed demand values before ``cutoff`` are not whole numbers, and the first
    (its series, date and value) as text; ``(0, "")`` when every one is a count."""
    history = store.target[:, :cutoff]
    fractional = torch.isfinite(history) & (history != torch.round(history))
    count = int(fractional.sum().item())
    if not count:
        return 0, ""
    s, t = (int(v) for v in torch.nonzero(fractional)[0].tolist())
    key = store.keys.iloc[s]
    value = float(history[s, t].item())
    spec = store.spec  # the user's column names, as every other message about their table
    return count, (
        f"{spec.item_col}={key['item_id']!r}, {spec.location_col}={key['location_id']!r} on "
        f"{store.dates[t].date()}: {value:g}"
    )


def check_whole_counts(store: PanelStore, cutoff: int) -> None:
    """A negative binomial head is a distribution of whole counts: its quantiles are whole
    units, so demand recorded in fractions (0.3 kg a day) would be forecast as 0 or 1 unit
    every period. Refused, naming the first fractional value."""
    count, first = fractional_demand(store, cutoff)
    if count:
        raise ValueError(
            f"distribution: a negative binomial head forecasts whole counts, and {count} "
            f"demand values are fractional (first: {first}); use distribution='quantile' "
            "or record demand in whole units"
        )


class TrainingDiverged(ValueError):
    """A network's training diverged: its validation loss was never finite, or its weights are
    not finite. Its forecasts would be NaN (written out as if they were forecasts), so the fit
    is refused and nothing is saved."""


def weights_finite(net: torch.nn.Module) -> bool:
    """Whether every floating-point weight and buffer of ``net`` is finite."""
    return all(
        bool(torch.isfinite(value).all())
        for value in net.state_dict().values()
        if value.is_floating_point()
    )


def check_converged(
    score: float | None, net: torch.nn.Module, what: str, learning_rate: float
) -> None:
    """Refuse a network whose best validation loss is not finite (NaN from its first epoch:
    Lightning's checkpoint records it as inf and keeps the NaN weights) or whose weights are
    not finite: such a run forecast NaN for every series and was saved as fitted."""
    if (score is None or math.isfinite(score)) and weights_finite(net):
        return
    loss = "not finite weights" if score is None else f"best validation loss {score}"
    raise TrainingDiverged(
        f"{what}: the training diverged ({loss}); nothing was saved. Try a lower "
        f"learning_rate (this fit's: {learning_rate:g}) and check the scale of the demand and "
        "covariate columns (values of enormous magnitude)"
    )


class NeuralForecaster:
    """A quantile forecasting network over a :class:`PanelStore`, fitted through ``training``.

    This is the store-level model that backtests score beside the baselines; users reach it
    through :class:`Forecaster`, which takes tables. ``config`` names the network and its
    settings (:class:`~forecasting.config.ForecastConfig`), ``train`` how to fit it.
    """

    def __init__(self, config: ForecastConfig | None = None, train: TrainConfig | None = None):
        self.config = config or ForecastConfig()
        if not self.config.is_network:
            raise ValueError(f"model: {self.config.model!r} is not a network {NETWORK_NAMES}")
        self.train = train or TrainConfig()
        self.encoder_length: int | None = self.config.encoder_length
        self.net: torch.nn.Module | None = None
        self.spec: PanelSpec | None = None
        self.vocab: dict[str, list[str]] = {}
        self.dims: InputDims | None = None
        self.prior_scale: float = 1.0
        self.static_stats: dict[str, list[float]] | None = None
        self.info: dict[str, Any] = {}

    @property
    def name(self) -> str:
        """The model name (``config.model``), under which backtests key its scores."""
        return self.config.model

    @property
    def horizon(self) -> int:
        """Periods forecast from each origin (``config.horizon``)."""
        return self.config.horizon

    @property
    def learning_rate(self) -> float:
        """The training's peak learning rate: the one given, or :func:`default_learning_rate`."""
        given = self.train.learning_rate
        return default_learning_rate(self.config) if given is None else given

    @property
    def quantiles(self) -> tuple[float, ...]:
        """The quantile levels forecast, increasing (``config.quantiles``)."""
        return self.config.quantiles

    # ----------------------------------------------------------------- fitting

    def _lengths(self, store: PanelStore, cutoff: int) -> tuple[int, int]:
        """Encoder length (given, or :func:`default_encoder_length` capped at the longest
        history) and the observed periods a training window needs (given, or one season, but
        no more than the encoder and than the history a training window before the validation
        window can have: the longest history less a horizon)."""
        season = store.spec.season
        longest = int((store.end.clamp(max=cutoff) - store.start).max().item())
        given = self.config.encoder_length
        if given is not None and given > max(longest, 1):
            raise ValueError(
                f"encoder_length: {given} periods is longer than the longest history in the "
                f"training data ({longest} periods)"
            )
        encoder = given or max(1, min(default_encoder_length(self.horizon, season), longest))
        # A training window ends before the validation window starts: it can see at most the
        # longest history less a horizon (a year of weekly sales has no window that sees 44
        # or 52 weeks and forecasts 8 more before the last 8).
        within = longest - self.horizon
        minimum = self.config.min_encoder_length or max(1, min(encoder, season, within))
        return encoder, minimum

    @random_state_restored()
    def fit(
        self,
        store: PanelStore,
        cutoff: int | None = None,
        run_dir: str | Path | None = None,
        resume: str | Path | None = None,
    ) -> NeuralForecaster:
        """Train on periods before ``cutoff`` (default: all); the last horizon before the cutoff
        is the validation window that drives early stopping and checkpoint selection.
        ``resume`` continues from a training checkpoint of the same settings (the
        ``last.ckpt`` an interrupted run kept). A network (or an ensemble member) whose
        training diverged is a :class:`TrainingDiverged` error."""
        if self.train.seed + self.config.ensemble - 1 > MAX_SEED:
            # Member k trains from seed + k: refused before any member trains, not after.
            raise ValueError(
                f"seed: {self.train.seed} + ensemble {self.config.ensemble} - 1 is above the "
                f"largest seed, {MAX_SEED}"
            )
        cutoff = int(store.end.max().item()) if cutoff is None else int(cutoff)
        if self.config.distribution == "negative_binomial":
            check_whole_counts(store, cutoff)
        val_origin = cutoff - self.horizon
        if val_origin < 1:
            raise ValueError(
                f"horizon: {self.horizon} periods leaves no history before the validation window "
                f"(the training data has {cutoff} periods)"
            )
        encoder_length, min_encoder = self._lengths(store, val_origin)
        self.encoder_length = encoder_length
        self.spec, self.vocab = store.spec, store.vocab
        self.static_stats = store.static_stats
        self.dims = InputDims.from_store(store)
        self.prior_scale = default_prior_scale(store, val_origin)
        priors = group_prior_scale(store, val_origin, fallback=self.prior_scale)
        data = ForecastData(
            store=store,
            encoder_length=encoder_length,
            horizon=self.horizon,
            batch_size=self.train.batch_size,
            batches_per_epoch=self.train.batches_per_epoch or 50,
            val_origin=val_origin,
            prior_scale=priors,
            min_encoder_length=min_encoder,
            seed=self.train.seed,
            cold_start_rate=self.config.cold_start_rate,
            prior_fallback=self.prior_scale,
        )
        members = self.config.ensemble
        if resume is not None and members > 1:
            raise ValueError("resume: an ensemble is trained member by member; retrain it")
        scratch = None
        if run_dir is None:
            scratch = tempfile.TemporaryDirectory(prefix="stockcast-fit-")
            run_dir = scratch.name
        nets, results = [], []
        fingerprint = store_fingerprint(store, cutoff)  # once: it reads the whole history
        try:
            for k in range(members):
                # Member k draws its weights and windows from seed + k; members after the
                # first keep their checkpoints and logs in members/<k>/ of the run.
                seed = self.train.seed + k
                folder = Path(run_dir) if k == 0 else Path(run_dir) / "members" / str(k)
                torch.manual_seed(seed)  # weights initialise identically for a seed
                net = self._network()
                task = ForecastTask(
                    net,
                    self.quantiles,
                    dataclasses.replace(data, seed=seed),
                    self.learning_rate,
                    self.train.weight_decay,
                    volume_weight=self.config.volume_weight,
                    target_transform=self.config.target_transform,
                    distribution=self.config.distribution,
                )
                train = dataclasses.replace(self.train, seed=seed)
                # A resume with other settings or data than the checkpoint's is refused by name
                # (it published the new settings over epochs trained under the old ones).
                # The encoder lengths as resolved (None and the default written out are one).
                resolved = dataclasses.replace(
                    self.config, encoder_length=encoder_length, min_encoder_length=min_encoder
                )
                settings = resume_settings(resolved, train, fingerprint)
                # An ensemble is not resumed (above): a stop names no checkpoint of it.
                results.append(
                    fit(
                        task,
                        train,
                        folder,
                        ckpt_path=resume,
                        resumable=members == 1,
                        settings=settings,
                    )
                )
                # A network that diverged would forecast NaN everywhere: refused, naming the
                # member (its seed) of an ensemble.
                what = self.name if members == 1 else f"{self.name} ensemble member of seed {seed}"
                check_converged(results[-1].best_score, task.net, what, self.learning_rate)
                # In float32 whatever the training precision: ``bf16-true`` leaves the
                # weights in bfloat16, which float32 windows cannot be multiplied with.
                fitted = task.net.cpu().float().eval()
                fitted = untrained_as_unknown(fitted, store, val_origin, self.horizon, min_encoder)
                nets.append(
                    untrained_known_as_mean(
                        fitted, store, val_origin, self.horizon, min_encoder, encoder_length
                    )
                )
        finally:
            if scratch is not None:
                scratch.cleanup()
        result = results[0]
        self.net = nets[0] if members == 1 else EnsembleNet(nets).eval()
        best_val_loss = result.best_score
        if members > 1:
            # The run's score is the ensemble's, not its first member's (which is the single
            # network of the same seed). Averaged quantiles have no likelihood: a negative
            # binomial ensemble keeps its members' scores only.
            best_val_loss = None
            if self.config.distribution == "quantile":
                best_val_loss = ForecastTask(
                    self.net,
                    self.quantiles,
                    data,
                    volume_weight=self.config.volume_weight,
                    target_transform=self.config.target_transform,
                ).validation_loss()
        self.info = {
            "cutoff": str(store.dates[cutoff - 1].date()),
            "best_val_loss": best_val_loss,
            **({"member_val_losses": [r.best_score for r in results]} if members > 1 else {}),
            # An ensemble's members train one after another, each until its own early stop:
            # one count per member (member 0's alone read as the ensemble's).
            "epochs": result.epochs if members == 1 else [r.epochs for r in results],
            "stopped_early": (
                result.stopped_early if members == 1 else [r.stopped_early for r in results]
            ),
            "data_fingerprint": fingerprint,
            "is_global_zero": result.is_global_zero,
        }
        return self

    # --------------------------------------------------------------- predicting

    def _require_fitted(self) -> tuple[torch.nn.Module, int, InputDims]:
        """The fitted network, its encoder length and input sizes (an error before fit)."""
        if self.net is None or self.encoder_length is None or self.dims is None:
            raise RuntimeError("this forecaster is not fitted: call fit() or load() first")
        return self.net, self.encoder_length, self.dims

    def predict_windows(
        self,
        store: PanelStore,
        series: torch.Tensor,
        origins: torch.Tensor,
        batch_size: int = 1024,
        accelerator: str | None = None,
        cumulative: bool = False,
        prior_cutoff: int | None = None,
    ) -> np.ndarray:
        """Quantiles (N, horizon, Q) of demand for windows ``(series, origins)``; with
        ``cumulative``, of the demand summed over steps 1..h instead. ``prior_cutoff``: the
        period the peers' levels are read before (default: the latest origin), given by a
        caller that forecasts a request's windows in parts (``auto``'s routing)."""
        net, encoder_length, _ = self._require_fitted()
        device = select_device(accelerator or self.train.accelerator)
        net = net.to(device)
        placed = store.to(device)
        windows = WindowList(
            placed,
            series,
            origins,
            encoder_length,
            self.horizon,
            batch_size,
            self.priors(placed, origins, prior_cutoff),
            with_target=False,
        )
        # Only a GPU forecasts in bfloat16; elsewhere the training precision does not matter (a
        # run trained in 16-mixed on a GPU forecasts in fp32 on a CPU, which has no fp16 mode).
        precision = resolve_precision(self.train.precision, "cuda") if device.type == "cuda" else ""
        bf16 = precision.startswith("bf16")
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if bf16 else nullcontext()
        outputs = []
        counts = gives_counts(net) and not cumulative
        with torch.inference_mode(), autocast:
            for batch in windows:
                steps, summed = net(*(batch[key] for key in BATCH_KEYS))
                scaled = (summed if cumulative else steps).float()
                values = (scaled * batch["scale"][:, None, None]).clamp(min=0)
                outputs.append((snap_counts(values) if counts else values).cpu())
        self.net = net.cpu()
        if not outputs:
            return np.zeros((0, self.horizon, len(self.quantiles)), dtype=np.float32)
        return torch.cat(outputs).numpy()

    def predict(self, store: PanelStore, cumulative: int | None = None) -> pd.DataFrame:
        """Forecast table from each series' last observation (see :meth:`Forecaster.predict`)."""
        self._require_fitted()
        return forecast_table(self, store, cumulative)

    def interpret(
        self, store: PanelStore, max_series: int | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Variable importance and attention by lag of a TFT over the forecasts from each
        series' last observation (:mod:`forecasting.interpret`): every series, or a uniform
        sample of ``max_series`` of them (drawn from the run's seed) when given. A cap of 2000
        used to take the first series by key: on a large panel, the importances of its first
        items (one department of a sorted panel) without a word. Known covariates must cover the
        horizon, as for :meth:`predict`. The key columns' inputs are named in the table's column
        names (:func:`~forecasting.interpret.in_column_names`)."""
        net, encoder_length, _ = self._require_fitted()
        series, origins = forecast_origins(store)
        # The windows are the forecasts' (see forecast_table): a table whose known covariates
        # end at the history was interpreted with blank future covariates, which predict refuses.
        store.check_horizon(series, origins, self.horizon)
        priors = self.priors(store, origins)
        if max_series is not None and len(series) > max_series:
            rng = np.random.default_rng(self.train.seed)
            pick = torch.from_numpy(np.sort(rng.choice(len(series), max_series, replace=False)))
            series, origins = series[pick.to(series.device)], origins[pick.to(origins.device)]
        importance, attention = interpret_windows(
            net, store, series, origins, encoder_length, self.horizon, priors
        )
        # The item, location and demand named as the user's table names them (a run trained
        # with --item-col sku --target-col units listed 'item_id' and 'target').
        return in_column_names(importance, store.spec), attention

    def priors(
        self, store: PanelStore, origins: torch.Tensor, cutoff: int | None = None
    ) -> torch.Tensor:
        """Per-series fallback levels from peers' demand before ``cutoff``, by default the
        latest origin (no demand at or after a window's origin is used when windows share an
        origin or end at it)."""
        if cutoff is None:
            if len(origins) == 0:
                return torch.full((store.n_series,), self.prior_scale, device=store.device)
            cutoff = int(origins.max())
        return group_prior_scale(store, int(cutoff), fallback=self.prior_scale)

    # ------------------------------------------------------------ persistence

    def state(self) -> dict[str, Any]:
        """What besides the weights rebuilds this model (goes into the run's manifest)."""
        _, encoder_length, dims = self._require_fitted()
        return {
            "encoder_length": encoder_length,
            "vocab": self.vocab,
            "dims": dims.to_dict(),
            "prior_scale": self.prior_scale,
            **({"static_stats": self.static_stats} if self.static_stats else {}),
        }

    def _network(self) -> torch.nn.Module:
        """A fresh network of this config for the inputs ``self.dims``."""
        if self.dims is None:
            raise RuntimeError("this forecaster is not fitted: call fit() or load() first")
        config = self.config
        return build_network(
            config.model, self.dims, config.horizon, config.quantiles, **config.network_params()
        )

    def build(self) -> torch.nn.Module:
        """A fresh network, an :class:`EnsembleNet` of ``ensemble`` members if more than one."""
        nets = [self._network() for _ in range(self.config.ensemble)]
        return nets[0] if len(nets) == 1 else EnsembleNet(nets)

    def save_weights(self, path: str | Path) -> Path:
        net, _, _ = self._require_fitted()
        state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
        return write_weights(state, path)

    @classmethod
    def restore(
        cls,
        config: ForecastConfig,
        train: TrainConfig,
        spec: PanelSpec,
        state: dict[str, Any],
        weights: str | Path,
        info: dict[str, Any] | None = None,
    ) -> NeuralForecaster:
        """Rebuild a fitted network from :meth:`state` and a weights file (``weights_only``)."""
        model = cls(config, train)
        model.spec, model.vocab = spec, state["vocab"]
        model.encoder_length = state["encoder_length"]
        model.dims = InputDims.from_dict(state["dims"])
        model.prior_scale = state["prior_scale"]
        model.static_stats = state.get("static_stats")  # runs saved before: the table's own
        model.info = dict(info or {})
        net = model.build()
        load_weights(net, weights)
        if not weights_finite(net):
            # A run saved from a diverged training: its forecasts would all be NaN.
            raise FileError(
                f"{weights}: the weights hold values that are not finite (NaN or inf: the "
                "training diverged); retrain with a lower learning_rate"
            )
        model.net = net.eval()
        return model


def untrained_as_unknown(
    net: torch.nn.Module, store: PanelStore, cutoff: int, horizon: int, min_encoder_length: int
) -> torch.nn.Module:
    """``net`` with the embedding of every static level that no training window read (training
    windows forecast ``horizon`` periods before ``cutoff``, the validation origin, after
    ``min_encoder_length`` observed ones) set to its column's unknown embedding: an item of the
    training table with only future rows, or one launched within about a horizon of the end
    of the table, has no such window, and a new item is forecast as an unseen one is (an
    item's unknown embedding is what the cold-start windows trained), not from its random
    initialization."""
    tables = getattr(net, "static_embeddings", None)
    if tables is None or store.static_cat.shape[1] == 0:
        return net
    codes = store.static_cat.cpu()
    _, windows = valid_origin_range(store, horizon, cutoff, min_encoder_length)
    observed = (windows > 0).cpu()
    with torch.no_grad():
        for k, embedding in enumerate(tables.embeddings):
            # Every level of the vocabulary, not only the store's codes: a level the store
            # does not hold (an item a cold-start backtest hid, whose code is the unknown one,
            # or a store built with a larger vocabulary) was read by no window either, and
            # kept its random start for a table that names it.
            levels = torch.arange(embedding.weight.shape[0])
            seen = torch.unique(codes[observed, k])
            untrained = levels[~torch.isin(levels, seen) & (levels != UNKNOWN)]
            embedding.weight[untrained] = embedding.weight[UNKNOWN].clone()
    return net


def untrained_known_as_mean(
    net: torch.nn.Module,
    store: PanelStore,
    cutoff: int,
    horizon: int,
    min_encoder_length: int,
    encoder_length: int,
) -> torch.nn.Module:
    """``net`` with the embedding of every known categorical level (a calendar month, a
    promotion type) that no training window read set to the mean of the levels they read: a
    daily history of January to June forecasts July from month 7's random initialization
    otherwise (as a level found only in the future rows, or only in the validation window,
    does), and the forecast moves with the seed of a row no data trained."""
    tables = getattr(net, "known_embeddings", None)
    n_known = len(store.known_cat_names)
    if tables is None or n_known == 0:
        return net
    first, count = valid_origin_range(store, horizon, cutoff, min_encoder_length)
    first, count = first.cpu(), count.cpu()
    windowed = torch.nonzero(count > 0).squeeze(1)
    if len(windowed) == 0:
        return net
    lo = first[windowed] - encoder_length  # the first position a training window reads
    hi = first[windowed] + count[windowed] - 1 + horizon  # one past the last
    n_periods = store.n_periods
    before = max(0, -int(lo.min()))  # periods read before the table's first one
    n_own = len(store.spec.known_categoricals)
    seen: list[torch.Tensor] = []
    for block in store.known_cat:
        values = block.values.cpu()
        rows = windowed if block.rows is None else block.rows.cpu()[windowed]
        # Periods each block row's windows read, as a running sum of +1 at each window span's
        # start and -1 past its end, over a few block rows at a time: a block of a million
        # series' rows held several copies of itself in 64-bit counts and sorted every code
        # read (4.2 GB for a 0.4 GB block), at the end of a training run.
        order = torch.argsort(rows, stable=True)
        rows, starts, stops = rows[order], lo[order].clamp(0, n_periods), hi[order]
        chunk = max(1, 2**22 // (n_periods + 1))
        present = [torch.zeros(0, dtype=torch.bool) for _ in range(values.shape[2])]
        for a in range(0, values.shape[0], chunk):
            b = min(a + chunk, values.shape[0])
            pick = slice(*torch.searchsorted(rows, torch.tensor([a, b])).tolist())
            if pick.start == pick.stop:
                continue
            edges = torch.zeros(b - a, n_periods + 1, dtype=torch.int32)
            ones = torch.ones(pick.stop - pick.start, dtype=torch.int32)
            edges.index_put_((rows[pick] - a, starts[pick]), ones, accumulate=True)
            edges.index_put_((rows[pick] - a, stops[pick].clamp(0, n_periods)), -ones, True)
            hits = edges.cumsum(dim=1, dtype=torch.int32)[:, :n_periods] > 0
            for f in range(values.shape[2]):
                counts = torch.bincount(values[a:b, :, f][hits].long())
                if len(counts) > len(present[f]):
                    present[f] = torch.cat(
                        [present[f], torch.zeros(len(counts) - len(present[f]), dtype=torch.bool)]
                    )
                present[f][: len(counts)] |= counts > 0
        for f in range(values.shape[2]):
            codes = torch.nonzero(present[f]).squeeze(1)
            if before:
                if len(seen) < n_own:  # no row before the table: the unknown code
                    extra = torch.zeros(1, dtype=codes.dtype)
                else:  # the calendar of the dates before the table
                    dates = dates_before(store.dates[0], before, store.spec.frequency)
                    calendar, _ = calendar_features(dates, store.spec.frequency)
                    extra = torch.from_numpy(calendar[:, f]).to(codes.dtype)
                codes = torch.cat([codes, extra])
            seen.append(torch.unique(codes).long())
    with torch.no_grad():
        for k, embedding in enumerate(tables.embeddings[:n_known]):
            weight = embedding.weight
            levels = torch.arange(weight.shape[0])
            trained = seen[k][seen[k] < weight.shape[0]]
            untrained = levels[~torch.isin(levels, trained)]
            if len(trained) and len(untrained):
                weight[untrained] = weight[trained].mean(dim=0)
    return net


def baseline(name: str, config: ForecastConfig, season: int):
    """The baseline ``name`` at ``config``'s horizon and quantiles for a panel's season."""
    if name == "seasonal_naive":
        return SeasonalNaive(config.horizon, season=season, quantiles=config.quantiles)
    if name == "moving_average":
        return MovingAverage(config.horizon, window=max(28, season), quantiles=config.quantiles)
    raise ValueError(f"model: unknown baseline {name!r}; choose from {list(BASELINE_NAMES)}")


def _few_sum_errors(model, store: PanelStore, series, origins, periods: int) -> None:
    """Warn of the series too young for a baseline's lead-time quantiles of ``periods``: it
    spreads a k-period sum by its own errors of such sums, of which a series with less than
    2 x ``periods`` + season - 1 (seasonal naive) or 2 x ``periods`` (moving average) periods
    of history has fewer than ``periods`` or none, so the quantiles are narrow or one number
    (`auto` gives such series the networks' lead time; a baseline alone has nothing else)."""
    # An error of a K-period sum comes from an origin o <= origin - K whose forecast is known:
    # seasonal naive's reads the period a season before o (o >= start + season), the moving
    # average's any observed period of its window (o >= start + 1). A series with h periods of
    # history has h - K - season + 1, resp. h - K, of them. The moving average used to warn
    # below 2 K + window (42 days for K = 7: a 30-day series with 23 errors was said to have
    # fewer than 7), and seasonal naive one period early (2 K + season - 1 periods give K).
    if isinstance(model, SeasonalNaive):
        needed = 2 * periods + model.season - 1
    else:
        needed = 2 * periods
    # A series without observed demand (a new item, forecast from its first row) has no
    # history: its start is 0, which read as history back to the table's first period, so
    # its lead-time quantiles (0 at every level) went without the warning.
    observed = store.end[series] > 0
    history = torch.where(observed, origins - store.start[series], 0).cpu().numpy()
    young = np.flatnonzero(history < needed)
    if not len(young):
        return
    rows = series.cpu().numpy()[young[:3]]
    named = ", ".join(
        f"{store.keys['item_id'].iat[s]} @ {store.keys['location_id'].iat[s]}" for s in rows
    )
    warnings.warn(
        f"{model.name}: {len(young)} of {len(series)} series have less than {needed} periods "
        f"of history (e.g. {named}), so their {periods}-period lead-time quantiles rest on "
        f"fewer than {periods} errors of such sums or none: narrow, or one number; plan such "
        "series with a network's lead time (auto does)",
        UserWarning,
        stacklevel=3,
    )


def forecast_origins(store: PanelStore) -> tuple[torch.Tensor, torch.Tensor]:
    """Every series forecast from the period after its last observation; a series with no
    history (a new item with only future rows) from its first row, from its peers (cold start).
    """
    origins = store.end
    if store.first_row is None:  # a store built from arrays: a series with no data has none
        series = torch.nonzero(origins > 0).squeeze(1)
        return series, origins[series]
    # Every series of a table has a row; a new item's first row may be the table's first period.
    origins = torch.where(store.end > 0, store.end, store.first_row.to(store.end.device))
    return torch.arange(store.n_series, device=origins.device), origins


def check_store_encoding(model, store: PanelStore) -> None:
    """Refuse a store encoded otherwise than ``model`` was trained: categorical codes from
    another vocabulary (a store that learned its own levels) would read other levels'
    embeddings, and static reals z-scored with another table's statistics other values."""
    vocab = getattr(model, "vocab", None) or {}
    for column, levels in vocab.items():
        if list(store.vocab.get(column, ())) != list(levels):
            raise ValueError(
                f"data: the store's {column!r} codes are not the run's vocabulary; pass the "
                "table, or build the store with the run's vocab (and static_stats)"
            )
    stats = getattr(model, "static_stats", None)
    if stats and store.static_stats != stats:
        raise ValueError(
            "data: the store's static reals are not z-scored with the run's static_stats; "
            "pass the table, or build the store with them"
        )


def forecast_table(model, store: PanelStore, cumulative: int | None = None) -> pd.DataFrame:
    """The forecast of every series from its last observation, as a table (see
    :meth:`Forecaster.predict`); ``model`` is a network or a baseline fitted on the panel."""
    if cumulative is not None:
        check_cumulative(cumulative, model.horizon)
    series, origins = forecast_origins(store)
    steps = cumulative or model.horizon
    store.check_horizon(series, origins, steps)
    first_row = None if store.first_row is None else store.first_row.cpu().numpy()
    end = store.end.cpu().numpy()
    ended_early(store.keys, store.dates, end, first_row, cumulative=cumulative)
    if cumulative:
        if isinstance(model, SeasonalNaive | MovingAverage):
            _few_sum_errors(model, store, series, origins, cumulative)
        quantiles = model.predict_windows(store, series, origins, cumulative=True)
        return cumulative_frame(
            store.keys,
            series.cpu().numpy(),
            quantiles[:, :cumulative],
            model.quantiles,
            store.spec.frequency,
            store.dates,
            origins.cpu().numpy(),
            # A launch after the origin is shifted by it (the table has no dates).
            origin=launch_origin(end, first_row),
        )
    quantiles = model.predict_windows(store, series, origins)
    return forecast_frame(
        store.keys,
        store.dates,
        store.spec.frequency,
        series.cpu().numpy(),
        origins.cpu().numpy(),
        quantiles,
        model.quantiles,
    )


class Forecaster:
    """Demand forecasts per item x location from one long table: fit, predict, backtest, save.

    ``model`` and ``horizon`` and any other field of :class:`~forecasting.config.ForecastConfig`
    (``encoder_length``, ``hidden_size``, ``quantiles``...) are given as keywords; ``spec`` maps
    the table's columns and declares the covariates; ``train`` is the
    :class:`~training.config.TrainConfig`. Tables are DataFrames in the user's column names or
    paths to CSV / parquet files.

    >>> from forecasting import Forecaster, PanelSpec
    >>> from forecasting.synthetic import generate_network
    >>> from training import TrainConfig
    >>> sales = generate_network(n_items=6, n_locations=2, n_days=200, future_days=7).to_frame()
    >>> spec = PanelSpec(static_categoricals=("category", "region"), known_reals=("price",))
    >>> fast = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    >>> forecaster = Forecaster("lstm", horizon=7, spec=spec, train=fast, hidden_size=8)
    >>> forecast = forecaster.fit(sales).predict(sales)
    >>> list(forecast.columns[:4]), int(forecast["step"].max())
    (['item_id', 'location_id', 'date', 'step'], 7)
    >>> lead_time = forecaster.predict(sales, cumulative=7)   # demand over the next 1..7 days
    >>> list(lead_time.columns[:3])
    ['item_id', 'location_id', 'horizon']
    """

    def __init__(
        self,
        model: str | None = None,
        horizon: int | None = None,
        *,
        spec: PanelSpec | None = None,
        train: TrainConfig | None = None,
        **settings: Any,
    ):
        if model is not None:
            settings["model"] = model
        if horizon is not None:
            settings["horizon"] = horizon
        self.config = ForecastConfig.from_dict(settings)
        self.spec = spec or PanelSpec()
        self.train = train or TrainConfig()
        self.model_: NeuralForecaster | AutoForecaster | SeasonalNaive | MovingAverage | None = None
        self.report: ValidationReport | None = None
        # The frequency the last training table's dates showed (not given): the next training
        # table infers its own (a daily fit left 'D' in the spec, and a weekly table refitted
        # was refused as if 'D' had been given).
        self._inferred_freq: str | None = None
        self._reported: weakref.ref[PanelStore] | None = None

    @classmethod
    def from_config(
        cls, config: ForecastConfig, spec: PanelSpec | None = None, train: TrainConfig | None = None
    ) -> Forecaster:
        """An unfitted forecaster with the settings of ``config``, the column mapping and
        covariates of ``spec`` and the training settings ``train`` (defaults when ``None``)."""
        return cls(spec=spec, train=train, **config.to_dict())

    def __repr__(self) -> str:
        state = "fitted" if self.model_ is not None else "not fitted"
        return f"Forecaster({self.config.model!r}, horizon={self.config.horizon}, {state})"

    # ------------------------------------------------------------------ data

    def panel(self, data: pd.DataFrame | str | Path, training: bool = False) -> pd.DataFrame:
        """The table in canonical column names (read from a path, mapped by the spec); a
        training table must have the demand column."""
        if not isinstance(data, str | Path):
            return map_columns(data, self.spec, require_target=training)
        frame = read_panel(data, self.spec)
        if len(frame) == 0:
            raise FileError(f"{data}: the panel has no rows (only a header)")
        return map_columns(frame, self.spec, require_target=training)

    def store(self, data: pd.DataFrame | str | Path) -> PanelStore:
        """Load, validate and build the store of a training table; ``self.report`` says what
        validation did (frequency, pre-launch rows, gaps)."""
        spec = self.spec
        if self._inferred_freq is not None and spec.freq == self._inferred_freq:
            spec = dataclasses.replace(spec, freq=None)
        clean, report = validate_panel(self.panel(data, training=True), spec, categories=True)
        self.report = report
        self.spec = spec.with_freq(report.freq)
        self._inferred_freq = report.freq if report.freq_inferred else None
        # As a prediction table is read: a series without history (a new item) scales its
        # reals over the rows a forecast reads, not a longer price plan.
        rows = horizon_rows(clean, self.spec, self.config.horizon)
        store = PanelStore.from_frame(rows, self.spec)
        self._reported = weakref.ref(store)  # the store this report describes
        return store

    def _model(self, season: int):
        if self.config.is_network:
            return NeuralForecaster(self.config, self.train)
        if self.config.model == AUTO:
            return AutoForecaster(self.config, self.train)
        return baseline(self.config.model, self.config, season)

    # --------------------------------------------------------------- fitting

    def fit(
        self,
        data: pd.DataFrame | str | Path | PanelStore,
        run_dir: str | Path | None = None,
        *,
        overwrite: bool = False,
        resume: str | Path | None = None,
    ) -> Forecaster:
        """Fit on the whole table (the last horizon before its end validates the network).

        With ``run_dir``, training writes its checkpoints and logs there and the fitted model is
        saved there too; the folder appears whole when fitting succeeds and not at all when it
        fails or is interrupted (an existing one is an error unless ``overwrite``; an
        interrupted network keeps ``<run_dir>.interrupted/last.ckpt``, which ``resume``
        continues from, given the same data and settings).
        """
        if isinstance(data, PanelStore):
            store = data
            if self._reported is None or self._reported() is not store:
                self.report = None  # built elsewhere: the last report is another table's
        else:
            store = self.store(data)
        self.spec = store.spec
        model = self._model(store.spec.season)
        if resume is not None and not isinstance(model, NeuralForecaster):
            raise ValueError(f"resume: {self.config.model} is not a network, nothing to resume")
        if run_dir is None:
            self.model_ = model.fit(store, resume=resume) if resume else model.fit(store)
            return self
        with building(run_dir, overwrite=overwrite) as folder:
            try:
                if isinstance(model, NeuralForecaster):
                    model.fit(store, run_dir=folder, resume=resume)
                elif isinstance(model, AutoForecaster):
                    model.fit(store, run_dir=folder)
                else:
                    model.fit(store)
                self.model_ = model
                if is_main_process():
                    self._write(folder)
            except BaseException as stop:
                # Stopped after the training (finishing the network, writing the folder).
                if isinstance(model, NeuralForecaster) and model.config.ensemble == 1:
                    keep_finished_checkpoint(folder, stop)
                raise
        return self

    def _require_fitted(self):
        if self.model_ is None:
            raise RuntimeError("this forecaster is not fitted: call fit() or load() first")
        return self.model_

    def network(self, name: str) -> Forecaster:
        """One of an ``auto`` run's networks (``lstm``, ``tft``, ``lstm_nb``, ``tft_nb``) as a
        fitted forecaster of its own: it predicts, saves and exports as a run of that model
        trained alone would, so a network ``auto`` chose can be served without training it
        again. The two share the network (no copy of its weights)."""
        model = self._require_fitted()
        if not isinstance(model, AutoForecaster):
            raise ValueError(
                f"network: only an auto run holds several networks; this one is "
                f"{self.config.model!r}"
            )
        if name not in model.networks:
            raise ValueError(f"network: expected one of {list(model.networks)}, got {name!r}")
        network = model.networks[name]
        view = Forecaster.from_config(network.config, self.spec, self.train)
        view.model_, view.report = network, self.report
        # The frequency the run inferred stays inferred: a weekly table refitted on the view was
        # refused as if the daily run's 'D' had been given (the run itself refits it).
        view._inferred_freq = self._inferred_freq
        return view

    # ------------------------------------------------------------ predicting

    def predict(
        self, data: pd.DataFrame | str | Path | PanelStore, cumulative: int | None = None
    ) -> pd.DataFrame:
        """Forecast the ``horizon`` periods after each series' last observed period.

        ``data`` holds each series' history and, after it, future rows with empty demand that
        carry the known covariates of the horizon. Returns ``item_id, location_id, date, step,
        q...``; with ``cumulative=K``, quantiles of the demand summed over the next 1..K periods
        as ``item_id, location_id, horizon, q...`` (the lead-time demand planning reads),
        counted from the forecast origin: a new series launched g periods after it has 0 in
        rows 1..g and its launch's first h - g periods' quantiles in row h (a warning names it).
        """
        model = self._require_fitted()
        if isinstance(data, PanelStore):
            check_store_encoding(model, data)
            store = data
        else:
            store = self._store_for(data, cumulative)
        return forecast_table(model, store, cumulative)

    def _store_for(self, data: pd.DataFrame | str | Path, periods: int | None = None) -> PanelStore:
        """A prediction table's store in the training vocabulary, one horizon past its end;
        only the ``periods`` a cumulative forecast sums are read past each origin (rows further
        ahead would move the z-scores of the periods it sums)."""
        # A table of new items alone (only future rows) is forecast from the run's level.
        clean, _ = validate_panel(
            self.panel(data), self.spec, categories=True, history=False, trained=True
        )
        clean = horizon_rows(clean, self.spec, periods or self.config.horizon)
        vocab = getattr(self.model_, "vocab", None) or None
        return PanelStore.from_frame(
            clean,
            self.spec,
            vocab=vocab,
            extra_periods=self.config.horizon,
            static_stats=getattr(self.model_, "static_stats", None),
        )

    def interpret(self, data: pd.DataFrame | str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Variable importance and attention by lag of a TFT (:mod:`forecasting.interpret`)."""
        model = self._require_fitted()
        if isinstance(model, AutoForecaster):
            # The way to a TFT of an auto run is named: the command has no --network option.
            tfts = [name for name in model.networks if name.startswith("tft")]
            route = (
                f"interpret one of its TFTs ({', '.join(tfts)}) in Python with "
                f"Forecaster.load(run).network({tfts[0]!r}).interpret(data)"
                if tfts
                else "it trained no TFT"
            )
            raise ValueError(
                f"interpret: needs a tft run, this one is 'auto' "
                f"(networks {list(model.networks)}); "
                f"`stockcast forecast interpret` cannot pick one network of an auto run: {route}"
            )
        if not isinstance(model, NeuralForecaster) or model.name != "tft":
            raise ValueError(f"interpret: needs a tft run, this one is {self.config.model!r}")
        return model.interpret(self._store_for(data))

    # ------------------------------------------------------------- backtests

    def backtest(
        self,
        data: pd.DataFrame | str | Path | PanelStore,
        config: BacktestConfig | None = None,
        *,
        also: Sequence[Forecaster] = (),
        progress: bool = True,
        **settings: Any,
    ) -> BacktestResult:
        """Score this model, the forecasters in ``also`` and the baselines of ``config`` (or
        of :class:`~forecasting.config.BacktestConfig` fields given as keywords, which change
        ``config``'s) over rolling origins. Models are fitted on the data before the first
        origin (``refit``: at every origin); this forecaster keeps the model fitted there.
        ``progress`` shows progress bars. ``result.save(folder)`` writes the metrics and fan
        charts."""
        # Keywords given beside a config change it (they were dropped: origins=5 with a
        # config scored the config's 3 origins).
        config = dataclasses.replace(config, **settings) if config else BacktestConfig(**settings)
        store = data if isinstance(data, PanelStore) else self.store(data)
        self.spec = store.spec
        own = [self, *also]
        models = [f._model(store.spec.season) for f in own]
        taken = {m.name for m in models}
        models += [
            baseline(name, self.config, store.spec.season)
            for name in config.baselines
            if name not in taken
        ]
        result = backtest(
            store,
            models,
            self.config.horizon,
            n_origins=config.origins,
            step=config.step,
            refit=config.refit,
            progress=progress,
            cold_start=config.cold_start,
            seed=config.cold_start_seed,
            min_history=config.min_history,
        )
        for forecaster, model in zip(own, models):
            forecaster.model_, forecaster.spec = model, store.spec
        result.store, result.plot_series = store, config.plot_series
        return result

    # ----------------------------------------------------------- persistence

    def save(self, run_dir: str | Path, *, overwrite: bool = False) -> Path:
        """Write the fitted model to a new run folder (``model.pt`` and ``manifest.json``),
        whole or not at all."""
        self._require_fitted()
        with building(run_dir, overwrite=overwrite) as folder:
            self._write(folder)
        return Path(run_dir)

    def _write(self, folder: Path) -> None:
        model = self._require_fitted()
        extra: dict[str, Any] = {}
        info = dict(getattr(model, "info", {}) or {})
        if isinstance(model, NeuralForecaster):
            model.save_weights(folder / WEIGHTS_FILE)
            extra["model"] = {**model.state(), "weights": WEIGHTS_FILE}
        elif isinstance(model, AutoForecaster):
            state = model.state()
            for name, network in model.networks.items():
                weights = f"model.{name}.pt"
                network.save_weights(folder / weights)
                state["networks"][name]["weights"] = weights
            for name, tree in model._trees.items():
                trees = f"model.{name}.json"
                tree.save_trees(folder / trees)
                state["trees"][name]["trees"] = trees
            extra["model"] = state
        write_manifest(
            folder,
            "forecast",
            config={
                "forecast": self.config.to_dict(),
                "spec": self.spec.to_dict(),
                "train": self.train.to_dict(),
            },
            data_fingerprint=info.pop("data_fingerprint", None),
            metrics={k: info.pop(k) for k in ("best_val_loss",) if k in info},
            training=info,
            # The spec's frequency was read from the training table's dates, not given: a
            # loaded run refitted on a weekly table infers 'W' as the forecaster it was saved
            # from does (it was refused as if 'D' had been given).
            freq_inferred=self._inferred_freq is not None and self._inferred_freq == self.spec.freq,
            **extra,
        )

    @classmethod
    def load(cls, run_dir: str | Path) -> Forecaster:
        """Load a forecast run folder; every file's sha256 is checked against its manifest and
        weights are read with ``weights_only=True`` (no pickles)."""
        manifest = read_manifest(run_dir, task="forecast")
        # Each entry read is checked: a hand-edited or foreign manifest is named, entry and all.
        sections = {
            name: manifest_entry(manifest, run_dir, f"config.{name}")
            for name in ("forecast", "spec", "train")
        }
        with reading_entry(run_dir, "config.spec"):
            spec = PanelSpec.from_dict(sections["spec"])
        with reading_entry(run_dir, "config.train"):
            train = TrainConfig.from_dict(sections["train"])
        with reading_entry(run_dir, "config.forecast"):
            forecaster = cls(spec=spec, train=train, **sections["forecast"])
        if manifest.get("freq_inferred") is True:  # runs saved before: as given
            forecaster._inferred_freq = spec.freq
        info = manifest.get("training")
        info = dict(info) if isinstance(info, dict) else {}
        # What _write moved out of the model's info into the manifest's own entries: put back,
        # so that a loaded run saved again keeps its data fingerprint and validation score.
        info["data_fingerprint"] = manifest.get("data_fingerprint")
        metrics = manifest.get("metrics")
        if isinstance(metrics, dict) and "best_val_loss" in metrics:
            info["best_val_loss"] = metrics["best_val_loss"]
        if forecaster.config.is_network:
            state = manifest_entry(manifest, run_dir, "model")
            weights = Path(run_dir) / manifest_entry(manifest, run_dir, "model.weights", str)
            with reading_entry(run_dir, "model"):
                forecaster.model_ = NeuralForecaster.restore(
                    forecaster.config, forecaster.train, forecaster.spec, state, weights, info=info
                )
        elif forecaster.config.model == AUTO:
            state = manifest_entry(manifest, run_dir, "model")
            with reading_entry(run_dir, "model"):
                forecaster.model_ = AutoForecaster.restore(
                    forecaster.config,
                    forecaster.train,
                    forecaster.spec,
                    state,
                    Path(run_dir),
                    info=info,
                )
        else:
            forecaster.model_ = baseline(
                forecaster.config.model, forecaster.config, forecaster.spec.season
            )
        # The weights were read by name after the hashes were checked: still the same run?
        check_unchanged(run_dir, manifest)
        return forecaster
