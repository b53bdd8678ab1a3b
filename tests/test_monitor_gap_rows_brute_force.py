"""The monitor's gap rows (a period the actuals list no row for, between a series' observed
ones, on its grid, scored as 0) are the same after the speed-up that leaves out the rows after
each series' last observed demand first: checked against a brute-force list of the gaps."""

import numpy as np
import pandas as pd

from forecasting.monitor import _gap_rows, monitor


def _case():
    rng = np.random.default_rng(5)
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    weeks = pd.date_range("2024-01-07", periods=12, freq="7D")
    forecasts, actuals = [], []
    for s in range(12):
        item, grid = f"I{s}", (weeks if s % 3 == 2 else days)
        for step, date in enumerate(grid, start=1):
            forecasts.append((item, "L1", date, step, 4.0, 5.0, 6.0))
        observed = len(grid) - 1 - s % 4  # the last 1-4 periods have no actual yet
        for k, date in enumerate(grid[:observed]):
            if 0 < k < observed - 1 and rng.random() < 0.3:
                continue  # a period without a sales record
            actuals.append((item, "L1", date, float(rng.poisson(5)), "food" if s % 2 else "toys"))
    forecasts.append(("NEW", "L1", days[3], 1, 4.0, 5.0, 6.0))  # a series without actuals
    f = pd.DataFrame(forecasts, columns=["item_id", "location_id", "date", "step", "q0.1", "q0.5",
                                         "q0.9"])  # fmt: skip
    a = pd.DataFrame(actuals, columns=["item_id", "location_id", "date", "demand", "category"])
    return f, a


def _brute_gaps(f, a):
    listed = set(zip(a.item_id, a.location_id, a.date))
    gaps = set()
    for row in f.itertuples():
        seen = a[(a.item_id == row.item_id) & (a.location_id == row.location_id)]
        key = (row.item_id, row.location_id, row.date)
        if key in listed or seen.empty:
            continue
        if seen.date.min() < row.date < seen.date.max():
            gaps.add(key)  # daily or weekly grids here: every forecast period is on the grid
    return gaps


def test_gap_rows_are_the_interior_missing_periods_only():
    f, a = _case()
    # as monitor() gives them: each row's run origin (here one run per series, from step 1)
    f["origin"] = f.groupby(["item_id", "location_id"])["date"].transform("min")
    gaps = _gap_rows(f, a, ["category"])
    got = set(zip(gaps.item_id, gaps.location_id, gaps.date))
    want = _brute_gaps(f, a)
    assert want and got == want
    assert (gaps["demand"] == 0).all()
    assert list(gaps.index) == sorted(gaps.index)  # in the forecasts' order, their index kept
    assert gaps.index.isin(f.index).all()


def test_monitor_notes_the_gaps_it_scores():
    f, a = _case()
    report = monitor(f, a, segments=["category"])
    n_gaps = len(_brute_gaps(f, a))
    assert any(n.startswith(f"{n_gaps} forecast rows fall on periods") for n in report.notes)
