"""The demo's champion/challenger score scales each series as the backtest does, with a day
that has no row between a series' first and last one read as a day without sales (the panel's
gap rule). The scale took only the pairs of days that both had a row: a table of sale days
scaled its intermittent series by 0.6 where the backtest's is 1.52, and the decision went to
the model that the backtest's scoring ranks second."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serving.demo.monitor import _history_scale, _sql

ORIGIN = pd.Timestamp("2024-02-26")
H = 7


def _history():
    rng = np.random.default_rng(0)
    rows = []
    for day in pd.date_range("2024-01-01", periods=55):
        if rng.random() < 0.35:  # sold on about a third of the days: no row on the others
            rows.append(("A", day, float(rng.integers(1, 6))))
    rows.append(("A", pd.Timestamp("2024-02-25"), 2.0))  # the day before the origin
    for day in pd.date_range("2024-01-01", periods=56):
        rows.append(("B", day, float(10 + rng.integers(-3, 4))))
    frame = pd.DataFrame(rows, columns=["item_id", "date", "demand"])
    return frame.assign(location_id="L")


def _by_hand_scale(history):
    out = {}
    for item, rows in history.groupby("item_id"):
        days = pd.date_range(rows["date"].min(), rows["date"].max())
        full = rows.set_index("date")["demand"].reindex(days, fill_value=0.0).to_numpy()
        out[(item, "L")] = np.abs(full[7:] - full[:-7]).mean()
    return out


def _actual():
    days = pd.date_range(ORIGIN, periods=H)
    demand = {"A": [0, 3, 0, 0, 2, 0, 4], "B": [10, 12, 9, 11, 8, 10, 13]}
    return pd.DataFrame(
        [{"item_id": i, "location_id": "L", "date": d, "demand": float(demand[i][k])}
         for i in demand for k, d in enumerate(days)]
    )  # fmt: skip


def _forecast(median_a, median_b):
    return pd.DataFrame(
        [{"item_id": i, "location_id": "L", "date": ORIGIN + pd.Timedelta(days=h), "step": h + 1,
          "q0.1": 0.5 * m, "q0.5": m, "q0.9": 1.5 * m}
         for i, m in (("A", median_a), ("B", median_b)) for h in range(H)]
    )  # fmt: skip


def _sql_by_hand(forecast, actual, scale):
    scores = []
    for (item, _), s in scale.items():
        y = actual.loc[actual["item_id"] == item, "demand"].to_numpy()
        rows = forecast[forecast["item_id"] == item]
        losses = [np.maximum(q * (y - rows[f"q{q:g}"]), (q - 1) * (y - rows[f"q{q:g}"]))
                  for q in (0.1, 0.5, 0.9)]  # fmt: skip
        scores.append(2 * np.mean(losses) / s)
    return float(np.mean(scores))


def test_days_without_a_row_are_zero_in_the_scale_and_the_decision():
    history, actual = _history(), _actual()
    expected = _by_hand_scale(history)
    scale = _history_scale(history)
    assert expected[("A", "L")] == pytest.approx(1.5208333, rel=1e-6)
    for key, value in expected.items():
        assert scale.loc[key] == pytest.approx(value)
    champion, challenger = _forecast(2.5, 14.0), _forecast(3.5, 10.0)
    old, new = _sql(champion, actual, H, scale), _sql(challenger, actual, H, scale)
    assert old == pytest.approx(_sql_by_hand(champion, actual, expected))
    assert new == pytest.approx(_sql_by_hand(challenger, actual, expected))
    assert new < old  # by the backtest's scoring the challenger forecasts better
