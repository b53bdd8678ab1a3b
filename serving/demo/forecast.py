"""The demo's forecasting step: LSTM and TFT backtested against the baselines, both exported.

The networks are fitted once, on the data before the backtest's first origin, and forecast
every origin; the one with the lower scaled quantile loss is the champion whose package plans
the held-back weeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from forecasting import BacktestConfig, Forecaster
from forecasting.backtest import BacktestResult
from forecasting.config import NETWORK_NAMES
from forecasting.interpret import plot_interpretation
from serving.demo.config import DemoConfig
from serving.demo.data import DemoData
from serving.export import export_run
from serving.package import read_package
from training import TrainConfig


@dataclass
class ForecastOutcome:
    backtest: BacktestResult
    forecasters: dict[str, Forecaster]
    packages: dict[str, Path]
    champion: str
    paths: dict[str, Path]

    @property
    def champion_package(self) -> Path:
        return self.packages[self.champion]

    def parity(self) -> pd.DataFrame:
        rows = []
        for name, folder in self.packages.items():
            manifest = read_package(folder)
            worst = max(manifest["parity"]["max_relative_error"].values())
            # As text: the report rounds numbers to 3 decimals, and every package that passed
            # (under 1e-4) showed a parity error of 0.0.
            rows.append({"package": f"{name}/{folder.name}", "opset": manifest["model"]["opset"],
                         "parity (max relative error)": f"{worst:.2g}",
                         "files": ", ".join(manifest["files"])})  # fmt: skip
        return pd.DataFrame(rows)


def forecasting_step(data: DemoData, config: DemoConfig, out: Path) -> ForecastOutcome:
    """Backtest every network on ``data.train`` (``out/backtest``), save each run
    (``out/runs/<name>``) and export it (``out/models``); the champion has the lowest scaled
    quantile loss. Also the TFT's interpretation plot."""
    train = TrainConfig(
        max_epochs=config.epochs,
        batches_per_epoch=config.batches_per_epoch,
        seed=config.seed,
        progress_bar=config.progress,
    )
    forecasters = {
        name: Forecaster(name, config.horizon, spec=data.spec, train=train)
        for name in NETWORK_NAMES
    }
    first, *others = forecasters.values()
    result = first.backtest(
        data.train, BacktestConfig(origins=config.origins), also=others, progress=config.progress
    )
    paths = result.save(out / "backtest")
    overall = result.overall()
    champion = min(NETWORK_NAMES, key=lambda name: overall.loc[name, "sql"])
    packages = {}
    for name, forecaster in forecasters.items():
        run = forecaster.save(out / "runs" / name)
        packages[name] = export_run(run, out / "models", name)
    importance, attention = forecasters["tft"].interpret(
        data.forecast_table(data.cutoff, config.horizon)
    )
    paths["interpretation"] = plot_interpretation(
        importance, attention, out / "backtest" / "tft_interpretation.png",
        title="TFT: what the network looked at", freq=forecasters["tft"].spec.freq,
    )  # fmt: skip
    return ForecastOutcome(result, forecasters, packages, champion, paths)
