"""Every figure the report, `forecast backtest --plot`, `forecast interpret` and the monitor
write says what its axes plot and in what unit: the backtest fan charts had no y label (units a
day? cumulative?), the TFT's attention panel none either and its lag no unit, and the monitor's
x axis did not say its dates are forecast origins, not days of demand."""

from __future__ import annotations

import numpy as np
import pandas as pd

import forecasting.interpret as interpret
import forecasting.monitor as monitor_module
import forecasting.plots as plots
from forecasting.monitor import monitor
from forecasting.spec import PanelSpec
from forecasting.store import PanelStore
from forecasting.validate import validate_panel
from tests.test_figure_text import _segment_frames


def test_fan_charts_label_the_y_axis_with_the_panels_unit(tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: figures.append(fig))
    days, weeks = (
        pd.date_range("2024-01-01", periods=40),
        pd.date_range("2024-01-01", periods=40, freq="W-MON"),
    )
    for period, dates in (("day", days), ("week", weeks)):
        frame = pd.concat(
            pd.DataFrame({"item_id": item, "location_id": "FC1", "date": dates,
                          "demand": np.arange(40.0) % 7})
            for item in ["A", "B", "C", "D"]
        )  # fmt: skip
        spec = PanelSpec(calendar=False)
        store = PanelStore.from_frame(validate_panel(frame, spec)[0], spec)
        quantiles = np.tile(np.array([1.0, 3.0, 5.0]), (4, 7, 1))
        plots.save_fan_charts(
            store, np.arange(4), np.full(4, 30), quantiles, [0.1, 0.5, 0.9], tmp_path / "f.png"
        )
        axes = figures[-1].axes  # 2 rows of 3: the first of each row carries the label
        assert [axes[k].get_ylabel() for k in (0, 3)] == [f"demand (units per {period})"] * 2


def test_the_attention_panel_names_both_axes(tmp_path, monkeypatch):
    importance = pd.DataFrame({"kind": ["static", "encoder", "decoder"],
                               "variable": ["a", "b", "c"], "importance": 1.0})  # fmt: skip
    attention = pd.DataFrame({"lag": np.arange(-5, 3), "weight": np.full(8, 1 / 8)})
    figures = []
    monkeypatch.setattr(interpret, "save_figure", lambda fig, path: figures.append(fig))
    interpret.plot_interpretation(importance, attention, tmp_path / "i.png", freq="D")
    interpret.plot_interpretation(importance, attention, tmp_path / "i.png")
    axes = [figure.axes[3] for figure in figures]
    assert [ax.get_xlabel() for ax in axes] == ["lag (days)", "lag (periods)"]
    assert {ax.get_ylabel() for ax in axes} == {"mean attention weight"}
    assert all(ax.get_xlabel() for figure in figures for ax in figure.axes)


def test_the_monitor_plot_names_both_axes(monkeypatch):
    forecasts, actuals = _segment_frames()
    report = monitor(forecasts, actuals, segments=["grp $k$"])
    figures = []
    monkeypatch.setattr(monitor_module, "save_figure", lambda fig, path: figures.append(fig))
    report.plot("monitor.png")
    assert [(ax.get_xlabel(), ax.get_ylabel()) for ax in figures[0].axes] == [
        ("forecast origin", "WAPE")
    ] * len(figures[0].axes)
