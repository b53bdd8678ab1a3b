"""``NeuralForecaster``: one fit / predict API over a long demand table, for every network.

    forecaster = NeuralForecaster("lstm", horizon=28).fit(store, run_dir="runs/lstm")
    table = forecaster.predict(panel_frame)          # item_id, location_id, date, step, q...
    forecaster.save("runs/lstm"); NeuralForecaster.load("runs/lstm")

It follows :class:`forecasting.base.Forecaster`, so backtests score it beside the baselines.
A run folder holds ``config.json`` (spec, vocabularies, network and training settings, data
fingerprint, metrics) and ``model.pt`` (a state dict, loaded with ``weights_only=True``).
"""

from __future__ import annotations

import hashlib
import json
import platform
import tempfile
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from forecasting.interpret import interpret_windows
from forecasting.io import atomic_write, write_json
from forecasting.models import NETWORKS, InputDims, MovingAverage, SeasonalNaive, build_network
from forecasting.spec import DEFAULT_QUANTILES, PanelSpec
from forecasting.store import PanelStore
from forecasting.tables import cumulative_frame, forecast_frame
from forecasting.validate import validate_panel
from forecasting.windows import (
    BATCH_KEYS,
    WindowList,
    default_prior_scale,
    group_prior_scale,
)
from training.config import TrainConfig
from training.devices import resolve_precision, select_device
from training.forecast_task import ForecastData, ForecastTask
from training.trainer import fit

CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.pt"
BASELINES = ("seasonal_naive", "moving_average")


def store_fingerprint(store: PanelStore, cutoff: int) -> str:
    """sha256 of the training data (demand before the cutoff and the series keys)."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(store.target[:, :cutoff].cpu().numpy()).tobytes())
    digest.update(pd.util.hash_pandas_object(store.keys, index=False).to_numpy().tobytes())
    return digest.hexdigest()


class NeuralForecaster:
    """A quantile forecasting network fitted through the ``training`` assembly.

    ``model``: a name of :data:`forecasting.models.NETWORKS` (``lstm``, ``tft``); ``horizon``:
    periods forecast at once; ``encoder_length``: history periods read (default
    ``max(2 * horizon, 4 * season)``); ``model_params``: the network's own arguments (e.g.
    ``hidden_size``); ``train``: the :class:`~training.config.TrainConfig`;
    ``min_encoder_length``: observed periods a training window needs (default one season);
    ``cold_start_rate``: share of training windows whose history is hidden so the network
    learns to forecast new items.
    """

    def __init__(
        self,
        model: str = "lstm",
        horizon: int = 28,
        encoder_length: int | None = None,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        model_params: dict[str, Any] | None = None,
        train: TrainConfig | None = None,
        min_encoder_length: int | None = None,
        cold_start_rate: float = 0.1,
    ):
        if model not in NETWORKS:
            raise ValueError(f"model: expected one of {sorted(NETWORKS)}, got {model!r}")
        if horizon < 1:
            raise ValueError(f"horizon: expected >= 1, got {horizon}")
        quantiles = tuple(float(q) for q in quantiles)
        if any(not 0 < q < 1 for q in quantiles) or list(quantiles) != sorted(set(quantiles)):
            raise ValueError(f"quantiles: expected increasing levels in (0, 1), got {quantiles}")
        self.name = model
        self.horizon = horizon
        self.encoder_length = encoder_length
        self.quantiles = quantiles
        self.model_params = dict(model_params or {})
        self.train = train or TrainConfig()
        self.min_encoder_length = min_encoder_length
        self.cold_start_rate = cold_start_rate
        self.net: torch.nn.Module | None = None
        self.spec: PanelSpec | None = None
        self.vocab: dict[str, list[str]] = {}
        self.dims: InputDims | None = None
        self.prior_scale: float = 1.0
        self.info: dict[str, Any] = {}

    # ----------------------------------------------------------------- fitting

    def _lengths(self, spec: PanelSpec) -> tuple[int, int]:
        encoder = self.encoder_length or max(2 * self.horizon, 4 * spec.season)
        minimum = self.min_encoder_length or max(1, min(encoder, spec.season))
        return encoder, minimum

    def fit(
        self,
        store: PanelStore,
        cutoff: int | None = None,
        run_dir: str | Path | None = None,
    ) -> NeuralForecaster:
        """Train on periods before ``cutoff`` (default: all); the last horizon before the cutoff
        is the validation window that drives early stopping and checkpoint selection."""
        cutoff = int(store.end.max().item()) if cutoff is None else int(cutoff)
        val_origin = cutoff - self.horizon
        encoder_length, min_encoder = self._lengths(store.spec)
        self.encoder_length = encoder_length
        self.spec, self.vocab = store.spec, store.vocab
        self.dims = InputDims.from_store(store)
        self.prior_scale = default_prior_scale(store, val_origin)
        priors = group_prior_scale(store, val_origin, fallback=self.prior_scale)
        torch.manual_seed(self.train.seed)  # weights initialise identically for a seed
        net = build_network(self.name, self.dims, self.horizon, self.quantiles, **self.model_params)
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
            cold_start_rate=self.cold_start_rate,
        )
        task = ForecastTask(
            net, self.quantiles, data, self.train.learning_rate, self.train.weight_decay
        )
        scratch = None
        if run_dir is None:
            scratch = tempfile.TemporaryDirectory(prefix="stockcast-fit-")
            run_dir = scratch.name
        try:
            result = fit(task, self.train, run_dir)
        finally:
            if scratch is not None:
                scratch.cleanup()
        self.net = task.net.cpu().eval()
        self.info = {
            "cutoff": str(store.dates[cutoff - 1].date()),
            "best_val_loss": result.best_score,
            "epochs": result.epochs,
            "stopped_early": result.stopped_early,
            "data_fingerprint": store_fingerprint(store, cutoff),
            "is_global_zero": result.is_global_zero,
        }
        return self

    # --------------------------------------------------------------- predicting

    def _require_fitted(self) -> None:
        if self.net is None or self.spec is None:
            raise RuntimeError("this forecaster is not fitted: call fit() or load() first")

    def predict_windows(
        self,
        store: PanelStore,
        series: torch.Tensor,
        origins: torch.Tensor,
        batch_size: int = 1024,
        accelerator: str | None = None,
        cumulative: bool = False,
    ) -> np.ndarray:
        """Quantiles (N, horizon, Q) of demand for windows ``(series, origins)``; with
        ``cumulative``, of the demand summed over steps 1..h instead."""
        self._require_fitted()
        device = select_device(accelerator or self.train.accelerator)
        net = self.net.to(device)
        placed = store.to(device)
        windows = WindowList(
            placed,
            series,
            origins,
            self.encoder_length,
            self.horizon,
            batch_size,
            self.priors(placed, origins),
            with_target=False,
        )
        precision = resolve_precision(self.train.precision, device.type)
        autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16)
            if device.type == "cuda" and precision.startswith("bf16")
            else nullcontext()
        )
        outputs = []
        with torch.inference_mode(), autocast:
            for batch in windows:
                steps, summed = net(*(batch[key] for key in BATCH_KEYS))
                scaled = (summed if cumulative else steps).float()
                outputs.append((scaled * batch["scale"][:, None, None]).clamp(min=0).cpu())
        self.net = net.cpu()
        if not outputs:
            return np.zeros((0, self.horizon, len(self.quantiles)), dtype=np.float32)
        return torch.cat(outputs).numpy()

    def store_for(self, frame: pd.DataFrame) -> PanelStore:
        """Validate a raw panel (canonical column names) and build a store in this model's
        vocabulary, extended by one horizon so forecasts can run past the last row."""
        self._require_fitted()
        clean, _ = validate_panel(frame, self.spec)
        return PanelStore.from_frame(clean, self.spec, vocab=self.vocab, extra_periods=self.horizon)

    def predict(
        self, data: pd.DataFrame | PanelStore, cumulative: int | None = None
    ) -> pd.DataFrame:
        """Forecast the ``horizon`` periods after each series' last observed period.

        ``data`` is a canonical-named panel (future rows with empty demand carry the known
        covariates of the horizon) or a store. Returns ``item_id, location_id, date, step, q...``;
        with ``cumulative=K``, quantiles of the demand summed over the next 1..K periods as
        ``item_id, location_id, horizon, q...`` (the lead-time demand planning needs).
        """
        if cumulative is not None and not 1 <= cumulative <= self.horizon:
            raise ValueError(
                f"cumulative: expected 1..{self.horizon} (the model's horizon), got {cumulative}"
            )
        store = data if isinstance(data, PanelStore) else self.store_for(data)
        series, origins = self.forecast_origins(store)
        steps = cumulative or self.horizon
        store.check_horizon(series, origins, steps)
        quantiles = self.predict_windows(store, series, origins, cumulative=bool(cumulative))
        if cumulative:
            return cumulative_frame(store, series, quantiles[:, :cumulative], self.quantiles)
        return forecast_frame(store, series, origins, quantiles, self.quantiles)

    @staticmethod
    def forecast_origins(store: PanelStore) -> tuple[torch.Tensor, torch.Tensor]:
        """Every series with history, forecast from the period after its last observation."""
        series = torch.nonzero(store.end > 0).squeeze(1)
        return series, store.end[series]

    def interpret(
        self, data: pd.DataFrame | PanelStore, max_series: int = 2000
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Variable importance and attention by lag of a TFT over the forecasts from each
        series' last observation (:mod:`forecasting.interpret`)."""
        self._require_fitted()
        store = data if isinstance(data, PanelStore) else self.store_for(data)
        series, origins = self.forecast_origins(store)
        return interpret_windows(
            self.net,
            store,
            series[:max_series],
            origins[:max_series],
            self.encoder_length,
            self.horizon,
            self.priors(store, origins),
        )

    def priors(self, store: PanelStore, origins: torch.Tensor) -> torch.Tensor:
        """Per-series fallback levels from peers' demand before the latest origin (no demand at
        or after a window's origin is used when windows share an origin or end at it)."""
        if len(origins) == 0:
            return torch.full((store.n_series,), self.prior_scale, device=store.device)
        return group_prior_scale(store, int(origins.max()), fallback=self.prior_scale)

    # ------------------------------------------------------------ persistence

    def config(self) -> dict[str, Any]:
        self._require_fitted()
        return {
            "task": "forecast",
            "model": self.name,
            "horizon": self.horizon,
            "encoder_length": self.encoder_length,
            "min_encoder_length": self.min_encoder_length,
            "cold_start_rate": self.cold_start_rate,
            "quantiles": list(self.quantiles),
            "model_params": self.model_params,
            "train": self.train.to_dict(),
            "spec": self.spec.to_dict(),
            "vocab": self.vocab,
            "dims": self.dims.to_dict(),
            "prior_scale": self.prior_scale,
            "info": self.info,
            "versions": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "numpy": np.__version__,
                "pandas": pd.__version__,
            },
        }

    def save(self, run_dir: str | Path) -> Path:
        """Write ``model.pt`` and ``config.json`` to ``run_dir`` (each atomically)."""
        run_dir = Path(run_dir)
        state = {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
        atomic_write(run_dir / WEIGHTS_FILE, lambda p: torch.save(state, p))
        write_json(self.config(), run_dir / CONFIG_FILE)
        return run_dir

    @classmethod
    def load(cls, run_dir: str | Path) -> NeuralForecaster:
        """Load a saved forecaster; weights are read with ``weights_only=True`` (no pickles)."""
        run_dir = Path(run_dir)
        config_path, weights_path = run_dir / CONFIG_FILE, run_dir / WEIGHTS_FILE
        for path in (config_path, weights_path):
            if not path.exists():
                raise FileNotFoundError(f"{path}: not a forecast run folder (missing {path.name})")
        config = json.loads(config_path.read_text())
        if config.get("task") != "forecast":
            raise ValueError(f"{config_path}: task is {config.get('task')!r}, not 'forecast'")
        forecaster = cls(
            model=config["model"],
            horizon=config["horizon"],
            encoder_length=config["encoder_length"],
            quantiles=config["quantiles"],
            model_params=config["model_params"],
            train=TrainConfig.from_dict(config["train"]),
            min_encoder_length=config["min_encoder_length"],
            cold_start_rate=config.get("cold_start_rate", 0.1),
        )
        forecaster.spec = PanelSpec.from_dict(config["spec"])
        forecaster.vocab = config["vocab"]
        forecaster.dims = InputDims.from_dict(config["dims"])
        forecaster.prior_scale = config["prior_scale"]
        forecaster.info = config["info"]
        net = build_network(
            forecaster.name,
            forecaster.dims,
            forecaster.horizon,
            forecaster.quantiles,
            **forecaster.model_params,
        )
        net.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
        forecaster.net = net.eval()
        return forecaster


def make_forecaster(
    name: str,
    horizon: int,
    season: int = 7,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    **neural: Any,
):
    """A forecaster by name: a baseline (``seasonal_naive``, ``moving_average``) or a network
    of :data:`forecasting.models.NETWORKS` (``neural`` holds its NeuralForecaster arguments)."""
    if name == "seasonal_naive":
        return SeasonalNaive(horizon, season=season, quantiles=quantiles)
    if name == "moving_average":
        return MovingAverage(horizon, window=max(28, season), quantiles=quantiles)
    if name in NETWORKS:
        return NeuralForecaster(name, horizon=horizon, quantiles=quantiles, **neural)
    raise ValueError(f"model: unknown {name!r}; choose from {[*NETWORKS, *BASELINES]}")
