"""Monitor: a forecasts table holding weekly (or monthly) runs on grids a day apart (weeks
ending Sunday and Monday, months on their first and last day) is scored per run, as each
series alone is; the dates of all series together read as daily and split every run into
one-row phantom origins."""

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor


def _tables(grids):
    acts, fcs = [], []
    for item, dates in grids.items():
        for t, d in enumerate(dates):
            acts.append({"item_id": item, "location_id": "L", "date": d, "demand": 4.0 + t % 3})
        for origin in (6, 8):
            for h in range(3):
                fcs.append(
                    {
                        "item_id": item,
                        "location_id": "L",
                        "date": dates[origin + h],
                        "step": h + 1,
                        "q0.1": 2.0,
                        "q0.5": 5.0 - h,
                        "q0.9": 8.0,
                    }
                )
    return pd.DataFrame(fcs), pd.DataFrame(acts)


def _by_origin(forecasts, actuals):
    table = monitor(forecasts, actuals).table
    return table[table["segment_type"] == "all"].set_index("origin")[["wape", "bias", "n_rows"]]


@pytest.mark.parametrize(
    "grids",
    [
        {
            "A": pd.date_range("2023-01-02", periods=12, freq="7D"),  # Mondays
            "B": pd.date_range("2023-01-01", periods=12, freq="7D"),
        },  # Sundays
        {
            "A": pd.date_range("2023-01-01", periods=12, freq="MS"),
            "B": pd.date_range("2023-01-31", periods=12, freq="ME"),
        },
    ],
)
def test_runs_on_grids_a_day_apart_keep_their_origins(grids):
    forecasts, actuals = _tables(grids)
    both = _by_origin(forecasts, actuals)
    # Two runs per series, each its own origin: four origins of three rows each.
    assert len(both) == 4
    assert (both["n_rows"] == 3).all()
    for item in grids:
        alone = _by_origin(forecasts[forecasts.item_id == item], actuals[actuals.item_id == item])
        pd.testing.assert_frame_equal(both.loc[alone.index], alone)
    # The origin of a run is the date of its step 1, by hand.
    expected = sorted(d for dates in grids.values() for d in (dates[6], dates[8]))
    assert list(both.index) == expected
    # Its WAPE by hand: |4-5| + |5-4| + |6-3| over 4 + 5 + 6 from origin 6 (t % 3 = 0, 1, 2).
    first = both.loc[grids["A"][6]]
    assert np.isclose(first["wape"], 5 / 15)
