"""Dates written with day and month as two numbers (05.01.2024, 01/02/24) must not be read in an
order the table does not use: pandas guesses the order from the first row alone."""

import warnings

import pandas as pd
import pytest

from forecasting import PanelSpec
from forecasting.io import load_panel
from forecasting.validate import PanelError, validate_panel


def _read(tmp_path, dates):
    rows = "".join(f"a,x,{d},{i + 1}\n" for i, d in enumerate(dates))
    path = tmp_path / "sales.csv"
    path.write_text("item_id,location_id,date,demand\n" + rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return validate_panel(load_panel(path, PanelSpec()), PanelSpec(), gaps="zero")[0]


def test_dotted_day_first_dates_are_not_read_as_months(tmp_path):
    # 5, 6 and 7 January 2024 as Germany writes them; no reading gives 1 May, 1 June, 1 July
    try:
        clean = _read(tmp_path, ["05.01.2024", "06.01.2024", "07.01.2024"])
    except PanelError as error:
        assert error.column == "date"
        return
    assert clean["date"].tolist() == list(pd.date_range("2024-01-05", periods=3))


def test_one_order_for_the_whole_column(tmp_path):
    # 13/02/24 can only be 13 February, so the column is day first: 01/02/24 is 1 February
    try:
        clean = _read(tmp_path, ["01/02/24", "13/02/24"])
    except PanelError as error:
        assert error.column == "date"
        return
    assert clean["date"].tolist() == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-02-13")]


def test_ambiguous_slash_dates_are_refused_or_read_as_written(tmp_path):
    # all days <= 12: month first and day first both parse; a guess is refused
    with pytest.raises(PanelError, match="date"):
        _read(tmp_path, ["01/02/2024", "01/03/2024", "01/04/2024"])


def test_unambiguous_forms_still_read(tmp_path):
    assert _read(tmp_path, ["13/01/2024", "14/01/2024"])["date"].dt.day.tolist() == [13, 14]
    assert _read(tmp_path, ["01/13/2024", "01/14/2024"])["date"].dt.day.tolist() == [13, 14]
    iso = _read(tmp_path, ["2024-01-05", "2024-01-06"])["date"]
    assert iso.tolist() == list(pd.date_range("2024-01-05", periods=2))
    dotted = _read(tmp_path, ["30.12.2023", "31.12.2023", "01.01.2024"])["date"]
    assert dotted.tolist() == list(pd.date_range("2023-12-30", periods=3))


def test_monitor_reads_the_actuals_day_first_as_written():
    from forecasting.monitor import monitor

    days = pd.date_range("2024-01-01", periods=10)
    forecasts = pd.DataFrame(
        {
            "item_id": "a",
            "location_id": "x",
            "date": days.strftime("%Y-%m-%d"),
            "step": range(1, 11),
            "q0.1": 0.0,
            "q0.5": 5.0,
            "q0.9": 10.0,
        }
    )
    # 1 to 10 January as written in Germany; read month first they were 1 January to 1 October
    actuals = pd.DataFrame(
        {"item_id": "a", "location_id": "x", "date": days.strftime("%d.%m.%Y"), "demand": 5.0}
    )
    try:
        report = monitor(forecasts, actuals)
    except PanelError as error:
        assert error.column == "date"
        return
    assert not any("no actual" in note for note in report.notes)


def test_two_digit_year_first_dates_are_not_read_day_first(tmp_path):
    # 2024 monthly as written year first (24/01/01 is 1 January 2024); read day first it was
    # 24 January ... 24 December 2001, a regular monthly panel accepted without a word
    months = pd.date_range("2024-01-01", periods=12, freq="MS")
    try:
        clean = _read(tmp_path, list(months.strftime("%y/%m/%d")))
    except PanelError as error:
        assert error.column == "date"
        return
    assert clean["date"].tolist() == list(months)


def test_two_digit_year_day_first_dates_still_read(tmp_path):
    days = pd.date_range("2024-01-13", periods=5)
    assert _read(tmp_path, list(days.strftime("%d/%m/%y")))["date"].tolist() == list(days)
    # the 24th of each month of 2024: day and year are one number, both readings agree
    same = [pd.Timestamp(2024, m, 24) for m in (1, 2, 3)]
    assert _read(tmp_path, ["24/01/24", "24/02/24", "24/03/24"])["date"].tolist() == same
