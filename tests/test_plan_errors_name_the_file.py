"""``stockcast plan``: every error about a table's cells names the file it came from.

A field-led message of :func:`kernels.plan` (``on_hand: negative value at key ...``) was printed
as it was, without the file, and a forecast with one quantile level reached the kernels' own
check, ``levels: need at least two quantile levels``, which named neither file nor column.
"""

from __future__ import annotations

import pandas as pd
import pytest

from kernels import plan
from serving.cli import main

FILES = {
    "forecast": ("--forecast", "f.csv"),
    "inventory": ("--inventory", "inv.csv"),
    "lead_times": ("--lead-times", "lt.csv"),
    "rejected": ("--rejected", "rej.csv"),
}


def _keys():
    return pd.DataFrame({"item_id": ["sku0", "sku1"], "location_id": ["FC1", "FC1"]})


def _cumulative(levels):
    rows = [
        {
            "item_id": i,
            "location_id": loc,
            "horizon": h,
            **{f"q{lv}": 10.0 * h * (0.5 + lv) for lv in levels},
        }
        for i, loc in _keys().itertuples(index=False)
        for h in range(1, 8)
    ]
    return pd.DataFrame(rows)


def _run(tmp_path, capsys, forecast=None, inventory=None, lead_times=None, rejected=None, extra=()):
    keys = _keys()
    forecast = keys.assign(demand_mean=10.0, demand_std=3.0) if forecast is None else forecast
    inventory = keys.assign(on_hand=30.0, lead_time_mean=4.0) if inventory is None else inventory
    forecast.to_csv(tmp_path / "f.csv", index=False)
    inventory.to_csv(tmp_path / "inv.csv", index=False)
    argv = ["plan", "--forecast", str(tmp_path / "f.csv"), "--inventory", str(tmp_path / "inv.csv")]
    for flag, table, name in (
        ("--lead-times", lead_times, "lt.csv"),
        ("--rejected", rejected, "rej.csv"),
    ):
        if table is not None:
            table.to_csv(tmp_path / name, index=False)
            argv += [flag, str(tmp_path / name)]
    out = tmp_path / "plan.csv"
    assert main([*argv, *extra, "--out", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_one_quantile_level_names_the_forecast_file_and_column(tmp_path, capsys):
    err = _run(tmp_path, capsys, forecast=_cumulative([0.5]))
    assert f"--forecast {tmp_path / 'f.csv'}: one quantile column (q0.5)" in err
    assert "needs at least two" in err
    with pytest.raises(ValueError, match=r"^forecast: one quantile column \(q0\.5\)"):
        plan(_cumulative([0.5]), _keys().assign(on_hand=30.0, lead_time_mean=4.0))


def test_more_held_than_on_hand_names_the_rejected_file_and_the_counts(tmp_path, capsys):
    rejected = _keys().assign(rejected_units=[5, 40], review_units=[0, 0])
    err = _run(tmp_path, capsys, rejected=rejected)
    assert err.endswith(
        f"--rejected {tmp_path / 'rej.csv'}: rejected_units: more units held by inspection than "
        "the inventory's on_hand (the first: 40 held, 30 on hand) at key (sku1, FC1)"
    )
    rejected = _keys().assign(rejected_units=[5, 20], review_units=[0, 20])
    err = _run(tmp_path, capsys, rejected=rejected, extra=["--hold-review"])
    assert f"--rejected {tmp_path / 'rej.csv'}: rejected_units + review_units: more units" in err
    assert err.endswith("(the first: 40 held, 30 on hand) at key (sku1, FC1)")


@pytest.mark.parametrize(
    "table, bad, expected",
    [
        ("forecast", {"demand_std": -1.0}, "demand_std: negative value"),
        ("forecast", {"demand_mean": "x"}, "demand_mean: not a number"),
        ("inventory", {"on_hand": -1.0}, "on_hand: negative value"),
        ("inventory", {"case_pack": 0}, "case_pack: must be > 0"),
        ("inventory", {"service_level": 2.0}, "service_level: must be strictly between 0 and 1"),
        ("lead_times", {"lead_time_days": -1.0}, "lead_time_days: missing, non-numeric"),
        ("rejected", {"rejected_units": -1}, "rejected_units: negative value"),
        ("rejected", {"rejected_units": 1.5}, "rejected_units: not a whole number"),
    ],
)
def test_cell_errors_name_the_file(tmp_path, capsys, table, bad, expected):
    keys = _keys()
    tables = {
        "forecast": keys.assign(demand_mean=10.0, demand_std=3.0),
        "inventory": keys.assign(on_hand=30.0, lead_time_mean=4.0),
        "lead_times": keys.assign(lead_time_days=3.0) if table == "lead_times" else None,
        "rejected": keys.assign(rejected_units=1) if table == "rejected" else None,
    }
    tables[table] = tables[table].assign(**bad)
    err = _run(tmp_path, capsys, **tables)
    flag, name = FILES[table]
    assert f"{flag} {tmp_path / name}: {expected}" in err


def test_horizon_and_quantile_cell_errors_name_the_forecast_file(tmp_path, capsys):
    err = _run(tmp_path, capsys, forecast=_cumulative([0.1, 0.9]).query("horizon != 3"))
    assert f"--forecast {tmp_path / 'f.csv'}: horizon: forecast must cover horizons 1..7" in err
    err = _run(tmp_path, capsys, forecast=_cumulative([0.1, 0.9]).assign(**{"q0.9": None}))
    assert f"--forecast {tmp_path / 'f.csv'}: forecast quantiles: missing" in err
