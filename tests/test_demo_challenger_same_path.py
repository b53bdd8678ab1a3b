"""The demo's champion/challenger decision with a challenger identical to the champion (same
data, settings and seed: the same weights) keeps the champion, on a tie of the two scaled
quantile losses. The champion was scored through its ONNX package and the challenger through
torch: the losses differed in the ninth digit and the identical challenger replaced the
champion in 4 of seeds 0-5."""

from __future__ import annotations

import pandas as pd
import torch

from forecasting import Forecaster
from forecasting.backtest import BacktestResult
from forecasting.spec import DATE
from serving.demo import data as demo_data
from serving.demo.config import DemoConfig
from serving.demo.forecast import ForecastOutcome
from serving.demo.monitor import monitoring_step
from serving.export import export_run
from serving.runtime import ForecastPackage
from training import TrainConfig


def test_an_identical_challenger_ties_and_the_champion_is_kept(tmp_path):
    torch.set_num_threads(1)  # both fits on one thread: the same weights bit for bit
    config = DemoConfig(items=5, locations=2, days=150, holdout_weeks=2, horizon=7, epochs=1,
                        batches_per_epoch=2, seed=1, progress=False)  # fmt: skip
    data = demo_data.embedded(config)
    # The champion trained on what the challenger trains on: the data before the second half.
    origin = data.cutoff + pd.Timedelta(days=config.holdout_days // 2)
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, seed=1, progress_bar=False)
    champion = Forecaster("lstm", config.horizon, spec=data.spec, train=train, hidden_size=8)
    champion.fit(data.frame[data.frame[DATE] < origin], run_dir=tmp_path / "runs" / "lstm")
    package = export_run(tmp_path / "runs" / "lstm", tmp_path / "models", "lstm")
    # A reference no forecast meets: every segment is flagged and the challenger is trained.
    metrics = pd.DataFrame(
        [{"model": "lstm", "segment_type": "all", "segment": "all", "wape": 1e-3}]
    )
    outcome = ForecastOutcome(
        BacktestResult(pd.DataFrame(), metrics, {}), {"lstm": champion}, {"lstm": package},
        "lstm", {},
    )  # fmt: skip
    forecast = ForecastPackage(package).predict(data.forecast_table(data.cutoff, config.horizon))
    result = monitoring_step(data, outcome, forecast, config, tmp_path)
    decision = result.decision
    assert "all=all" in decision["flagged"]
    assert decision["challenger"]["sql"] == decision["champion"]["sql"]
    assert decision["kept"] == "champion" and not result.retrained
    assert result.package == package
