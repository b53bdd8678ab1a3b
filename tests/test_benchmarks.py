"""The benchmark scripts score fairly: targets read a model chosen before the held-out window,
the peer's negative quantiles count as 0 as stockcast's never go below, and the peer keeps its
best validation checkpoint.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

# benchmarks/accuracy.py: the gain over the peer that the targets read comes from the model
# chosen on each seed's validation window, not from the best of the candidates on the held-out
# window (a choice made on the test data).


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def overall(model, sql, wape):
    return {"model": model, "segment_type": "all", "segment": "all", "sql": sql, "wape": wape,
            "mase": 1.0, "bias": 0.0, "coverage_80": 0.8, "n_windows": 10}  # fmt: skip


def validation(model, sql, wape):
    return {"model": model, "demand_class": "all", "sql": sql, "wape": wape}


def run(seed, held_out, on_validation):
    return {
        "seed": seed,
        "by_segment": [overall(*row) for row in held_out],
        "auto_validation_scores": [validation(*row) for row in on_validation],
        "auto_worse_than_seasonal_naive": [],
    }


@pytest.fixture
def accuracy(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import importlib

    return importlib.import_module("accuracy")


def test_targets_read_the_validation_choice(accuracy):
    # On validation "a" is best by far; on the held-out window "b" happens to beat the peer.
    held_out = [("auto", 0.50, 0.50), ("a", 0.50, 0.50), ("b", 0.40, 0.40), ("pf_tft", 0.48, 0.48)]
    on_validation = [("a", 0.30, 0.30), ("b", 0.60, 0.60)]
    grain = accuracy.combine(
        "W", [run(0, held_out, on_validation), run(1, held_out, on_validation)]
    )
    assert grain["best"] == {"sql": "b", "wape": "b"}  # the held-out reference stays
    picked = grain["best_on_validation"]
    assert picked["sql"]["models"] == ["a", "a"] and picked["wape"]["models"] == ["a", "a"]
    gains = grain["vs_peer"]
    assert gains["validation_pick_sql_gain"] == pytest.approx(1 - 0.50 / 0.48)
    assert gains["validation_pick_wape_gain"] == pytest.approx(1 - 0.50 / 0.48)
    args = type("Args", (), {"no_peer": False, "volume_weight": 0.5, "encoder_length": None,
                             "target_transform": "none", "auto_distributions": "quantile",
                             "epochs": 1, "ensemble": 1, "seeds": [0, 1], "lr": None,
                             "threads": 1})()  # fmt: skip
    summary = accuracy._summary({"W": grain}, args, 0.0, complete=True)
    # "b" beats the peer by 17% on the held-out window, but nobody could have chosen it.
    assert summary["targets"]["best_beats_peer_by_5pct"] is False


def test_per_seed_choice_scored_on_its_own_seed(accuracy):
    seed0 = run(0, [("auto", .5, .5), ("a", .40, .45), ("b", .50, .41), ("pf_tft", .5, .5)],
                [("a", .2, .9), ("b", .9, .2)])  # fmt: skip
    seed1 = run(1, [("auto", .5, .5), ("a", .44, .49), ("b", .46, .43), ("pf_tft", .5, .5)],
                [("a", .9, .2), ("b", .2, .9)])  # fmt: skip
    grain = accuracy.combine("M", [seed0, seed1])
    picked = grain["best_on_validation"]
    assert picked["sql"]["models"] == ["a", "b"]
    assert picked["sql"]["sql"] == pytest.approx((0.40 + 0.46) / 2)
    assert picked["wape"]["models"] == ["b", "a"]
    assert picked["wape"]["wape"] == pytest.approx((0.41 + 0.49) / 2)


# benchmarks/forecast_train.py scores every side's quantiles clipped at 0, as accuracy.py
# scores the same peer: a negative quantile of demand is never better than 0 and the peer's
# normalizer leaves many below 0.


@pytest.fixture
def forecast_train(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("forecast_train")


def test_negative_quantiles_scored_as_zero(forecast_train):
    rng = np.random.default_rng(0)
    horizon = forecast_train.HORIZON
    origin = 70
    target = torch.from_numpy(rng.poisson(0.6, size=(5, origin + horizon)).astype(np.float32))
    store = SimpleNamespace(target=target, n_series=5, device=torch.device("cpu"))
    median = rng.poisson(0.6, size=(5, horizon, 1)).astype(np.float64)
    quantiles = np.concatenate([median - 2.0, median, median + 1.5], axis=2)  # q0.1 below 0
    assert (quantiles < 0).any()
    clipped = forecast_train.score(store, origin, np.maximum(quantiles, 0.0))
    assert forecast_train.score(store, origin, quantiles) == pytest.approx(clipped)


# benchmarks/accuracy.py: the peer (pytorch-forecasting's TFT) is restored from its best
# validation checkpoint, as the script's docstring says, not from the last epoch that early
# stopping ran past (Lightning's default checkpoint callback monitors nothing).


def tiny_monthly_frame(n_series: int = 3, months: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2014-01-01", periods=months, freq="MS")
    rows = []
    for k in range(n_series):
        level = 5.0 + 3 * k
        for t, date in enumerate(dates):
            rows.append(
                {
                    "item_id": f"I{k}", "location_id": "L0", "date": date,
                    "demand": float(rng.poisson(level * (1.3 if date.month == 12 else 1.0))),
                    "dept_id": "D", "cat_id": "C", "state_id": "S",
                    "event_type_1": "" if t % 5 else "National", "snap": 10,
                    "sell_price": 2.0 + 0.1 * k,
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_peer_restores_its_best_validation_checkpoint(monkeypatch, tmp_path):
    pytest.importorskip("pytorch_forecasting")  # the bench extra
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.chdir(tmp_path)  # Lightning's checkpoints land under the working folder
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import Callback

    accuracy = __import__("accuracy")
    seen: dict = {}

    class Recorder(Callback):
        def __init__(self):
            self.losses: list[float] = []

        def on_validation_epoch_end(self, trainer, module):
            if not trainer.sanity_checking and "val_loss" in trainer.callback_metrics:
                self.losses.append(float(trainer.callback_metrics["val_loss"]))

    real = pl.Trainer

    def trainer(*args, **kwargs):
        if "trainer" in seen:  # predict's own trainers
            return real(*args, **kwargs)
        seen["recorder"] = Recorder()
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), seen["recorder"]]
        seen["trainer"] = real(*args, **kwargs)
        return seen["trainer"]

    monkeypatch.setattr(pl, "Trainer", trainer)
    frame = tiny_monthly_frame()
    dates = pd.DatetimeIndex(sorted(frame["date"].unique()))
    peer = accuracy.PytorchForecastingTFT(frame, "M", 6, (0.1, 0.5, 0.9), epochs=4, seed=0)
    peer.fit(SimpleNamespace(dates=dates), cutoff=len(dates) - 6)

    checkpoint = seen["trainer"].checkpoint_callback
    losses = seen["recorder"].losses
    assert len(losses) == 4
    # The checkpoint the peer is restored from is the one of the lowest validation loss.
    assert checkpoint.monitor == "val_loss"
    assert checkpoint.best_model_score is not None
    assert float(checkpoint.best_model_score) == pytest.approx(min(losses))
    best_epoch = int(np.argmin(losses))
    assert f"epoch={best_epoch}-" in Path(checkpoint.best_model_path).name
    # Read back, the checkpoints are deleted: repeated runs leave no folder per fit in /tmp.
    assert not Path(checkpoint.best_model_path).exists()
    sys.modules.pop("accuracy", None)


def m5_like(days: pd.DatetimeIndex, launch: pd.Timestamp, per_day: int) -> pd.DataFrame:
    on_sale = days >= launch
    week = ((days - pd.Timestamp("2011-01-29")).days // 7 + 11101).astype("int32")
    return pd.DataFrame(
        {
            "item_id": "FOODS_1_001", "dept_id": "FOODS_1", "cat_id": "FOODS",
            "store_id": "CA_1", "state_id": "CA", "date": days,
            "sales": np.where(on_sale, per_day, 0).astype("int32"),
            "sell_price": np.where(on_sale, 2.0, np.nan).astype("float32"),
            "wm_yr_wk": week, "snap": np.int32(0), "event_type_1": "",
        }
    )  # fmt: skip


def test_launch_month_is_not_a_whole_month(accuracy):
    days = pd.date_range("2012-05-01", "2012-08-31", freq="D")
    # On sale from June 20th: 11 days of June, then July and August whole.
    raw = m5_like(days, pd.Timestamp("2012-06-20"), per_day=3)
    monthly = accuracy.aggregate(raw, "M")
    on_sale = monthly[monthly["sell_price"].notna()].set_index("date")["sales"]
    # Reference by hand: the whole months on sale are July and August, 31 days x 3 each;
    # June (11 of its 30 days on sale: 33 units) is no month's demand.
    assert on_sale.to_dict() == {pd.Timestamp("2012-07-01"): 93, pd.Timestamp("2012-08-01"): 93}


def test_weeks_unchanged_by_the_launch(accuracy):
    days = pd.date_range("2011-01-29", periods=7 * 6, freq="D")
    raw = m5_like(days, pd.Timestamp("2011-02-12"), per_day=2)  # launch on a week's first day
    weekly = accuracy.aggregate(raw, "W")
    on_sale = weekly[weekly["sell_price"].notna()]
    assert on_sale["sales"].tolist() == [14, 14, 14, 14]
    assert on_sale["date"].min() == pd.Timestamp("2011-02-12")
