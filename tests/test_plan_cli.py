"""``stockcast plan`` on bad input: exit 2, one line naming the flag and file/column/key, no output.

Also: flags derived from :class:`kernels.Policy`, and an inventory without rows (an empty plan
from the library, an error from the command).
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kernels import Policy, plan
from serving.cli import main
from serving.review import ReviewStore

LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]


def _keys():
    return pd.DataFrame({"item_id": ["sku0", "sku1"], "location_id": ["FC1", "FC1"]})


def _files(tmp_path, inventory=None, forecast=None):
    keys = _keys()
    forecast = keys.assign(demand_mean=10.0, demand_std=3.0) if forecast is None else forecast
    inventory = keys.assign(on_hand=30.0, lead_time_mean=4.0) if inventory is None else inventory
    forecast.to_csv(tmp_path / "f.csv", index=False)
    inventory.to_csv(tmp_path / "inv.csv", index=False)
    return ["plan", "--forecast", str(tmp_path / "f.csv"), "--inventory", str(tmp_path / "inv.csv")]


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def _files_in(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _forms(keys, horizons=12, n_paths=50):
    """The same demand as the three forecast forms plan() accepts."""
    parametric = keys.assign(demand_mean=10.0, demand_std=3.0)
    rows = [
        [i, loc, h, *stats.norm.ppf(LEVELS, 10.0 * h, 3.0 * math.sqrt(h))]
        for i, loc in keys.itertuples(index=False)
        for h in range(1, horizons + 1)
    ]
    quantiles = pd.DataFrame(rows, columns=["item_id", "location_id", "horizon"] + [
        f"q{lv}" for lv in LEVELS
    ])  # fmt: skip
    rng = np.random.default_rng(0)
    paths = pd.DataFrame(
        [
            (i, loc, s, t, max(rng.normal(10.0, 3.0), 0.0))
            for i, loc in keys.itertuples(index=False)
            for s in range(n_paths)
            for t in range(1, horizons + 1)
        ],
        columns=["item_id", "location_id", "sample", "step", "demand"],
    )
    return {"parametric": parametric, "quantiles": quantiles, "samples": paths}


@pytest.mark.parametrize("form", ["parametric", "quantiles", "samples"])
def test_an_inventory_without_rows_plans_nothing_with_the_plan_columns(form):
    keys = _keys()
    forecast = _forms(keys)[form]
    inventory = keys.assign(on_hand=30.0, lead_time_mean=4.0, review_period=[0.0, 3.0])
    full = plan(forecast, inventory)
    empty = plan(forecast, inventory.iloc[:0])
    assert len(full) == 2 and len(empty) == 0
    assert list(empty.columns) == list(full.columns)
    # The forecast's form is still checked.
    per_step = _forms(keys)["quantiles"].rename(columns={"horizon": "step"})
    with pytest.raises(ValueError, match="per-step quantiles"):
        plan(per_step, inventory.iloc[:0])


def test_cli_refuses_an_inventory_with_only_a_header(tmp_path, capsys):
    header_only = pd.DataFrame(columns=["item_id", "location_id", "on_hand", "lead_time_mean"])
    args = _files(tmp_path, inventory=header_only)
    assert main([*args, "--out", str(tmp_path / "plan.csv")]) == 2
    err = _error(capsys)
    assert f"--inventory {tmp_path / 'inv.csv'}: no rows" in err
    assert _files_in(tmp_path) == ["f.csv", "inv.csv"]


def test_cli_creates_the_output_folder(tmp_path, capsys):
    out = tmp_path / "new" / "deeper" / "plan.parquet"
    assert main([*_files(tmp_path), "--out", str(out)]) == 0
    assert len(pd.read_parquet(out)) == 2
    assert "planned 2 item-locations" in capsys.readouterr().out
    assert _files_in(out.parent) == ["plan.parquet"]  # no temporary file left beside it


def test_cli_checks_the_output_before_reading_anything(tmp_path, capsys):
    args = ["plan", "--forecast", str(tmp_path / "missing.csv"), "--inventory", "x.csv"]
    (tmp_path / "folder.csv").mkdir()
    assert main([*args, "--out", str(tmp_path / "folder.csv")]) == 2
    assert f"--out {tmp_path / 'folder.csv'}: is a folder" in _error(capsys)
    (tmp_path / "a_file").write_text("x")
    assert main([*args, "--out", str(tmp_path / "a_file" / "plan.csv")]) == 2
    assert f"--out {tmp_path / 'a_file' / 'plan.csv'}:" in _error(capsys)
    assert main([*args, "--out", str(tmp_path / "plan.txt")]) == 2
    assert "--out" in _error(capsys)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert main([*args, "--out", str(locked / "plan.csv")]) == 2
        assert "permission denied" in _error(capsys)
    assert _files_in(tmp_path) == ["a_file", "folder.csv"] + (
        ["locked"] if os.geteuid() != 0 else []
    )


def test_cli_names_the_flag_and_file_of_an_unreadable_table(tmp_path, capsys):
    args = _files(tmp_path)
    out = tmp_path / "plan.csv"
    missing = tmp_path / "nope.csv"
    assert main([*args, "--lead-times", str(missing), "--out", str(out)]) == 2
    assert _error(capsys) == f"stockcast: error: --lead-times {missing}: no such file"
    (tmp_path / "empty.csv").write_text("")
    args[2] = str(tmp_path / "empty.csv")
    assert main([*args, "--out", str(out)]) == 2
    assert f"--forecast {tmp_path / 'empty.csv'}: the file is empty" in _error(capsys)
    assert not out.exists()


def test_cli_errors_name_the_file_column_and_key(tmp_path, capsys):
    out = tmp_path / "plan.csv"
    keys = _keys()
    args = _files(tmp_path, inventory=keys.assign(lead_time_mean=4.0))
    assert main([*args, "--out", str(out)]) == 2
    assert f"--inventory {tmp_path / 'inv.csv'}: missing column(s) on_hand" in _error(capsys)
    other = pd.DataFrame({"item_id": ["sku0", "sku9"], "location_id": ["FC1", "FC1"]})
    args = _files(tmp_path, forecast=other.assign(demand_mean=10.0, demand_std=3.0))
    assert main([*args, "--out", str(out)]) == 2
    err = _error(capsys)
    assert f"--forecast {tmp_path / 'f.csv'}: no forecast for the inventory row" in err
    assert err.endswith("at key (sku1, FC1)")
    args = _files(tmp_path, inventory=keys.assign(on_hand=[30.0, -2.0], lead_time_mean=4.0))
    assert main([*args, "--out", str(out)]) == 2
    assert _error(capsys).endswith("on_hand: negative value at key (sku1, FC1)")
    assert not out.exists()


def test_policy_flags_come_from_the_policy_dataclass(tmp_path, capsys):
    from serving.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["plan", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for field in dataclasses.fields(Policy):
        if field.metadata["cli"]:
            flag = "--" + (field.metadata["flag"] or field.name).replace("_", "-")
            assert flag in text, flag
            assert f"[{field.default}]" in text, field.name
            for choice in field.metadata["choices"] or ():
                assert choice in text
    assert "--segment-levels" in text
    args = _files(tmp_path)
    out = tmp_path / "plan.csv"
    rc = main([*args, "--out", str(out), "--service-level", "0.9", "--segment-levels", "A=0.99"])
    assert rc == 0
    # The inventory has no segment column: every row takes --service-level.
    assert pd.read_csv(out)["service_level"].tolist() == [0.9, 0.9]


@pytest.mark.parametrize(
    "flag,value,expected",
    [
        ("--service-level", "1", "--service-level: expected < 1, got 1.0"),
        ("--service-type", "both", "--service-type: expected one of ['cycle', 'fill_rate'"),
        ("--cycle-days", "0", "--cycle-days: expected > 0, got 0.0"),
        ("--segment-levels", "A=0.9,B=1.5", "--segment-levels: segment 'B': level must be"),
        ("--segment-levels", "A=x", "--segment-levels: not a number: 'x' in 'A=x'"),
    ],
)
def test_bad_policy_flags_are_named_by_the_parser(tmp_path, capsys, flag, value, expected):
    args = _files(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main([*args, "--out", str(tmp_path / "plan.csv"), flag, value])
    assert exc.value.code == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "plan.csv").exists()


def test_policy_checks_its_own_values():
    with pytest.raises(ValueError, match=r"^Policy.shape: expected one of"):
        Policy(shape="weibull")
    with pytest.raises(ValueError, match=r"^Policy.segment_service_levels\['B'\]: expected"):
        Policy(segment_service_levels={"A": 0.9, "B": 1.0})
    with pytest.raises(ValueError, match=r"^policy: expected a kernels.Policy, got dict"):
        plan(_keys().assign(demand_mean=1.0, demand_std=1.0), _keys(), {"service_level": 0.9})


def test_forecast_and_lead_time_rows_are_named_by_their_keys():
    keys = _keys()
    inventory = keys.assign(on_hand=30.0, lead_time_mean=4.0)
    forms = _forms(keys, horizons=6, n_paths=3)
    quantiles = forms["quantiles"].astype({"horizon": object})
    quantiles.loc[8, "horizon"] = "h"  # sku1's third horizon
    with pytest.raises(ValueError, match=r"^horizon: must be .* at key \(sku1, FC1\)$"):
        plan(quantiles, inventory)
    paths = forms["samples"].astype({"step": object})
    paths.loc[len(paths) - 1, "step"] = 0.5
    with pytest.raises(ValueError, match=r"^step: must be .* at key \(sku1, FC1\)$"):
        plan(paths, inventory)
    records = keys.assign(lead_time_days=[3.0, -1.0])
    with pytest.raises(ValueError, match=r"^lead_time_days: .* at key \(sku1, FC1\)$"):
        plan(forms["parametric"], inventory, lead_times=records)


def test_review_db_with_a_location_less_rejected_table_is_a_clean_error(tmp_path, capsys):
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue(
        pd.DataFrame(
            {
                "item_id": ["A1"],
                "sku": ["SKU1"],
                "location_id": ["FC1"],
                "product_id": ["SKU1"],
                "reasons": [""],
                "score_damage": [0.5],
            }
        ),
        {},
    )
    keys = pd.DataFrame({"item_id": ["SKU1", "SKU2"], "location_id": ["FC1", "FC2"]})
    keys.assign(demand_mean=5.0, demand_std=2.0).to_csv(tmp_path / "f.csv", index=False)
    keys.assign(on_hand=10.0, lead_time_mean=3.0).to_csv(tmp_path / "inv.csv", index=False)
    pd.DataFrame({"item_id": ["SKU1"], "rejected_units": [2], "review_units": [1]}).to_csv(
        tmp_path / "rej.csv", index=False
    )
    args = [
        "plan",
        "--forecast",
        str(tmp_path / "f.csv"),
        "--inventory",
        str(tmp_path / "inv.csv"),
        "--out",
        str(tmp_path / "p.csv"),
        "--rejected",
        str(tmp_path / "rej.csv"),
        "--review-db",
        str(tmp_path / "review.db"),
    ]
    assert main(args) == 2  # before: an uncaught KeyError "['location_id'] not in index"
    assert "--rejected" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


# ``stockcast plan --rejected ... --review-db ...`` checks the rejected counts as plan() does.
#
# With the review queue, the counts were merged (and blanks filled with 0) before plan() saw them:
# a missing ``rejected_units`` column was an uncaught KeyError, text an uncaught TypeError, and a
# blank count silently held nothing (without ``--review-db`` each is exit 2 naming the key).
def _args(tmp_path, rejected: str) -> list[str]:
    ReviewStore(tmp_path / "review.db")
    keys = pd.DataFrame({"item_id": ["SKU1", "SKU2"], "location_id": ["FC1", "FC2"]})
    keys.assign(demand_mean=5.0, demand_std=2.0).to_csv(tmp_path / "f.csv", index=False)
    keys.assign(on_hand=10.0, lead_time_mean=3.0).to_csv(tmp_path / "inv.csv", index=False)
    (tmp_path / "rej.csv").write_text(rejected)
    return [
        "plan",
        "--forecast", str(tmp_path / "f.csv"),
        "--inventory", str(tmp_path / "inv.csv"),
        "--out", str(tmp_path / "p.csv"),
        "--rejected", str(tmp_path / "rej.csv"),
        "--review-db", str(tmp_path / "review.db"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "table, named",
    [
        ("item_id,location_id,rejected\nSKU1,FC1,2\n", "rejected_units"),
        ("item_id,location_id,rejected_units\nSKU1,FC1,two\n", "(SKU1, FC1)"),
        ("item_id,location_id,rejected_units\nSKU1,FC1,\n", "(SKU1, FC1)"),
        ("item_id,location_id,rejected_units\nSKU1,FC1,-2\n", "(SKU1, FC1)"),
    ],
)
def test_bad_rejected_counts_with_a_review_queue_are_a_clean_error(tmp_path, capsys, table, named):
    assert main(_args(tmp_path, table)) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert "--rejected" in err and named in err
    assert not (tmp_path / "p.csv").exists()


def test_good_rejected_counts_with_a_review_queue_still_leave_stock(tmp_path, capsys):
    assert main(_args(tmp_path, "item_id,location_id,rejected_units\nSKU1,FC1,2\n")) == 0
    out = pd.read_csv(tmp_path / "p.csv")
    assert out["inspection_held"].tolist() == [2.0, 0.0]
    assert out["inventory_position"].tolist() == [8.0, 10.0]


# A unit the review queue holds at a location the inventory lacks (a station sent "fc01" for
# FC1) is an error: it named the --rejected file, which has no such row, or, with the queue
# alone, a "rejected" table no flag gave.
@pytest.mark.parametrize("with_table", [True, False])
def test_a_queue_key_without_an_inventory_row_names_the_review_db(tmp_path, capsys, with_table):
    args = _args(tmp_path, "item_id,location_id,rejected_units\nSKU1,FC1,1\n")
    if not with_table:
        at = args.index("--rejected")
        del args[at : at + 2]
    row = {"item_id": "U1", "sku": "SKU1", "location_id": "fc1", "product_id": "SKU1"}
    ReviewStore(tmp_path / "review.db").enqueue(pd.DataFrame([{**row, "reasons": ""}]), {})
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert f"--review-db {tmp_path / 'review.db'}" in err and "(SKU1, fc1)" in err, err
    assert ("--rejected" in err) == with_table, err
    assert not (tmp_path / "p.csv").exists()
