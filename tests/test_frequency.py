"""The panel's frequency comes from its dates: inferred, anchored, and never contradicted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting.grid import calendar_features, days_since_epoch
from forecasting.monitor import monitor
from forecasting.spec import PanelSpec
from forecasting.store import PanelStore
from forecasting.validate import PanelError, infer_frequency, validate_panel
from serving.cli import main
from serving.export.forecast import calendar_codes


def seasonal_panel(dates: pd.DatetimeIndex, season: int, n_series: int = 4, future: int = 0):
    """Demand with a season of ``season`` periods; ``future`` trailing rows carry only a price."""
    rng = np.random.default_rng(0)
    rows = []
    for s in range(n_series):
        level = 20.0 + 10 * s
        for t, date in enumerate(dates):
            seasonal = 1 + 0.4 * np.sin(2 * np.pi * t / season)
            demand = float(rng.poisson(level * seasonal)) if t < len(dates) - future else None
            rows.append(
                {
                    "sku": f"sku{s}",
                    "fc": "FC1" if s % 2 else "FC2",
                    "period": date,
                    "units": demand,
                    "price": 9.99,
                }
            )
    return pd.DataFrame(rows)


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(
        columns={"sku": "item_id", "fc": "location_id", "period": "date", "units": "demand"}
    )


SPEC = PanelSpec(known_reals=("price",))


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (pd.date_range("2024-01-01", periods=30, freq="D"), "D"),
        (pd.date_range("2024-01-03", periods=30, freq="W-WED"), "W"),
        (pd.date_range("2020-01-01", periods=30, freq="MS"), "M"),
        (pd.date_range("2020-01-31", periods=30, freq="ME"), "M"),
        # Irregular: a period no series has; the smallest step decides.
        (pd.date_range("2024-01-01", periods=30, freq="D").delete([3, 4, 17]), "D"),
        (pd.date_range("2020-01-01", periods=30, freq="MS").delete([5, 6]), "M"),
        (pd.date_range("2024-01-03", periods=30, freq="W-WED").delete([2]), "W"),
        # Every k-th period: the base frequency, whose skipped periods gap filling then counts.
        (pd.date_range("2024-01-01", periods=30, freq="2D"), "D"),
        (pd.date_range("2024-01-03", periods=30, freq="2W-WED"), "W"),
        (pd.date_range("2020-01-01", periods=30, freq="2MS"), "M"),
    ],
)
def test_frequency_inferred_from_the_dates(dates, expected):
    assert infer_frequency(pd.Series(dates)) == expected


def test_frequencies_stockcast_does_not_model_are_named():
    with pytest.raises(PanelError, match="pandas frequency 'QS"):
        infer_frequency(pd.Series(pd.date_range("2020-01-01", periods=12, freq="QS")))


@pytest.mark.parametrize(
    ("dates", "season", "freq"),
    [
        (pd.date_range("2019-01-01", periods=54, freq="MS"), 12, "M"),
        (pd.date_range("2022-01-05", periods=120, freq="W-WED"), 52, "W"),
    ],
)
def test_monthly_and_weekly_panels_keep_their_rows_and_anchor(dates, season, freq):
    frame = canonical(seasonal_panel(dates, season))
    clean, report = validate_panel(frame, SPEC)
    assert report.freq == freq and report.freq_inferred
    assert report.gap_periods == 0 and len(clean) == len(frame)
    store = PanelStore.from_frame(clean, SPEC.with_freq(report.freq), extra_periods=3)
    assert store.spec.freq == freq
    assert len(store.dates) == len(dates) + 3
    # The grid continues on the panel's own anchor.
    expected = pd.date_range(dates[0], periods=len(dates) + 3, freq=dates.freq)
    assert store.dates.equals(pd.DatetimeIndex(expected))


def test_a_frequency_the_dates_contradict_is_an_error():
    daily = canonical(seasonal_panel(pd.date_range("2024-01-01", periods=60, freq="D"), 7))
    with pytest.raises(PanelError, match=r"dates are daily \(D\) but .* given as M"):
        validate_panel(daily, PanelSpec(freq="M", known_reals=("price",)))
    monthly = canonical(seasonal_panel(pd.date_range("2019-01-01", periods=30, freq="MS"), 12))
    with pytest.raises(PanelError, match=r"dates are monthly \(M\) but .* given as D") as info:
        validate_panel(monthly, PanelSpec(freq="D", known_reals=("price",)))
    # The service's caller cannot pass a flag: its wording keeps the problem, not the advice.
    assert "--freq M" in str(info.value) and "--" not in info.value.for_request()
    assert "monthly (M)" in info.value.for_request()


def test_filling_many_gaps_needs_to_be_asked_for():
    # Rows only on days with sales: half of each series' days are missing.
    frame = canonical(seasonal_panel(pd.date_range("2024-01-01", periods=80, freq="D"), 7))
    keep = (frame.groupby("item_id").cumcount() % 2 == 0) | (frame["item_id"] == "sku0")
    sparse = frame[keep]
    with pytest.raises(PanelError, match=r"missing inside 3 series.*--gaps zero") as info:
        validate_panel(sparse, SPEC)
    assert "2 days apart" in str(info.value)
    request = info.value.for_request()
    assert "missing inside 3 series" in request and "2 days apart" in request
    assert "--" not in request
    # Rows a week apart in most series of a daily panel: the flag that reads them as weekly
    # is offered on the command line, the question alone to a caller that has no flags.
    # One daily series (the dates read as daily) and 12 with a row a week.
    weekly = frame[(frame["date"].dt.dayofyear % 7 == 0) & (frame["item_id"] != "sku0")]
    copies = [weekly.assign(item_id=weekly["item_id"] + f"-{k}") for k in range(4)]
    mostly_weekly = pd.concat([frame[frame["item_id"] == "sku0"], *copies])
    with pytest.raises(PanelError, match=r"7 days apart: is the panel weekly\?") as weekly_info:
        validate_panel(mostly_weekly, SPEC)
    assert "give --freq W" in str(weekly_info.value)
    assert "--" not in weekly_info.value.for_request()
    assert "is the panel weekly?" in weekly_info.value.for_request()
    clean, report = validate_panel(sparse, SPEC, gaps="zero")
    assert report.gap_periods == 3 * 39
    # A few missing days (under 5% of the rows) are filled without being asked.
    few = frame.drop(index=[5, 100, 200])
    _, report = validate_panel(few, SPEC)
    assert report.gap_periods == 3


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dates", "season", "horizon"),
    [
        (pd.date_range("2019-01-01", periods=54 + 6, freq="MS"), 12, 6),
        (pd.date_range("2022-01-05", periods=120 + 4, freq="W-WED"), 52, 4),
    ],
)
def test_cli_trains_and_forecasts_on_the_panels_own_calendar(tmp_path, dates, season, horizon):
    path = tmp_path / "sales.csv"
    seasonal_panel(dates, season, future=horizon).to_csv(path, index=False)
    mapping = [
        "--data", str(path), "--item-col", "sku", "--location-col", "fc",
        "--date-col", "period", "--target-col", "units", "--known-reals", "price",
    ]  # fmt: skip
    fast = ["--epochs", "1", "--batches-per-epoch", "2", "--batch-size", "8", "--hidden-size", "8"]
    run = tmp_path / "run"
    args = ["forecast", "train", *mapping, "--horizon", str(horizon), *fast, "--no-progress"]
    assert main([*args, "--out", str(run)]) == 0
    out = tmp_path / "forecast.csv"
    # The user repeats the mapping flags at prediction: accepted, since they agree with the run.
    assert main(["forecast", "predict", "--run", str(run), *mapping, "--out", str(out)]) == 0
    table = pd.read_csv(out, parse_dates=["date"])
    assert table["step"].max() == horizon
    future = pd.DatetimeIndex(sorted(table["date"].unique()))
    assert future.equals(dates[-horizon:])


def test_predict_flags_that_disagree_with_the_run_are_named(tmp_path, capsys):
    dates = pd.date_range("2019-01-01", periods=40, freq="MS")
    path = tmp_path / "sales.csv"
    seasonal_panel(dates, 12).to_csv(path, index=False)
    mapping = ["--data", str(path), "--item-col", "sku", "--location-col", "fc"]
    mapping += ["--date-col", "period", "--target-col", "units", "--known-reals", "price"]
    fast = ["--epochs", "1", "--batches-per-epoch", "1", "--batch-size", "8", "--hidden-size", "8"]
    run = tmp_path / "run"
    train = ["forecast", "train", *mapping, "--horizon", "3", *fast, "--no-progress"]
    assert main([*train, "--out", str(run)]) == 0
    capsys.readouterr()
    out = tmp_path / "f.csv"
    predict = ["forecast", "predict", "--run", str(run), *mapping, "--out", str(out)]
    assert main([*predict, "--item-col", "product"]) == 2
    assert "--item-col 'product' disagrees with the run" in capsys.readouterr().err
    assert main([*predict, "--freq", "W"]) == 2
    assert "--freq 'W' disagrees" in capsys.readouterr().err
    # The same disagreement read from a --config file is named the same way.
    config = tmp_path / "predict.yaml"
    config.write_text("spec:\n  calendar: false\n")
    assert main([*predict, "--config", str(config)]) == 2
    assert "calendar False disagrees with the run" in capsys.readouterr().err
    assert not out.exists()
    # How gaps in the table to forecast are read is a choice per call, not part of the model:
    # a sparse table is refused by the run's `auto` rule and forecast when the fill is asked for.
    sparse_path = tmp_path / "sparse.csv"
    longer = pd.date_range(dates[0], periods=len(dates) + 3, freq="MS")
    sparse = seasonal_panel(longer, 12, future=3)
    # Every other month of history is missing; the last month and the 3 future rows are kept
    # (a future period without its price is not forecast: the horizon check names it).
    period = sparse.groupby("sku").cumcount()
    keep = (period % 2 == 0) | (period >= len(dates) - 1) | (sparse["sku"] == "sku0")
    sparse[keep].to_csv(sparse_path, index=False)
    sparse_predict = [*predict[:-2], "--out", str(out)]
    sparse_predict[sparse_predict.index(str(path))] = str(sparse_path)
    assert main(sparse_predict) == 2
    assert "--gaps zero" in capsys.readouterr().err
    assert main([*sparse_predict, "--gaps", "zero"]) == 0
    assert pd.read_csv(out)["item_id"].nunique() == 4


def test_cli_names_a_frequency_the_dates_contradict(tmp_path, capsys):
    path = tmp_path / "daily.csv"
    seasonal_panel(pd.date_range("2024-01-01", periods=60, freq="D"), 7).to_csv(path, index=False)
    mapping = ["--data", str(path), "--item-col", "sku", "--location-col", "fc"]
    mapping += ["--date-col", "period", "--target-col", "units", "--known-reals", "price"]
    run = tmp_path / "run"
    train = ["forecast", "train", *mapping, "--freq", "M", "--no-progress", "--out", str(run)]
    assert main(train) == 2
    err = capsys.readouterr().err
    assert "dates are daily (D) but the frequency was given as M" in err
    assert "Traceback" not in err
    assert not run.exists()


def test_a_forecast_into_iso_week_53_reads_a_week_code_the_history_had():
    history = pd.date_range("2021-01-10", "2026-12-13", freq="W-SUN")  # no ISO week 53
    future = pd.date_range("2026-12-20", periods=8, freq="W-SUN")  # crosses 2026-W53
    assert 53 in set(future.isocalendar().week) and 53 not in set(history.isocalendar().week)
    seen = set(calendar_features(history, "W")[0][:, 0].tolist())
    forecast = set(calendar_features(future, "W")[0][:, 0].tolist())
    assert forecast <= seen, sorted(forecast - seen)


def test_week_53_reads_week_52_and_other_weeks_keep_their_iso_number():
    dates = pd.date_range("2014-12-01", "2033-01-31", freq="W-MON")
    codes, sizes = calendar_features(dates, "W")
    iso = dates.isocalendar().week.to_numpy(dtype=np.int64)
    np.testing.assert_array_equal(codes[:, 0], np.where(iso == 53, 52, iso))
    assert codes[:, 0].max() < sizes["week_of_year"]


def test_the_graph_computes_the_stores_weekly_codes():
    dates = pd.date_range("2014-12-01", "2033-01-31", freq="D")
    expected, _ = calendar_features(dates, "W")
    got = calendar_codes(torch.from_numpy(days_since_epoch(dates)), "W").numpy()
    np.testing.assert_array_equal(got, expected)


def weekday_panel(extra_saturday: bool = False) -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=40, freq="B")  # Mon..Fri only
    if extra_saturday:
        dates = dates.append(pd.DatetimeIndex(["2024-01-06"])).sort_values()
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "item_id": "A",
            "location_id": "FC1",
            "date": dates,
            "demand": rng.poisson(5, len(dates)).astype(float),
        }
    )


def test_business_day_dates_are_daily():
    assert infer_frequency(pd.Series(pd.date_range("2024-01-01", periods=40, freq="B"))) == "D"


@pytest.mark.parametrize("freq", [None, "D"])
def test_weekday_panel_fills_weekends_when_asked(freq):
    frame = weekday_panel()
    # A Saturday row changes nothing about the frequency: both tables read the same way.
    reference, ref_report = validate_panel(
        weekday_panel(extra_saturday=True), PanelSpec(freq=freq, gaps="zero")
    )
    clean, report = validate_panel(frame, PanelSpec(freq=freq, gaps="zero"))
    assert report.freq == ref_report.freq == "D"
    weekends = int((pd.date_range(frame.date.min(), frame.date.max()).dayofweek >= 5).sum())
    assert report.gap_periods == weekends
    assert len(clean) == len(frame)


def test_weekday_panel_gaps_are_named_by_default():
    with pytest.raises(PanelError, match=r"gaps: .* daily periods are missing.*--gaps zero"):
        validate_panel(weekday_panel(), PanelSpec())


@pytest.mark.parametrize(
    "dates",
    [
        ["2023-02-01", "2023-03-01"],  # month starts, 28 days apart, both Wednesdays
        ["2023-01-31", "2023-02-28"],  # month ends, 28 days apart, both Tuesdays
        ["2023-02-15", "2023-03-15"],
    ],
)
@pytest.mark.parametrize("freq", ["M", None])
def test_two_months_28_days_apart_are_monthly(dates, freq):
    table = pd.DataFrame(
        {
            "item_id": "A",
            "location_id": "FC1",
            "date": pd.to_datetime(dates),
            "demand": [3.0, np.nan],  # one period of history, one future row
        }
    )
    assert infer_frequency(table["date"]) == "M"
    _, report = validate_panel(table, PanelSpec(freq=freq))
    assert report.freq == "M"


def test_weekly_dates_stay_weekly():
    dates = pd.Series(pd.to_datetime(["2023-02-01", "2023-02-08"]))
    assert infer_frequency(dates) == "W"
    every_fourth = pd.Series(pd.to_datetime(["2023-01-04", "2023-02-01", "2023-03-01"]))
    assert infer_frequency(every_fourth) == "W"  # 28 days apart, but not one day of the month


@pytest.mark.parametrize("typed", [False, True])
def test_date_out_of_range_is_named_as_written(typed):
    dates = [*(f"2024-01-{d:02d}" for d in range(1, 10)), "2924-01-10"]
    table = pd.DataFrame(
        {"item_id": "A", "location_id": "FC1", "date": dates, "demand": np.arange(10.0)}
    )
    if typed:
        table["date"] = pd.to_datetime(table["date"]).astype("datetime64[s]")
    with pytest.raises(PanelError, match=r"^date: dates outside .*row 9.*2924-01-10") as info:
        validate_panel(table, PanelSpec(freq="D"))
    assert "1754" not in str(info.value) and "times of day" not in str(info.value)


DATES = pd.DatetimeIndex(["2024-07-15", "2024-08-15", "2024-09-15"])


def test_evenly_spaced_month_days_are_monthly():
    assert infer_frequency(DATES) == "M"
    assert infer_frequency(pd.DatetimeIndex(["2023-12-10", "2024-01-10", "2024-02-10"])) == "M"
    assert infer_frequency(pd.date_range("2024-01-01", periods=5, freq="2D")) == "D"


def test_monthly_model_reads_three_months():
    frame = pd.DataFrame(
        {"item_id": "a", "location_id": "x", "date": DATES, "demand": [1.0, 2.0, 3.0]}
    )
    clean, report = validate_panel(frame, PanelSpec().with_freq("M"))
    assert report.freq == "M" and report.gap_periods == 0
    assert list(clean["date"]) == list(DATES)


def test_monitor_keeps_a_monthly_run_as_one_origin():
    forecasts = pd.DataFrame(
        {
            "item_id": "a",
            "location_id": "x",
            "date": DATES,
            "step": [1, 2, 3],
            "q0.5": [10.0, 10.0, 10.0],
        }
    )
    actuals = forecasts[["item_id", "location_id", "date"]].assign(demand=[8.0, 10.0, 14.0])
    report = monitor(forecasts, actuals)
    # Independent reference: one run issued for 15 July; WAPE = (2 + 0 + 4) / 32.
    assert list(report.table["origin"]) == [pd.Timestamp("2024-07-15")]
    assert report.table["n_rows"].tolist() == [3]
    assert np.isclose(report.table["wape"].iloc[0], 6 / 32)
