"""Segment columns named like the monitor's own columns: per-FC monitoring (``--segments
location_id``), a text column named ``origin`` or ``step`` in the actuals, a forecasts table
that carries a demand column. Each crashed with a pandas error (AttributeError, KeyError); a
column named ``all`` mixed its rows into the overall ones. Scores checked against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.validate import PanelError


def _tables():
    rng = np.random.default_rng(3)
    rows, actual = [], []
    for k in range(2):
        origin = pd.Timestamp("2024-03-04") + pd.Timedelta(days=7 * k)
        for s in range(8):
            for step in range(1, 8):
                date = origin + pd.Timedelta(days=step - 1)
                m = 4.0 + s
                location = "FC1" if s % 2 else "FC2"
                rows.append({"item_id": f"i{s}", "location_id": location, "date": date,
                             "step": step, "q0.1": m / 2, "q0.5": m, "q0.9": 1.5 * m})  # fmt: skip
                actual.append({"item_id": f"i{s}", "location_id": location, "date": date,
                               "demand": float(rng.poisson(m)),
                               "origin": "imported" if s < 4 else "domestic"})  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(actual)


def _by_hand(forecasts, actuals, column):
    joined = forecasts.merge(actuals, on=["item_id", "location_id", "date"])
    joined["run"] = joined["date"] - pd.to_timedelta(joined["step"] - 1, unit="D")
    out = {}
    for (level, run), part in joined.groupby([column, "run"]):
        error = (part["demand"] - part["q0.5"]).abs().sum()
        out[(level, run)] = error / part["demand"].sum()
    return pd.Series(out)


@pytest.mark.parametrize("column", ["location_id", "origin"])
def test_a_segment_named_like_a_key_or_the_origin_is_scored(column):
    forecasts, actuals = _tables()
    report = monitor(forecasts, actuals, segments=[column])
    table = report.table[report.table["segment_type"] == column]
    got = table.set_index(["segment", "origin"])["wape"]
    expected = _by_hand(forecasts, actuals, column)
    assert len(got) == len(expected) == 4
    for key, value in expected.items():
        assert got.loc[key] == pytest.approx(value)


def test_a_forecasts_demand_column_is_not_the_actuals():
    forecasts, actuals = _tables()
    plain = monitor(forecasts, actuals, segments=[])
    report = monitor(forecasts.assign(demand=np.nan), actuals, segments=[])
    pd.testing.assert_frame_equal(report.table, plain.table)


def test_a_segment_column_named_all_is_refused():
    forecasts, actuals = _tables()
    actuals["all"] = np.where(actuals["item_id"] < "i4", "all", "other")
    with pytest.raises(PanelError, match="overall rows"):
        monitor(forecasts, actuals, segments=["all"])
