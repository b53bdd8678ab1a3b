"""A monthly panel on the 30th (or 29th) reads February's last day as its February row, as the
forecast itself dates it; the run takes back the table holding its own forecast dates."""

import numpy as np
import pandas as pd
import pytest

from forecasting.grid import build_grid
from forecasting.spec import PanelSpec
from forecasting.validate import PanelError, infer_frequency, validate_panel


def _day(day: int, start: str, n: int) -> pd.DatetimeIndex:
    # Independent reference: the day of each month, the month's last day where it is shorter.
    out = []
    for m in pd.date_range(start, periods=n, freq="MS"):
        out.append(m + pd.Timedelta(days=min(day, m.days_in_month) - 1))
    return pd.DatetimeIndex(out)


def _panel(dates):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        [
            {"item_id": f"i{s}", "location_id": "L", "date": d, "demand": float(rng.poisson(9))}
            for s in range(2)
            for d in dates
        ]
    )


@pytest.mark.parametrize("day", [29, 30])
def test_clipped_month_days_are_monthly(day):
    dates = _day(day, "2023-01-01", 26)  # holds 28 Feb 2023 and 29 Feb 2024
    assert infer_frequency(dates) == "M"
    for spec in (PanelSpec(), PanelSpec(freq="M")):
        clean, report = validate_panel(_panel(dates), spec)
        assert report.freq == "M" and report.gap_periods == 0 and len(clean) == 52


def test_grid_keeps_the_day_after_a_short_month():
    # A table starting on 28 February of a panel on the 30th: March is the 30th, not the 28th.
    dates = _day(30, "2023-02-01", 5)
    clean, report = validate_panel(_panel(dates), PanelSpec())
    grid = build_grid(clean, PanelSpec(freq=report.freq), extra_periods=13)
    assert list(grid.dates) == list(_day(30, "2023-02-01", 18))


def test_a_forecast_date_comes_back_as_an_actual():
    # History on the 30th without a February; the next row, dated as a forecast dates it.
    dates = _day(30, "2023-03-01", 11).append(pd.DatetimeIndex(["2024-02-29"]))
    clean, report = validate_panel(_panel(dates), PanelSpec(freq="M"))
    assert report.gap_periods == 0 and len(clean) == 24


def test_a_row_off_the_day_is_still_named():
    dates = _day(30, "2023-01-01", 14).delete(5).insert(5, pd.Timestamp("2023-06-29"))
    with pytest.raises(PanelError, match="days other than 30"):
        validate_panel(_panel(dates), PanelSpec(freq="M"))


def test_a_panel_on_the_30th_whose_februaries_are_commonest_is_on_its_grid():
    """The grid check took the commonest day as the panel's: with more (clipped) 29 Februaries
    than 30ths, every 30th row was refused as 'days other than 29'."""
    rows = [("a", d) for d in _day(30, "2024-01-01", 3)]  # 30 Jan, 29 Feb, 30 Mar
    rows += [(s, pd.Timestamp("2024-02-29")) for s in ("b", "c", "d")]
    frame = pd.DataFrame(
        [{"item_id": s, "location_id": "L", "date": d, "demand": 1.0} for s, d in rows]
    )
    clean, report = validate_panel(frame, PanelSpec(freq="M"))
    assert report.freq == "M" and len(clean) == len(frame)
    stray = pd.concat([frame, frame.iloc[[0]].assign(item_id="e", date=pd.Timestamp("2024-03-29"))])
    with pytest.raises(PanelError, match="days other than 30") as error:
        validate_panel(stray, PanelSpec(freq="M"))
    assert "2024-03-29" in str(error.value)
