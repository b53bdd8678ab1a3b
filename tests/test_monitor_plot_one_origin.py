"""The monitor plot of a single forecast origin (the demo's): matplotlib's autoscale spread the
one point over a 2022-2026 axis; it now spans a week either side, its date the only tick."""

from __future__ import annotations

import matplotlib.dates
import pandas as pd

import forecasting.monitor as monitor_module
from forecasting.monitor import monitor
from tests.test_figure_text import _segment_frames
from tests.test_monitor import forecasts_and_actuals


def _axes(report, monkeypatch):
    figures = []
    monkeypatch.setattr(monitor_module, "save_figure", lambda fig, path: figures.append(fig))
    report.plot("monitor.png")
    return figures[0].axes


def _span(ax) -> tuple[pd.Timestamp, pd.Timestamp]:
    lo, hi = (pd.Timestamp(matplotlib.dates.num2date(x)).tz_localize(None) for x in ax.get_xlim())
    return lo, hi


def test_the_monitor_plot_of_one_origin_spans_days_not_years(monkeypatch):
    forecasts, actuals = _segment_frames()
    report = monitor(forecasts, actuals, segments=["grp $k$"])
    assert report.table["origin"].nunique() == 1
    origin = pd.Timestamp(report.table["origin"].iloc[0])
    for ax in _axes(report, monkeypatch):
        lo, hi = _span(ax)
        assert lo < origin < hi and hi - lo <= pd.Timedelta(days=14)
        assert [t.get_text() for t in ax.get_xticklabels()] == [str(origin.date())]


def test_several_origins_keep_their_autoscaled_axis(monkeypatch):
    forecasts, actuals = forecasts_and_actuals()  # three weekly runs
    report = monitor(forecasts, actuals, segments=["category"])
    origins = pd.DatetimeIndex(report.table["origin"].unique())
    assert len(origins) == 3
    for ax in _axes(report, monkeypatch):
        lo, hi = _span(ax)
        assert lo <= origins.min() and origins.max() <= hi
        assert len(ax.get_xticks()) > 1
