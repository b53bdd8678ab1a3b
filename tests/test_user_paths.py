"""One job, every path: a CSV table forecasts and plans as its parquet copy, the demo keeps the
challenger by a score scaled by each series' history, an interrupted backtest names no
checkpoint it removed, and the README's forecast request is answered as written."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serving.cli import Interrupted, main
from serving.demo.monitor import _history_scale, _sql
from serving.service.app import create_app
from training.forecast_task import ForecastTask


@pytest.fixture(scope="module")
def padded(small_network, tmp_path_factory):
    """A tiny LSTM trained on the synthetic network with zero-padded numeric-looking ids."""
    from forecasting import Forecaster
    from training import TrainConfig

    root = tmp_path_factory.mktemp("padded")
    frame = small_network.to_frame()
    items = {v: f"{i:04d}" for i, v in enumerate(sorted(frame["item_id"].astype(str).unique()))}
    locations = {
        v: f"{i:02d}" for i, v in enumerate(sorted(frame["location_id"].astype(str).unique()))
    }
    frame = frame.assign(
        item_id=frame["item_id"].astype(str).map(items),
        location_id=frame["location_id"].astype(str).map(locations),
    )
    frame.to_parquet(root / "sales.parquet")
    frame.to_csv(root / "sales.csv", index=False)
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=32, progress_bar=False)
    forecaster = Forecaster("lstm", 7, spec=small_network.spec, train=train, hidden_size=8)
    forecaster.fit(frame, run_dir=root / "run")
    return forecaster, root


def test_a_csv_panel_forecasts_as_its_parquet_copy(padded):
    forecaster, root = padded
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from_parquet = forecaster.predict(root / "sales.parquet")
        from_csv = forecaster.predict(root / "sales.csv")
    assert not [str(w.message) for w in caught if "unseen" in str(w.message)]
    assert from_csv["item_id"].iloc[0] == "0000" and from_csv["location_id"].iloc[0] == "00"
    assert from_csv[["item_id", "location_id", "step"]].equals(
        from_parquet[["item_id", "location_id", "step"]]
    )
    q = [c for c in from_csv.columns if c.startswith("q")]
    np.testing.assert_allclose(from_csv[q].to_numpy(), from_parquet[q].to_numpy(), rtol=1e-6)


def test_plan_reads_a_csv_lead_time_forecast_against_a_parquet_inventory(padded, capsys):
    forecaster, root = padded
    ltd = forecaster.predict(root / "sales.parquet", cumulative=7)
    ltd.to_csv(root / "ltd.csv", index=False)  # what `forecast predict --out ltd.csv` writes
    keys = ltd[["item_id", "location_id"]].drop_duplicates()
    keys.assign(on_hand=10.0, lead_time_mean=3.0).to_parquet(root / "inv.parquet")
    out = root / "plan.csv"
    code = main(["plan", "--forecast", str(root / "ltd.csv"), "--inventory",
                 str(root / "inv.parquet"), "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    written = pd.read_csv(out, dtype={"item_id": str, "location_id": str})
    assert set(written["item_id"]) == set(keys["item_id"])


def test_a_blank_categorical_is_one_level_in_csv_parquet_and_rows(small_network, tmp_path):
    """The synthetic network's ``event`` is "" on ordinary days: a CSV saves it as an empty
    cell, which reads back as missing. Trained on either, the other forecasts the same."""
    import warnings

    from forecasting import Forecaster
    from training import TrainConfig

    frame = small_network.to_frame()
    assert (frame["event"].astype(str) == "").mean() > 0.5
    frame.to_csv(tmp_path / "sales.csv", index=False)
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=32, progress_bar=False)
    forecaster = Forecaster("lstm", 7, spec=small_network.spec, train=train, hidden_size=8)
    forecaster.fit(tmp_path / "sales.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from_rows = forecaster.predict(frame)  # "" as the service's JSON rows send it
        from_csv = forecaster.predict(tmp_path / "sales.csv")
    assert not [str(w.message) for w in caught if "unseen" in str(w.message)]
    q = [c for c in from_csv.columns if c.startswith("q")]
    np.testing.assert_allclose(from_rows[q].to_numpy(), from_csv[q].to_numpy(), rtol=1e-6)


LEVELS = [0.1, 0.5, 0.9]


def _history():
    days = pd.date_range("2024-01-01", periods=28, freq="D")
    busy = 20 + 10 * (np.arange(28) % 7 == 5)  # weekly peak: 7-day differences are 0
    busy = busy + np.where(np.arange(28) >= 14, 4, 0)  # a step up: differences of 4 for a week
    quiet = np.where(np.arange(28) % 3 == 0, 2.0, 0.0)
    return pd.concat([
        pd.DataFrame({"item_id": "busy", "location_id": "FC1", "date": days, "demand": busy}),
        pd.DataFrame({"item_id": "quiet", "location_id": "FC1", "date": days, "demand": quiet}),
    ], ignore_index=True)  # fmt: skip


def _forecast(busy_median: float, quiet_median: float, origin: pd.Timestamp, horizon: int):
    rows = []
    for item, median in (("busy", busy_median), ("quiet", quiet_median)):
        for step in range(1, horizon + 1):
            rows.append({"item_id": item, "location_id": "FC1", "step": step,
                         "date": origin + pd.Timedelta(days=step - 1),
                         "q0.1": 0.5 * median, "q0.5": median, "q0.9": 1.5 * median})  # fmt: skip
    return pd.DataFrame(rows)


def _reference(forecast, actual, history):
    """SQL by hand: mean over windows of 2 x mean pinball / in-sample 7-day MAE."""
    scores = []
    for item, rows in forecast.groupby("item_id"):
        past = history[history["item_id"] == item]["demand"].to_numpy(dtype=float)
        scale = np.abs(past[7:] - past[:-7]).mean()
        real = actual[actual["item_id"] == item].sort_values("date")["demand"].to_numpy()
        loss = []
        for level in LEVELS:
            error = real - rows.sort_values("step")[f"q{level}"].to_numpy()
            loss.append(np.maximum(level * error, (level - 1) * error))
        scores.append(2 * np.mean(loss) / scale)
    return float(np.mean(scores))


def test_sql_scales_each_series_by_its_history_not_by_the_scored_days():
    history = _history()
    origin, horizon = pd.Timestamp("2024-01-29"), 3
    days = pd.date_range(origin, periods=horizon, freq="D")
    actual = pd.concat([
        pd.DataFrame({"item_id": "busy", "location_id": "FC1", "date": days, "demand": 24.0}),
        pd.DataFrame({"item_id": "quiet", "location_id": "FC1", "date": days, "demand": 0.0}),
    ], ignore_index=True)  # fmt: skip
    scale = _history_scale(history)
    # A forecasts the busy series well and the quiet one as it usually sells (0.7 a day);
    # B forecasts the busy series 40% low and the quiet one at zero.
    a = _forecast(24.0, 0.7, origin, horizon)
    b = _forecast(14.4, 0.0, origin, horizon)
    sql_a, sql_b = _sql(a, actual, horizon, scale), _sql(b, actual, horizon, scale)
    assert sql_a == pytest.approx(_reference(a, actual, history), rel=1e-9)
    assert sql_b == pytest.approx(_reference(b, actual, history), rel=1e-9)
    assert sql_a < sql_b  # dividing by the scored days' mean (0 -> 1e-3) ranked them the other way
    assert sql_a < 1.0


def test_an_interrupted_backtest_names_no_checkpoint_it_removed(
    small_network, tmp_path, monkeypatch, capsys
):
    small_network.to_frame().to_parquet(tmp_path / "sales.parquet")
    step = ForecastTask.training_step

    def interrupted_at_the_second_step(self, batch, batch_idx):
        if self.trainer.global_step >= 1:
            raise Interrupted(signal.SIGINT)  # what the command's SIGINT handler raises
        return step(self, batch, batch_idx)

    monkeypatch.setattr(ForecastTask, "training_step", interrupted_at_the_second_step)
    out = tmp_path / "bt"
    code = main([
        "forecast", "backtest", "--data", str(tmp_path / "sales.parquet"), "--out", str(out),
        "--model", "lstm", "--horizon", "7", "--origins", "1", "--hidden-size", "8",
        "--epochs", "1", "--batches-per-epoch", "3", "--batch-size", "16", "--no-progress",
        "--static-cats", "category,department,region", "--known-reals", "price,temperature",
        "--known-cats", "promo,event",
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 130, err
    assert not out.exists()
    named = re.findall(r"checkpoint to resume from: (\S+)", err)
    assert all(Path(path).is_file() for path in named), err


README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_forecast_body() -> dict:
    """The body the README sends to /v1/forecast: inline JSON after ``-d '`` or the file the
    README's own snippet writes before ``-d @file``."""
    text = README.read_text(encoding="utf-8")
    start = text.index("curl -s localhost:8000/v2/models/tft/versions/1")
    block = text[start : text.index("curl -s -X POST localhost:8000/v1/plan", start)]
    call = block[block.index("curl -s -X POST localhost:8000/v1/forecast") :]
    if "-d @" not in call:
        return json.loads(call[call.index("-d '") + 4 : call.rindex("'")])
    snippet = re.search(r"python3 -c '(.*?)' >", block, flags=re.S).group(1)
    done = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_readme_forecast_request_is_answered(lstm_package):
    _, package, _ = lstm_package  # the synthetic network's columns, as the demo's packages
    body = _readme_forecast_body()
    body["model"] = package.parent.name
    with TestClient(create_app(package.parent.parent)) as client:
        response = client.post("/v1/forecast", json=body)
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert [r["horizon"] for r in rows] == list(range(1, body["cumulative"] + 1))
