"""The figures draw what their labels say: read back from the matplotlib objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from forecasting.plots import fan_chart


def test_fan_chart_central_line_is_named_by_its_level_without_a_median():
    # levels 0.1 and 0.9 only: the central line is q0.1, and was labelled "forecast median"
    fig = Figure()
    ax = fig.subplots()
    dates = pd.date_range("2024-01-01", periods=3)
    quantiles = np.array([[1.0, 5.0], [2.0, 6.0], [3.0, 7.0]])
    fan_chart(ax, dates - pd.Timedelta(days=3), np.ones(3), dates, quantiles, [0.1, 0.9])
    drawn = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert "forecast median" not in drawn
    assert drawn["forecast q0.1"] == [1.0, 2.0, 3.0]


def test_fan_chart_median_keeps_its_name():
    fig = Figure()
    ax = fig.subplots()
    dates = pd.date_range("2024-01-01", periods=2)
    quantiles = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    fan_chart(ax, dates - pd.Timedelta(days=2), np.ones(2), dates, quantiles, [0.1, 0.5, 0.9])
    drawn = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert drawn["forecast median"] == [2.0, 5.0]


def _service_chart(levels: list[str]) -> Figure:
    from serving.service import pages

    figures = []
    savefig = Figure.savefig

    def keep(fig, *args, **kwargs):
        figures.append(fig)
        return savefig(fig, *args, **kwargs)

    dates = pd.date_range("2024-02-01", periods=3)
    forecast = pd.DataFrame({"date": dates})
    for j, name in enumerate(levels):
        forecast[name] = 10.0 * j + np.arange(3)
    panel = pd.DataFrame({"date": pd.date_range("2024-01-25", periods=10), "demand": 1.0})
    daily = pd.DataFrame({"rule": np.repeat(["plan", "weeks of supply"], 3),
                          "date": np.tile(dates, 2), "on_hand": [2.0, 0, 1, 0, 3, 0],
                          "unmet": [0.0, 2, 0, 1, 0, 4]})  # fmt: skip
    try:
        Figure.savefig = keep
        pages._chart({"forecast": forecast, "panel": panel, "daily": daily}, "A", "FC1")
    finally:
        Figure.savefig = savefig
    return figures[0]


def test_service_chart_draws_the_80_percent_band_from_q01_and_q09():
    # levels 0.1, 0.5, 0.9: no interval at all was drawn (only q0.05..q0.95 and q0.25..q0.75)
    top = _service_chart(["q0.1", "q0.5", "q0.9"]).axes[0]
    (band,) = top.collections
    assert band.get_label() == "80% interval"
    heights = np.unique(band.get_paths()[0].vertices[:, 1])
    assert {0.0, 1.0, 2.0, 20.0, 21.0, 22.0} == set(heights)


def test_service_chart_stockout_markers_have_their_rules_colour():
    bottom = _service_chart(["q0.05", "q0.5", "q0.95"]).axes[1]
    lines = bottom.get_lines()  # per rule: its on-hand line, then its stockout markers
    for on_hand, markers in zip(lines[::2], lines[1::2], strict=True):
        assert markers.get_marker() == "v"
        assert markers.get_color() == on_hand.get_color(), on_hand.get_label()


def test_fan_chart_draws_every_central_interval():
    # four pairs of levels: the innermost (50%) interval was left out (three shades only)
    levels = [0.02, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98]
    fig = Figure()
    ax = fig.subplots()
    dates = pd.date_range("2024-01-01", periods=2)
    quantiles = np.tile(np.arange(9.0), (2, 1))
    fan_chart(ax, dates - pd.Timedelta(days=2), np.ones(2), dates, quantiles, levels)
    bands = {c.get_label(): np.unique(c.get_paths()[0].vertices[:, 1]) for c in ax.collections}
    assert list(bands) == ["96% interval", "90% interval", "80% interval", "50% interval"]
    assert list(bands["50% interval"]) == [3.0, 5.0]


@pytest.mark.slow  # a simulation: about 2 s with the kernels' first call
def test_inventory_plot_legend_names_stockouts_of_later_panels(tmp_path, monkeypatch):
    from kernels import Policy, plan
    from kernels.simulation import compare

    keys = pd.DataFrame({"item_id": ["ok", "short"], "location_id": "FC1"})
    forecast = keys.assign(demand_mean=[1.0, 5.0], demand_std=[0.5, 2.0])
    inventory = keys.assign(on_hand=[30.0, 0.0], lead_time_mean=3.0, review_period=0,
                            service_type="cycle", case_pack=1)  # fmt: skip
    n_days = 10
    demand = pd.DataFrame({"item_id": np.repeat(["ok", "short"], n_days), "location_id": "FC1",
                           "date": np.tile(pd.date_range("2024-01-01", periods=n_days), 2),
                           "demand": np.repeat([1.0, 5.0], n_days)})  # fmt: skip
    both = compare(
        plan(forecast, inventory, Policy(service_level=0.95)), demand, inventory=inventory
    )
    figures = []
    savefig = Figure.savefig
    monkeypatch.setattr(
        Figure, "savefig", lambda fig, *a, **k: (figures.append(fig), savefig(fig, *a, **k))[1]
    )
    both.plot([("ok", "FC1"), ("short", "FC1")], tmp_path / "inventory.png")
    first, second = figures[0].axes
    drawn = {line.get_label() for line in second.get_lines() if "stockout" in line.get_label()}
    assert drawn  # the second series starts with nothing on hand
    assert drawn <= {text.get_text() for text in first.get_legend().get_texts()}


def test_monitor_plot_draws_an_infinite_wape_point(monkeypatch):
    # 'toys' sells nothing in the last run under a forecast of some: its WAPE there is +inf,
    # the worst drift, and matplotlib drew no point for it (the line ended the run before, on
    # the scale of the finite WAPEs, and the flagged segment looked fine)
    import forecasting.monitor as monitor_module
    from tests.test_monitor import forecasts_and_actuals

    forecasts, actuals = forecasts_and_actuals()
    last = forecasts["date"].max() - pd.Timedelta(days=6)
    actuals.loc[actuals["category"].eq("toys") & (actuals["date"] >= last), "demand"] = 0.0
    report = monitor_module.monitor(forecasts, actuals, segments=["category"])
    latest = report.table["origin"].max()
    assert np.isinf(report.table.set_index(["segment", "origin"]).loc[("toys", latest), "wape"])
    figures = []
    monkeypatch.setattr(monitor_module, "save_figure", lambda fig, path: figures.append(fig))
    report.plot("monitor.png")
    ax = figures[0].axes[1]
    (toys,) = [line for line in ax.get_lines() if line.get_label() == "toys (drift)"]
    drawn = [
        pd.Timestamp(x)
        for line in ax.get_lines()
        if line.get_color() == toys.get_color()
        for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)
        if np.isfinite(y)
    ]
    assert latest in drawn
    assert "WAPE infinite (no demand)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_a_fill_rate_below_one_never_reads_100_percent():
    from kernels.simulation import _percent

    assert _percent(0.9995) == "99.95%"  # 3 units lost of 6,000 read "100.0%"
    assert _percent(0.999999) == "99.9999%"
    assert _percent(1.0) == "100.0%"
    assert _percent(0.912) == "91.2%"


@pytest.mark.slow  # a simulation: about 2 s with the kernels' first call
def test_inventory_plot_title_fill_rate_is_below_100_percent_beside_a_stockout(tmp_path):
    from kernels import Policy, plan
    from kernels.simulation import simulate

    keys = pd.DataFrame({"item_id": ["big"], "location_id": "FC1"})
    inventory = keys.assign(on_hand=397.0, lead_time_mean=3.0, review_period=0,
                            service_type="cycle", case_pack=1)  # fmt: skip
    demand = keys.assign(demand=100.0).merge(
        pd.DataFrame({"date": pd.date_range("2024-01-01", periods=60)}), how="cross"
    )
    planned = plan(keys.assign(demand_mean=100.0, demand_std=1.0), inventory, Policy(0.95))
    result = simulate(planned, demand, inventory=inventory)
    assert 0 < result.paths["unmet"][0].sum() and result.metrics["fill_rate"].iloc[0] < 1
    figures = []
    savefig = Figure.savefig
    try:
        Figure.savefig = lambda fig, *a, **k: (figures.append(fig), savefig(fig, *a, **k))[1]
        result.plot([("big", "FC1")], tmp_path / "inventory.png")
    finally:
        Figure.savefig = savefig
    title = figures[0].axes[0].get_title(loc="left")
    assert "100.0%" not in title and "99.95%" in title


def test_service_chart_draws_the_95_percent_band_of_a_model_trained_on_0025_and_0975():
    # levels 0.025, 0.5, 0.975: only q0.05..q0.95 and q0.1..q0.9 were looked for, and the
    # chart drew a median without any interval
    top = _service_chart(["q0.025", "q0.5", "q0.975"]).axes[0]
    (band,) = top.collections
    assert band.get_label() == "95% interval"
    heights = np.unique(band.get_paths()[0].vertices[:, 1])
    assert {0.0, 1.0, 2.0, 20.0, 21.0, 22.0} == set(heights)


def test_service_chart_outer_band_is_the_widest_and_the_inner_the_50_percent():
    top = _service_chart(["q0.05", "q0.1", "q0.25", "q0.5", "q0.75", "q0.9", "q0.95"]).axes[0]
    bands = {c.get_label(): np.unique(c.get_paths()[0].vertices[:, 1]) for c in top.collections}
    assert list(bands) == ["90% interval", "50% interval"]
    assert set(bands["90% interval"]) == {0.0, 1.0, 2.0, 60.0, 61.0, 62.0}
    assert set(bands["50% interval"]) == {20.0, 21.0, 22.0, 40.0, 41.0, 42.0}
