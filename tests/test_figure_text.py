"""Ids, segment levels and column names from users' tables are drawn in figures as written:
matplotlib read "$...$" as math (drawn as maths, or a parse error that stopped the run)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import forecasting.interpret as interpret
import forecasting.monitor as monitor_module
import forecasting.plots as plots
from forecasting.interpret import plot_interpretation
from forecasting.monitor import monitor
from forecasting.spec import PanelSpec
from forecasting.store import PanelStore
from forecasting.validate import validate_panel
from kernels import Policy, plan
from kernels.simulation import compare

# Fan chart titles show item and location ids as text: '$' in an id is not TeX.

FAN_IDS = ["SKU$x_$", "SKU$x^2$"]  # legal ids: the first failed to parse, the second drew x squared


def test_fan_chart_titles_are_the_ids_as_written(tmp_path, monkeypatch):
    dates = pd.date_range("2024-01-01", periods=40)
    frame = pd.concat(
        pd.DataFrame({"item_id": item, "location_id": "FC1", "date": dates,
                      "demand": np.arange(40.0) % 7})
        for item in FAN_IDS
    )  # fmt: skip
    spec = PanelSpec(calendar=False)
    store = PanelStore.from_frame(validate_panel(frame, spec)[0], spec)
    titles = []
    save = plots.save_figure

    def keep(fig, path):
        for ax in fig.axes:
            text = ax.title
            if text.get_text():  # as drawn: (string, math mode?)
                titles.append(text._preprocess_math(text.get_text()))
        return save(fig, path)  # draws: a mathtext parse error raised here

    monkeypatch.setattr(plots, "save_figure", keep)
    levels = [0.1, 0.5, 0.9]
    quantiles = np.tile(np.array([1.0, 3.0, 5.0]), (2, 7, 1))
    out = plots.save_fan_charts(
        store, np.array([0, 1]), np.array([30, 30]), quantiles, levels, tmp_path / "fan.png"
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keys = [f"{store.keys['item_id'].iat[s]} @ FC1" for s in range(2)]
    assert sorted(titles) == sorted((key, False) for key in keys)


# The simulation's inventory plot shows item and location ids as text: '$' is not TeX.


def test_inventory_plot_titles_are_the_ids_as_written(tmp_path, monkeypatch):
    keys = pd.DataFrame({"item_id": ["SKU$x_$", "SKU$x^2$"], "location_id": "FC1"})
    forecast = keys.assign(demand_mean=5.0, demand_std=2.0)
    inventory = keys.assign(on_hand=0.0, lead_time_mean=3.0, review_period=0,
                            service_type="cycle", case_pack=1)  # fmt: skip
    p = plan(forecast, inventory, Policy(service_level=0.95))
    n_days = 30
    demand = pd.DataFrame({
        "item_id": np.repeat(keys["item_id"].to_numpy(), n_days),
        "location_id": "FC1",
        "date": np.tile(pd.date_range("2024-01-01", periods=n_days), 2),
        "demand": np.tile(np.arange(n_days) % 9, 2).astype(float),
    })  # fmt: skip
    both = compare(p, demand, inventory=inventory)
    titles, suptitles = [], []
    savefig = Figure.savefig

    def keep(fig, *args, **kwargs):
        titles.extend(ax._left_title._preprocess_math(ax._left_title.get_text()) for ax in fig.axes)
        suptitles.append(fig._suptitle)
        return savefig(fig, *args, **kwargs)  # draws: a mathtext parse error raised here

    monkeypatch.setattr(Figure, "savefig", keep)
    out = both.plot(list(zip(keys["item_id"], keys["location_id"])), tmp_path / "sim.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [t.split("   fill rate")[0] for t, _ in titles] == ["SKU$x_$ @ FC1", "SKU$x^2$ @ FC1"]
    assert not any(math for _, math in titles)
    assert suptitles == [None]  # no title asked for: none drawn


# The monitor plot names every segment as written: '$' is not TeX, a leading '_' is kept.

SEGMENTS = ["$x_$", "_new", "$x^2$"]  # legal category levels


def _segment_frames():
    rows, actual = [], []
    dates = pd.date_range("2024-01-01", periods=7)
    for s, segment in enumerate(SEGMENTS):
        for step in range(1, 8):
            date = dates[step - 1]
            rows.append({"item_id": f"i{s}", "location_id": "L", "date": date, "step": step,
                         "q0.1": 5.0, "q0.5": 10.0, "q0.9": 15.0})  # fmt: skip
            actual.append({"item_id": f"i{s}", "location_id": "L", "date": date,
                           "demand": 10.0 + s, "grp $k$": segment})  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(actual)


def test_monitor_plot_legend_names_every_segment_as_text(tmp_path, monkeypatch):
    forecasts, actuals = _segment_frames()
    report = monitor(forecasts, actuals, segments=["grp $k$"])
    shown = {}
    save = monitor_module.save_figure

    def keep(fig, path):
        ax = fig.axes[1]  # WAPE by the segment column
        shown["title"] = ax.title._preprocess_math(ax.title.get_text())
        texts = [t._preprocess_math(t.get_text()) for t in ax.get_legend().get_texts()]
        shown["legend"] = [(text.removesuffix(" (drift)"), math) for text, math in texts]
        return save(fig, path)  # draws: a mathtext parse error raised here

    monkeypatch.setattr(monitor_module, "save_figure", keep)
    out = report.plot(tmp_path / "monitor.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shown["title"] == ("WAPE by grp $k$", False)
    assert sorted(shown["legend"]) == sorted((s, False) for s in SEGMENTS)


# The interpretation plot names the user's columns as written: '$' is not TeX.

COLUMN_NAMES = ["price $x_$", "cost $x^2$", "plain"]  # legal column names


def test_variable_names_are_drawn_as_written(tmp_path, monkeypatch):
    importance = pd.DataFrame({
        "kind": ["static", "encoder", "encoder", "decoder"],
        "variable": [COLUMN_NAMES[2], COLUMN_NAMES[0], COLUMN_NAMES[1], COLUMN_NAMES[0]],
        "importance": [1.0, 0.6, 0.4, 1.0],
    })  # fmt: skip
    attention = pd.DataFrame({"lag": np.arange(-5, 3), "weight": np.full(8, 1 / 8)})
    drawn = []
    save = interpret.save_figure

    def keep(fig, path):
        fig.canvas.draw()  # ticks as drawn
        for ax in fig.axes[:3]:
            drawn.extend(t._preprocess_math(t.get_text()) for t in ax.get_yticklabels())
        return save(fig, path)

    monkeypatch.setattr(interpret, "save_figure", keep)
    out = plot_interpretation(importance, attention, tmp_path / "interpretation.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(drawn) == sorted(
        (n, False) for n in [COLUMN_NAMES[2], COLUMN_NAMES[0], COLUMN_NAMES[1], COLUMN_NAMES[0]]
    )
