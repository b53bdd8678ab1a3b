"""The CLI refuses bad input in one line naming what is wrong, and leaves nothing behind: number
flags are finite (`--step-days inf` planned no orders, `--lr inf` trained a NaN model);
`forecast monitor` checks the values it scores; `inspect rejected` counts every verdict as one
of pass / review / reject (a "Reject" stayed sellable); infinite inventory values are named by
column and key; a failed command removes the folders it created; a file that is not a
checkpoint is named without torch's advice to load it unsafely."""

from __future__ import annotations

import datetime
import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting.monitor import monitor
from forecasting.validate import PanelError
from kernels import plan
from kernels.runfolder import building
from kernels.settings import bound_problem
from serving.cli import main
from training.trainer import check_resumable
from vision.tables import rejected_units


@pytest.mark.parametrize(
    "meta",
    [{"min": 0, "open_min": True}, {"min": 0}, {"min": 0, "max": 1}],
)
@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_a_bound_is_a_finite_range(meta, value):
    assert bound_problem(meta, value) is not None


def _plan_files(tmp_path):
    keys = pd.DataFrame({"item_id": ["sku0", "sku1"], "location_id": ["FC1", "FC1"]})
    keys.assign(demand_mean=10.0, demand_std=3.0).to_csv(tmp_path / "f.csv", index=False)
    keys.assign(on_hand=5.0, lead_time_mean=4.0).to_csv(tmp_path / "inv.csv", index=False)
    return ["plan", "--forecast", str(tmp_path / "f.csv"), "--inventory", str(tmp_path / "inv.csv"),
            "--out", str(tmp_path / "plan.csv")]  # fmt: skip


@pytest.mark.parametrize("flag", ["--step-days", "--cycle-days"])
def test_plan_refuses_an_infinite_flag(tmp_path, capsys, flag):
    with pytest.raises(SystemExit) as stop:
        main([*_plan_files(tmp_path), flag, "inf"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert flag in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "plan.csv").exists()


def test_plan_with_finite_step_days_still_orders(tmp_path):
    assert main([*_plan_files(tmp_path), "--step-days", "1"]) == 0
    assert (pd.read_csv(tmp_path / "plan.csv")["order_qty"] > 0).all()


def test_train_refuses_an_infinite_learning_rate(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["forecast", "train", "--data", str(tmp_path / "x.csv"), "--out",
              str(tmp_path / "run"), "--lr", "inf"])  # fmt: skip
    assert stop.value.code == 2
    assert "--lr" in capsys.readouterr().err


def _monitor_tables():
    dates = pd.date_range("2024-03-01", periods=7)
    forecasts = pd.DataFrame(
        {"item_id": "A", "location_id": "FC1", "date": dates, "step": range(1, 8),
         "q0.1": 5.0, "q0.5": 10.0, "q0.9": 15.0}
    )  # fmt: skip
    actuals = pd.DataFrame(
        {"item_id": "A", "location_id": "FC1", "date": dates.strftime("%Y-%m-%d"),
         "demand": [8.0, 9, 10, 11, 12, 10, 10]}
    )  # fmt: skip
    return forecasts, actuals


@pytest.mark.parametrize(
    "cell, column, words",
    [
        (("actuals", "demand", "abc"), "demand", "non-numeric"),
        (("actuals", "demand", np.inf), "demand", "infinite"),
        (("actuals", "demand", -4.0), "demand", "negative"),
        (("actuals", "date", "garbage"), "date", "unparseable"),
        (("forecasts", "q0.5", np.nan), "q0.5", "missing"),
        (("forecasts", "q0.5", np.inf), "q0.5", "infinite"),
    ],
)
def test_a_bad_value_is_named(cell, column, words):
    forecasts, actuals = _monitor_tables()
    table, name, value = cell
    frame = actuals if table == "actuals" else forecasts
    frame[name] = frame[name].astype(object)
    frame.loc[2, name] = value
    with pytest.raises(PanelError, match=words) as error:
        monitor(forecasts, actuals)
    assert error.value.column == column


def test_zoned_dates_are_their_calendar_days():
    forecasts, actuals = _monitor_tables()
    plain = monitor(forecasts, actuals).to_dict()
    actuals["date"] = pd.to_datetime(actuals["date"]).dt.tz_localize("UTC")
    assert monitor(forecasts, actuals).to_dict()["by_origin"] == plain["by_origin"]


def test_the_command_names_a_text_actual_in_one_line(tmp_path, capsys):
    forecasts, actuals = _monitor_tables()
    actuals["demand"] = actuals["demand"].astype(object)
    actuals.loc[2, "demand"] = "abc"
    forecasts.to_parquet(tmp_path / "f.parquet")
    actuals.to_csv(tmp_path / "a.csv", index=False)
    code = main(["forecast", "monitor", "--forecasts", str(tmp_path / "f.parquet"),
                 "--actuals", str(tmp_path / "a.csv"), "--out", str(tmp_path / "mon")])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "demand" in err and "\n" not in err
    assert not (tmp_path / "mon").exists()


@pytest.mark.parametrize("verdict", ["Reject", "REJECT", "rejected", None, ""])
def test_a_verdict_outside_the_three_is_named(verdict):
    frame = pd.DataFrame(
        {"item_id": ["a", "b", "c"], "product_id": ["P1", "P1", "P2"],
         "verdict": [verdict, "reject", "pass"]}
    )  # fmt: skip
    with pytest.raises(ValueError, match="verdict"):
        rejected_units(frame)


def test_the_three_verdicts_still_add_up():
    frame = pd.DataFrame(
        {"item_id": list("abcd"), "product_id": ["P1", "P1", "P1", "P2"],
         "verdict": ["reject", "review", "pass", "reject"]}
    )  # fmt: skip
    counts = rejected_units(frame).set_index("item_id")
    assert counts.loc["P1", ["inspected_units", "rejected_units", "review_units"]].tolist() == [
        3, 1, 1,
    ]  # fmt: skip


def test_a_blank_sku_without_item_ids_is_named_not_a_traceback(tmp_path, capsys):
    pd.DataFrame({"product_id": ["P1", None], "verdict": ["reject", "reject"]}).to_csv(
        tmp_path / "s.csv", index=False
    )
    code = main(["inspect", "rejected", "--scores", str(tmp_path / "s.csv"),
                 "--out", str(tmp_path / "r.csv")])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "product_id" in err and "\n" not in err
    assert not (tmp_path / "r.csv").exists()


def _inventory_tables():
    keys = pd.DataFrame({"item_id": ["s0", "s1"], "location_id": ["FC1", "FC1"]})
    parametric = keys.assign(demand_mean=5.0, demand_std=2.0)
    cumulative = pd.concat(
        [keys.assign(horizon=h, **{"q0.05": 3.0 * h, "q0.5": 5.0 * h, "q0.95": 8.0 * h})
         for h in range(1, 8)]
    )  # fmt: skip
    inventory = keys.assign(on_hand=10.0, lead_time_mean=2.0, lead_time_std=0.0, lot_size=10.0)
    return parametric, cumulative, inventory


@pytest.mark.parametrize("column", ["lead_time_mean", "lead_time_std", "lot_size"])
@pytest.mark.parametrize("form", ["parametric", "cumulative"])
def test_an_infinite_inventory_value_is_named_by_column_and_key(column, form, recwarn):
    parametric, cumulative, inventory = _inventory_tables()
    inventory.loc[1, column] = np.inf
    forecast = parametric if form == "parametric" else cumulative
    with pytest.raises(ValueError) as error:
        plan(forecast, inventory)
    assert str(error.value).startswith(f"{column}: ") and "(s1, FC1)" in str(error.value)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_blank_cells_still_take_their_defaults():
    parametric, _, inventory = _inventory_tables()
    inventory["lead_time_std"] = np.nan
    inventory["lot_size"] = np.nan
    assert len(plan(parametric, inventory)) == 2


def test_a_failed_build_removes_the_folders_it_created(tmp_path):
    with pytest.raises(RuntimeError):
        with building(tmp_path / "a" / "b" / "run") as folder:
            (folder / "x").write_text("partial")
            raise RuntimeError("failed")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_existed_or_was_filled_meanwhile_stays(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(RuntimeError):
        with building(tmp_path / "a" / "b" / "run"):
            (tmp_path / "a" / "b" / "other.txt").write_text("someone else's")
            raise RuntimeError("failed")
    assert (tmp_path / "a" / "b" / "other.txt").exists()


def test_a_successful_build_keeps_them(tmp_path):
    with building(tmp_path / "a" / "b" / "run") as folder:
        (folder / "x").write_text("done")
    assert (tmp_path / "a" / "b" / "run" / "x").read_text() == "done"


def test_backtest_on_a_header_only_table_leaves_no_folder(tmp_path, capsys):
    pd.DataFrame(columns=["item_id", "location_id", "date", "demand"]).to_csv(
        tmp_path / "p.csv", index=False
    )
    code = main(["forecast", "backtest", "--data", str(tmp_path / "p.csv"),
                 "--out", str(tmp_path / "new" / "bt"), "--horizon", "7"])  # fmt: skip
    assert code == 2 and "no rows" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]


@pytest.mark.parametrize("content", ["text", "pickle"])
def test_a_file_that_is_not_a_checkpoint_is_named_without_unsafe_advice(tmp_path, content):
    path = tmp_path / "other.ckpt"
    if content == "text":
        path.write_text("item_id,demand\nA,1\n")
    else:
        path.write_bytes(pickle.dumps({"when": datetime.datetime(2024, 1, 1)}, protocol=4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may reach stderr
        with pytest.raises(ValueError) as error:
            check_resumable(path, torch.nn.Linear(2, 2))
    message = str(error.value)
    assert message.startswith(f"{path}: not a resumable training checkpoint")
    assert "weights_only" not in message and "\n" not in message


def test_a_demo_error_starts_its_own_line(tmp_path, capsys):
    # The loop's progress bar was left open, and the error was glued to its last line.
    args = ["demo", "--out", str(tmp_path / "demo"), "--items", "2", "--locations", "1",
            "--days", "120", "--holdout-weeks", "2", "--horizon", "28"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert any(line.startswith("stockcast: error: --horizon 28") for line in err.splitlines())
    assert not (tmp_path / "demo").exists()


def test_predict_names_an_output_suffix_it_cannot_write_before_any_work(tmp_path, capsys):
    # The run does not exist: the suffix is named first (it was named after predicting).
    out = tmp_path / "forecast.txt"
    args = ["forecast", "predict", "--run", str(tmp_path / "no-run"), "--data",
            str(tmp_path / "no-data.csv"), "--out", str(out)]  # fmt: skip
    assert main(args) == 2
    assert "forecast.txt: unsupported table type" in capsys.readouterr().err
    assert not out.exists()


def test_demo_refuses_column_flags_without_a_table(tmp_path, capsys):
    # Without --data the embedded network ran and the mapping was dropped without a word.
    args = ["demo", "--quick", "--out", str(tmp_path / "demo"), "--item-col", "sku"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--item-col" in err and "--data" in err
    assert not (tmp_path / "demo").exists()


def test_rejected_counts_name_a_float_sku_as_plan_and_forecasts_do(tmp_path, capsys):
    # A parquet's integer SKU column made float by a missing cell holds 7.0: SKU "7", as
    # `forecast predict` writes it and `plan` matches it (it was "7.0", no inventory row).
    scores = pd.DataFrame(
        {"item_id": ["u1", "u2", "u3"], "product_id": [7.0, 7.0, 12.0],
         "location_id": [1.0, 1.0, 2.0], "verdict": ["reject", "pass", "review"]}
    )  # fmt: skip
    scores.to_parquet(tmp_path / "s.parquet", index=False)
    out = tmp_path / "r.parquet"
    assert main(["inspect", "rejected", "--scores", str(tmp_path / "s.parquet"),
                 "--out", str(out)]) == 0  # fmt: skip
    counts = pd.read_parquet(out)
    assert counts["item_id"].tolist() == ["12", "7"]
    assert counts["location_id"].tolist() == ["2", "1"]
    assert counts["rejected_units"].tolist() == [0, 1]
