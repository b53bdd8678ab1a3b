"""The main job on the embedded default: a synthetic network, the LSTM, a backtest, a forecast.

``stockcast demo --out runs/demo`` generates a network, writes it as a panel (so every other
command can be tried on it), backtests the LSTM against the baselines over rolling origins,
writes the metrics table and fan charts, saves the model and forecasts the next horizon, per
day and as lead-time demand (cumulative quantiles, the input of ``stockcast plan``).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from forecasting.backtest import BacktestResult, backtest
from forecasting.io import atomic_write, write_table
from forecasting.models import MovingAverage, SeasonalNaive
from forecasting.plots import save_fan_charts
from forecasting.store import PanelStore
from forecasting.synthetic import generate_network
from forecasting.validate import validate_panel
from training.config import TrainConfig
from training.forecaster import NeuralForecaster


def run_demo(
    out_dir: str | Path,
    n_items: int = 200,
    n_locations: int = 5,
    n_days: int = 730,
    horizon: int = 28,
    origins: int = 3,
    train: TrainConfig | None = None,
    seed: int = 0,
    progress: bool = True,
) -> tuple[BacktestResult, dict[str, Path]]:
    """Run the demo into ``out_dir`` and return the backtest and the paths it wrote."""
    out_dir = Path(out_dir)
    train = train or TrainConfig(max_epochs=15, batches_per_epoch=40, seed=seed)
    train.progress_bar = progress
    network = generate_network(n_items, n_locations, n_days, seed=seed, future_days=horizon)
    frame = network.to_frame()
    spec = network.spec
    paths = {
        "panel": write_table(frame, out_dir / "data" / "panel.parquet"),
        "lead_times": write_table(network.lead_times, out_dir / "data" / "lead_times.parquet"),
    }
    config = {"spec": spec.to_dict(), "model": "lstm", "horizon": horizon}
    paths["config"] = atomic_write(
        out_dir / "data" / "config.yaml", lambda p: p.write_text(yaml.safe_dump(config))
    )

    clean, _ = validate_panel(frame, spec)
    store = PanelStore.from_frame(clean, spec)
    lstm = NeuralForecaster("lstm", horizon=horizon, train=train)
    result = backtest(
        store,
        [SeasonalNaive(horizon, season=spec.season), MovingAverage(horizon), lstm],
        horizon,
        n_origins=origins,
        progress=progress,
    )
    paths.update(result.save(out_dir / "backtest", store))
    # The backtest fitted the LSTM on data before the first origin; that model is kept.
    paths["model"] = lstm.save(out_dir / "model")

    forecast = lstm.predict(store)
    paths["forecast"] = write_table(forecast, out_dir / "forecast.parquet")
    # Lead-time demand (demand summed over the next 1..horizon days): what `stockcast plan` reads.
    lead_time_demand = lstm.predict(store, cumulative=horizon)
    paths["lead_time_demand"] = write_table(lead_time_demand, out_dir / "lead_time_demand.parquet")
    series = store.end.nonzero().squeeze(1)
    volume = store.target[series].nan_to_num().sum(dim=1)
    top = series[volume.argsort(descending=True)[:6]]
    quantiles = lstm.predict_windows(store, top, store.end[top])
    paths["forecast_plot"] = save_fan_charts(
        store,
        top.numpy(),
        store.end[top].numpy(),
        quantiles,
        lstm.quantiles,
        out_dir / "forecast.png",
        title="LSTM forecast of the next horizon",
    )
    return result, paths
