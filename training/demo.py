"""The main job on the embedded default: a synthetic network, the LSTM, a backtest, a forecast.

``stockcast demo --out runs/demo`` generates a network, writes it as a panel (so every other
command can be tried on it), backtests the LSTM against the baselines over rolling origins,
writes the metrics table and fan charts, saves the model and forecasts the next horizon, per
day and as lead-time demand (cumulative quantiles, the input of ``stockcast plan``).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from forecasting.backtest import BacktestResult
from forecasting.config import BacktestConfig
from forecasting.plots import save_fan_charts
from forecasting.synthetic import generate_network
from kernels.io import atomic_write, write_table
from training.config import DemoConfig, TrainConfig
from training.forecaster import Forecaster, forecast_origins


def run_demo(
    out_dir: str | Path, config: DemoConfig | None = None
) -> tuple[BacktestResult, dict[str, Path]]:
    """Run the demo into ``out_dir`` and return the backtest and the paths it wrote."""
    config = config or DemoConfig()
    out_dir = Path(out_dir)
    train = TrainConfig(
        max_epochs=config.epochs,
        batches_per_epoch=config.batches_per_epoch,
        seed=config.seed,
        progress_bar=config.progress,
    )
    horizon = config.horizon
    network = generate_network(
        config.items, config.locations, config.days, seed=config.seed, future_days=horizon
    )
    frame = network.to_frame()
    spec = network.spec
    paths = {
        "panel": write_table(frame, out_dir / "data" / "panel.parquet"),
        "lead_times": write_table(network.lead_times, out_dir / "data" / "lead_times.parquet"),
    }
    settings = {"spec": spec.to_dict(), "forecast": {"model": "lstm", "horizon": horizon}}
    paths["config"] = atomic_write(
        out_dir / "data" / "config.yaml", lambda p: p.write_text(yaml.safe_dump(settings))
    )

    lstm = Forecaster("lstm", horizon=horizon, spec=spec, train=train)
    result = lstm.backtest(frame, BacktestConfig(origins=config.origins), progress=config.progress)
    paths.update(result.save(out_dir / "backtest"))
    # The backtest fitted the LSTM on data before the first origin; that model is kept.
    paths["model"] = lstm.save(out_dir / "model", overwrite=True)

    store = result.store
    forecast = lstm.predict(store)
    paths["forecast"] = write_table(forecast, out_dir / "forecast.parquet")
    # Lead-time demand (demand summed over the next 1..horizon days): what `stockcast plan` reads.
    lead_time_demand = lstm.predict(store, cumulative=horizon)
    paths["lead_time_demand"] = write_table(lead_time_demand, out_dir / "lead_time_demand.parquet")
    series, origins = forecast_origins(store)
    volume = store.target[series].nan_to_num().sum(dim=1)
    top = series[volume.argsort(descending=True)[:6]]
    quantiles = lstm.model_.predict_windows(store, top, store.end[top])
    paths["forecast_plot"] = save_fan_charts(
        store,
        top.numpy(),
        store.end[top].numpy(),
        quantiles,
        lstm.config.quantiles,
        out_dir / "forecast.png",
        title="LSTM forecast of the next horizon",
    )
    return result, paths
