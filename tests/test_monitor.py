"""Monitoring flags the segments whose accuracy drifted, and only those."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.validate import PanelError
from serving.cli import main


def forecasts_and_actuals(drift: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three weekly forecast runs for 40 series in two categories; actuals follow the forecast
    (its 80% interval is calibrated) except that ``drift`` inflates 'toys' in the last run."""
    rng = np.random.default_rng(0)
    rows, actual_rows = [], []
    origins = pd.date_range("2024-03-04", periods=3, freq="7D")
    for k, origin in enumerate(origins):
        for s in range(40):
            category = "toys" if s % 2 else "food"
            for step in range(1, 8):
                date = origin + pd.Timedelta(days=step - 1)
                median = 10.0 + s % 5
                rows.append(
                    {"item_id": f"I{s}", "location_id": "FC1", "date": date, "step": step,
                     "q0.1": median * 0.6, "q0.5": median, "q0.9": median * 1.4}
                )  # fmt: skip
                actual = median * rng.normal(1.0, 0.31)  # P(|z| < 0.4 / 0.31) = 0.8
                if k == 2 and category == "toys":
                    actual *= 1 + drift
                actual_rows.append(
                    {"item_id": f"I{s}", "location_id": "FC1", "date": date,
                     "demand": max(actual, 0.0), "category": category}
                )  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(actual_rows)


def test_no_drift_no_flags():
    report = monitor(*forecasts_and_actuals(drift=0.0))
    assert not report.to_dict()["retrain"]


def test_drifted_segment_is_flagged():
    report = monitor(*forecasts_and_actuals(drift=0.6))
    flagged = set(zip(report.flagged["segment_type"], report.flagged["segment"], strict=True))
    assert ("category", "toys") in flagged and ("category", "food") not in flagged
    toys = report.checks.set_index("segment").loc["toys"]
    assert toys["wape_change"] > 0.15 and toys["coverage_flag"]
    assert "category=toys" in report.recommendation()


def test_reference_metrics_and_threshold():
    forecasts, actuals = forecasts_and_actuals(drift=0.0)
    reference = pd.DataFrame(
        [{"segment_type": "category", "segment": "food", "wape": 0.01, "coverage_80": 0.8}]
    )
    report = monitor(forecasts, actuals, segments=["category"], reference=reference)
    food = report.checks.set_index("segment").loc["food"]
    assert food["baseline"] == "reference" and food["wape_flag"]
    with pytest.raises(ValueError, match="wape_threshold"):
        monitor(forecasts, actuals, wape_threshold=0)


def test_a_backtest_reference_compares_with_the_monitored_model_only():
    """A backtest's metrics list its own model first, then the baselines (or other models):
    each segment is compared with one model's row, the first by default or the one named,
    never with whichever model's row a segment happens to list first."""
    forecasts, actuals = forecasts_and_actuals(drift=0.0)
    rows = [
        {"model": model, "segment_type": "category", "segment": segment, "wape": wape}
        for model, wape in (("lstm", 0.01), ("tft", 5.0))
        for segment in ("food", "toys")
    ]
    # food's first row is lstm's, toys' first row tft's (before: a mixture of the two)
    reference = pd.DataFrame([rows[0], rows[3], rows[2], rows[1]])
    report = monitor(forecasts, actuals, segments=["category"], reference=reference)
    checks = report.checks.set_index("segment").loc[["food", "toys"]]
    assert (checks["reference_wape"] == 0.01).all() and checks["wape_flag"].all()  # lstm's
    assert "'lstm'" in report.notes[0]
    report = monitor(
        forecasts, actuals, segments=["category"], reference=reference, reference_model="tft"
    )
    checks = report.checks.set_index("segment").loc[["food", "toys"]]
    assert (checks["reference_wape"] == 5.0).all() and not checks["wape_flag"].any()
    with pytest.raises(PanelError, match="no 'moving_average' rows"):
        monitor(forecasts, actuals, reference=reference, reference_model="moving_average")


def test_missing_columns_are_named():
    forecasts, actuals = forecasts_and_actuals()
    with pytest.raises(PanelError, match="demand"):
        monitor(forecasts, actuals.drop(columns="demand"))


def test_monitor_cli(tmp_path, capsys):
    forecasts, actuals = forecasts_and_actuals(drift=0.6)
    forecasts.to_parquet(tmp_path / "f.parquet")
    actuals.rename(columns={"demand": "sales"}).to_csv(tmp_path / "a.csv", index=False)
    code = main(
        ["forecast", "monitor", "--forecasts", str(tmp_path / "f.parquet"),
         "--actuals", str(tmp_path / "a.csv"), "--target-col", "sales",
         "--out", str(tmp_path / "mon")]
    )  # fmt: skip
    assert code == 0
    report = json.loads((tmp_path / "mon" / "monitor.json").read_text())
    assert report["retrain"] and "toys" in report["recommendation"]
    assert (tmp_path / "mon" / "monitor.png").stat().st_size > 5_000
    assert "retrain" in capsys.readouterr().out


@pytest.mark.parametrize("freq", ["D", "W-MON", "MS", "ME"])
def test_each_row_is_scored_with_its_own_forecast_run_whatever_the_row_order(freq):
    """Two runs one period apart whose 4-step horizons overlap, the table sorted by date
    (as a database query or a partitioned parquet returns it): every row belongs to the run
    whose step 1 is ``step - 1`` periods before it, not to the last step-1 row above it."""
    dates = pd.date_range("2024-01-01", periods=8, freq=freq)
    rows, actuals = [], []
    for k in range(2):
        for step in range(1, 5):
            median = 10.0 + 10.0 * k  # run 0 is exact, run 1 is 100% high
            rows.append(
                {
                    "item_id": "A",
                    "location_id": "FC",
                    "date": dates[k + step - 1],
                    "step": step,
                    "q0.1": median - 1,
                    "q0.5": median,
                    "q0.9": median + 1,
                }
            )
    for date in dates:
        actuals.append({"item_id": "A", "location_id": "FC", "date": date, "demand": 10.0})
    forecasts = pd.DataFrame(rows).sort_values(["date", "step"], kind="stable")
    table = monitor(forecasts, pd.DataFrame(actuals), segments=[]).table.set_index("origin")
    assert table.loc[dates[0], "wape"] == pytest.approx(0.0)
    assert table.loc[dates[1], "wape"] == pytest.approx(1.0)
    assert table.loc[dates[0], "coverage_80"] == pytest.approx(1.0)
    assert table.loc[dates[1], "coverage_80"] == pytest.approx(0.0)
    assert (table["n_rows"] == 4).all()


def test_a_segment_that_was_exact_and_now_misses_by_100_percent_is_flagged():
    dates = pd.date_range("2024-01-01", periods=14)
    rows = [
        {"item_id": "A", "location_id": "FC", "date": origin + pd.Timedelta(days=step - 1),
         "step": step, "q0.1": median - 1, "q0.5": median, "q0.9": median + 1}
        for origin, median in ((dates[0], 10.0), (dates[7], 20.0))
        for step in range(1, 8)
    ]  # fmt: skip
    actuals = pd.DataFrame({"item_id": "A", "location_id": "FC", "date": dates, "demand": 10.0})
    report = monitor(pd.DataFrame(rows), actuals, segments=[], coverage_tolerance=1.0)
    check = report.checks.iloc[0]
    assert check["reference_wape"] == 0.0 and check["wape"] == 1.0
    assert check["wape_flag"] and check["flagged"]


def _segment_frames(n_segments: int, origins: int):
    rows, actual = [], []
    dates = pd.date_range("2024-01-01", periods=7 * origins)
    for s in range(n_segments):
        for o in range(origins):
            for step in range(1, 8):
                date = dates[7 * o + step - 1]
                rows.append({"item_id": f"i{s}", "location_id": "L", "date": date, "step": step,
                             "q0.1": 5.0, "q0.5": 10.0, "q0.9": 15.0})  # fmt: skip
                demand = 100.0 if step == 7 else 10.0
                actual.append({"item_id": f"i{s}", "location_id": "L", "date": date,
                               "demand": demand, "segment": f"s{s:02d}"})  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(actual)


def test_every_segment_is_visible_and_distinct_with_one_origin(tmp_path, monkeypatch):
    forecasts, actuals = _segment_frames(n_segments=13, origins=1)  # the demo monitors one origin
    report = monitor(forecasts, actuals, segments=["segment"])
    assert not report.checks["flagged"].any()  # 6 of 7 days inside the 80% interval
    figures = []

    def keep(fig, path):
        figures.append(fig)
        return path

    from matplotlib.colors import to_rgba

    import forecasting.monitor as monitor_module

    monkeypatch.setattr(monitor_module, "save_figure", keep)
    report.plot(tmp_path / "monitor.png")
    ax = figures[0].axes[1]  # "WAPE by segment"
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert len(lines) == 13
    for line in lines:  # one point per segment: drawn only with a marker
        assert len(line.get_xdata()) == 1 and line.get_marker() not in ("None", "", None)
    colors = {tuple(np.round(to_rgba(line.get_color()), 3)) for line in lines}
    assert len(colors) == 13  # no two segments share a colour in the legend


# Each forecast row is scored once, whatever the table repeats or leaves out.
def test_repeated_actual_or_forecast_keys_are_refused():
    forecasts, actuals = forecasts_and_actuals()
    again = pd.concat([actuals, actuals[actuals["item_id"] == "I0"]])  # 21 rows twice
    with pytest.raises(PanelError, match="repeat"):
        monitor(forecasts, again)  # was: I0 scored twice and "-21 forecast rows have no actual"
    with pytest.raises(PanelError, match="repeat"):
        monitor(pd.concat([forecasts, forecasts[forecasts["item_id"] == "I0"]]), actuals)


def test_unscored_rows_are_counted_whatever_the_reason():
    forecasts, actuals = forecasts_and_actuals()
    actuals.loc[actuals.index[:5], "demand"] = float("nan")
    report = monitor(forecasts, actuals)
    assert any(note.startswith("5 forecast rows") for note in report.notes)


def test_a_segment_column_in_the_forecasts_is_the_actuals_one():
    forecasts, actuals = forecasts_and_actuals()
    report = monitor(forecasts.assign(category="food"), actuals, segments=["category"])
    assert set(report.checks["segment"]) == {"all", "food", "toys"}


def test_a_run_without_its_step_1_row_keeps_its_other_rows():
    forecasts, actuals = forecasts_and_actuals()
    last = forecasts["date"].max() - pd.Timedelta(days=6)
    gone = (forecasts["item_id"] == "I0") & (forecasts["date"] == last) & (forecasts["step"] == 1)
    report = monitor(forecasts[~gone], actuals)
    rows = report.table.query("segment_type == 'all' and origin == @last")["n_rows"]
    assert rows.tolist() == [40 * 7 - 1]  # was 40 * 7 - 7: I0's six later rows dropped


def test_forecasts_without_any_step_1_are_scored():
    forecasts, actuals = forecasts_and_actuals()
    report = monitor(forecasts[forecasts["step"] > 1], actuals)  # was a KeyError
    assert report.table.query("segment_type == 'all'")["n_rows"].tolist() == [240, 240, 240]


def test_weekly_series_on_different_weekdays():
    rows, actual = [], []
    for s, start in enumerate(["2024-01-01", "2024-01-03"]):
        for k in range(3):
            date = pd.Timestamp(start) + pd.Timedelta(weeks=k)
            rows.append({"item_id": f"I{s}", "location_id": "L", "date": date, "step": k + 1,
                         "q0.1": 5.0, "q0.5": 10.0, "q0.9": 15.0})  # fmt: skip
            actual.append({"item_id": f"I{s}", "location_id": "L", "date": date, "demand": 9.0})
    report = monitor(pd.DataFrame(rows), pd.DataFrame(actual))
    assert report.table["n_rows"].sum() == 6  # was 2: steps 2 and 3 had no origin


def test_a_weekly_file_trimmed_to_one_date_keeps_weekly_origins():
    """Step 3 of a weekly run dated 2024-01-15 comes from the run of 2024-01-01: a file trimmed
    to the one week still ahead labelled it 2024-01-13 (steps read as days)."""
    day = pd.Timestamp("2024-01-15")
    forecasts = pd.DataFrame(
        [{"item_id": f"I{s}", "location_id": "L", "date": day, "step": 3,
          "q0.1": 5.0, "q0.5": 10.0, "q0.9": 15.0} for s in range(2)]
    )  # fmt: skip
    weeks = pd.date_range("2023-12-04", periods=7, freq="7D")
    actuals = pd.DataFrame(
        [{"item_id": f"I{s}", "location_id": "L", "date": d, "demand": 9.0}
         for s in range(2) for d in weeks]
    )  # fmt: skip
    table = monitor(forecasts, actuals).table
    assert set(table["origin"].dt.strftime("%Y-%m-%d")) == {"2024-01-01"}
    with pytest.raises(PanelError, match="days, weeks or months"):
        monitor(forecasts, actuals[actuals["date"] == day])


# A monthly forecast run on a fixed day keeps one origin, also across 28 February.
def _monthly_origins(runs: list[pd.DatetimeIndex]) -> pd.DataFrame:
    """The monitor's overall rows for one series forecast on ``runs`` (the dates of each run,
    steps 1, 2...), every forecast exact."""
    forecasts = pd.DataFrame(
        [{"item_id": "A", "location_id": "FC1", "date": date, "step": k + 1,
          "q0.1": 5.0, "q0.5": 10.0, "q0.9": 15.0}
         for dates in runs for k, date in enumerate(dates)]
    )  # fmt: skip
    actuals = forecasts[["item_id", "location_id", "date"]].assign(demand=10.0)
    table = monitor(forecasts, actuals).table
    return table[table["segment"] == "all"]


def test_a_run_on_the_28th_keeps_its_origin_across_a_february_month_end():
    # Two runs of a panel dated the 28th of each month: 2023-02-28 is also a month end, but it
    # is step 2 of the run from 2023-01-28, not a run of its own from 2023-01-31.
    runs = _monthly_origins(
        [pd.DatetimeIndex([pd.Timestamp(o) + pd.DateOffset(months=k) for k in range(3)])
         for o in ("2023-01-28", "2023-04-28")]
    )  # fmt: skip
    assert list(runs["origin"].dt.strftime("%Y-%m-%d")) == ["2023-01-28", "2023-04-28"]
    assert list(runs["n_rows"]) == [3, 3]


def test_month_end_runs_still_read_month_ends():
    runs = _monthly_origins(
        [pd.date_range(o, periods=3, freq="ME") for o in ("2024-01-31", "2024-04-30")]
    )
    assert list(runs["origin"].dt.strftime("%Y-%m-%d")) == ["2024-01-31", "2024-04-30"]


def tables(medians, actuals):
    day = pd.Timestamp("2024-01-01")
    forecasts = pd.DataFrame(
        [
            {"item_id": f"I{i}", "location_id": "L", "date": day, "step": 1,
             "q0.1": m * 0.5, "q0.5": m, "q0.9": m * 1.5}
            for i, m in enumerate(medians)
        ]
    )  # fmt: skip
    actual = pd.DataFrame(
        [
            {"item_id": f"I{i}", "location_id": "L", "date": day, "demand": a}
            for i, a in enumerate(actuals)
        ]
    )
    return forecasts, actual


def test_coverage_exactly_at_the_tolerance_is_not_flagged():
    reference = pd.DataFrame(
        [{"segment_type": "all", "segment": "all", "wape": 100.0, "coverage_80": 0.8}]
    )
    # 7 of 10 inside: |0.7 - 0.8| is the tolerance, not further from it.
    report = monitor(*tables([10.0] * 10, [10.0] * 7 + [100.0] * 3), reference=reference)
    check = report.checks.iloc[0]
    assert check["coverage_80"] == pytest.approx(0.7)
    assert not check["coverage_flag"] and not report.to_dict()["retrain"]
    # 6 of 10 inside is further: flagged.
    report = monitor(*tables([10.0] * 10, [10.0] * 6 + [100.0] * 4), reference=reference)
    assert report.checks.iloc[0]["coverage_flag"]


def test_wape_exactly_at_the_threshold_is_not_flagged():
    reference = pd.DataFrame([{"segment_type": "all", "segment": "all", "wape": 0.12}])
    medians = [10.0] * 10
    medians[0] = 10.0 + 13.8  # |error| 13.8 over 100 units: WAPE 0.138, 15% above 0.12
    report = monitor(*tables(medians, [10.0] * 10), reference=reference)
    check = report.checks.iloc[0]
    assert check["wape"] == pytest.approx(0.138)
    assert not check["wape_flag"] and not check["flagged"]
    medians[0] = 10.0 + 14.0  # WAPE 0.14: 16.7% worse, flagged
    assert monitor(*tables(medians, [10.0] * 10), reference=reference).checks.iloc[0]["wape_flag"]


def _frames():
    dates = pd.date_range("2024-03-04", periods=10)
    rows, actual = [], []
    for item, segment in (("a", "gone"), ("b", "kept")):
        for step, date in enumerate(dates, start=1):
            # q0.1 is 0 on 8 of 10 days and q0.05 always: the zeros fall inside the 90% and 80%
            # intervals about as often as nominal, so coverage alone does not flag the segment
            low = 0.0 if step <= 8 else 1.0
            rows.append({"item_id": item, "location_id": "FC", "date": date, "step": step,
                         "q0.05": 0.0, "q0.1": low, "q0.5": 4.0, "q0.9": 9.0,
                         "q0.95": 11.0})  # fmt: skip
            demand = 0.0 if segment == "gone" else float([2, 4, 6, 3, 5][step % 5])
            actual.append({"item_id": item, "location_id": "FC", "date": date,
                           "demand": demand, "dept": segment})  # fmt: skip
    # kept's intervals covered everything in the backtest too: its coverage has not moved
    reference = pd.DataFrame(
        [{"segment_type": s, "segment": v, "wape": 0.5, "coverage_90": c90, "coverage_80": c80}
         for s, v, c90, c80 in (("all", "all", 0.9, 0.8), ("dept", "gone", 0.9, 0.8),
                                ("dept", "kept", 1.0, 1.0))]
    )  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(actual), reference


def test_a_segment_that_stopped_selling_is_flagged():
    forecasts, actuals, reference = _frames()
    report = monitor(forecasts, actuals, segments=["dept"], reference=reference)
    checks = report.checks.set_index("segment")
    gone = checks.loc["gone"]
    assert gone["wape"] == np.inf and gone["wape_flag"] and gone["flagged"]
    assert "dept=gone" in report.recommendation()
    table = report.table.set_index("segment")
    assert table.loc["gone", "bias"] == np.inf
    assert not checks.loc["kept", "flagged"]


def test_a_segment_without_demand_forecast_without_demand_has_no_wape():
    forecasts, actuals, reference = _frames()
    quantiles = [c for c in forecasts.columns if c.startswith("q")]
    forecasts.loc[forecasts["item_id"] == "a", quantiles] = 0.0  # 0 forecast, 0 sold: exact
    report = monitor(forecasts, actuals, segments=["dept"], reference=reference)
    gone = report.checks.set_index("segment").loc["gone"]
    assert np.isnan(gone["wape"]) and not gone["wape_flag"]


def test_an_infinite_earlier_wape_does_not_mask_a_later_drift():
    dates = pd.date_range("2024-01-01", periods=3, freq="D")
    forecasts = pd.DataFrame(
        {"item_id": "a", "location_id": "x", "date": dates, "step": 1, "q0.5": [11.0, 5.0, 15.0]}
    )
    actuals = pd.DataFrame(
        {"item_id": "a", "location_id": "x", "date": dates, "demand": [10.0, 0.0, 10.0]}
    )
    report = monitor(forecasts, actuals, segments=[])
    wape = report.table.set_index("origin")["wape"]
    assert wape.iloc[0] == 0.1 and wape.iloc[1] == float("inf") and wape.iloc[2] == 0.5
    check = report.checks.iloc[0]
    # Reference by hand: the finite earlier WAPEs, 0.1; 0.5 is 400% worse than it.
    assert check["reference_wape"] == 0.1
    assert abs(check["wape_change"] - 4.0) < 1e-12
    assert bool(check["wape_flag"]) and bool(check["flagged"])
