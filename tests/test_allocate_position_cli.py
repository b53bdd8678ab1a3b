"""``stockcast allocate`` and ``stockcast position``: the command writes what the Python function
returns on the same tables (the README's example numbers included); a missing column is named
with the flag and file, exit status 2, and nothing is written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kernels import allocate, position
from serving.cli import build_parser, main


def _readme_tables():
    """The README's allocation example: one SKU, two FCs, 10 units of supply."""
    demand = pd.DataFrame(
        {"item_id": "sku1", "location_id": ["FC1"] * 3 + ["FC2"] * 3,
         "sample": [0, 1, 2] * 2, "demand": [8.0, 10.0, 12.0, 2.0, 3.0, 4.0]}
    )  # fmt: skip
    stock = pd.DataFrame({"item_id": "sku1", "location_id": ["FC1", "FC2"], "on_hand": [0.0, 1.0]})
    supply = pd.DataFrame({"item_id": ["sku1"], "supply": [10]})
    return demand, stock, supply


def _position_tables():
    fc = pd.DataFrame({"item_id": ["sku1", "sku1", "sku2"], "location_id": ["FC1", "FC2", "FC1"],
                       "demand_mean": [10.0, 6.0, 3.0], "demand_std": [3.0, 2.0, 2.5],
                       "lead_time": [2.0, 3.0, 1.0], "service_level": [0.95, 0.95, 0.99],
                       "holding_cost": 1.0, "service_time": [0.0, 0.0, 2.0]})  # fmt: skip
    dc = pd.DataFrame({"item_id": ["sku1", "sku2"], "lead_time": [10.0, 6.0],
                       "service_level": [0.95, 0.9], "holding_cost": [0.3, 0.9]})  # fmt: skip
    return fc, dc


def _written(tmp_path, **tables) -> dict[str, str]:
    paths = {}
    for name, frame in tables.items():
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False)
        paths[name] = str(path)
    return paths


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_allocate_writes_what_allocate_returns_and_the_readme_numbers(tmp_path, capsys):
    demand, stock, supply = _readme_tables()
    files = _written(tmp_path, demand=demand, stock=stock, supply=supply)
    out = tmp_path / "new" / "allocation.csv"  # missing folders are created
    argv = ["allocate", "--demand", files["demand"], "--stock", files["stock"]]
    assert main([*argv, "--supply", files["supply"], "--out", str(out)]) == 0
    got = pd.read_csv(out)
    pd.testing.assert_frame_equal(got, allocate(demand, stock, supply), check_dtype=False)
    # The README's example: 9 units to FC1, 1 to FC2; expected sales 8.67 and 2.00.
    assert got["allocation"].tolist() == [9, 1]
    assert got["expected_sales"].round(2).tolist() == [8.67, 2.0]
    assert "allocated 10 units" in capsys.readouterr().out


def test_allocate_with_every_option_equals_the_function(tmp_path):
    """Two SKUs, steps summed, on_order/backorders/cap/margin, a DC reserve, the margin
    objective; parquet in and out."""
    rng = np.random.default_rng(0)
    keys = [("a", "F1"), ("a", "F2"), ("a", "F3"), ("b", "F1")]
    rows = [
        (i, loc, s, t, float(rng.poisson(3 + k)))
        for k, (i, loc) in enumerate(keys)
        for s in range(40)
        for t in range(2)
    ]
    demand = pd.DataFrame(rows, columns=["item_id", "location_id", "sample", "step", "demand"])
    stock = pd.DataFrame(keys, columns=["item_id", "location_id"]).assign(
        on_hand=[2.0, 0.0, 5.0, 1.0], on_order=[0.0, 3.0, 0.0, 0.0],
        backorders=[0.0, 2.0, 0.0, 1.0], cap=[4, 20, 20, 20], margin=[1.0, 2.5, 1.5, 1.0],
    )  # fmt: skip
    supply = pd.DataFrame({"item_id": ["a", "b"], "supply": [12, 5], "reserve": [1, 0],
                           "reserve_value": [0.0, 2.0]})  # fmt: skip
    for name, frame in (("demand", demand), ("stock", stock), ("supply", supply)):
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    out = tmp_path / "allocation.parquet"
    argv = ["allocate", "--objective", "margin", "--out", str(out)]
    argv += [
        x for n in ("demand", "stock", "supply") for x in (f"--{n}", str(tmp_path / f"{n}.parquet"))
    ]
    assert main(argv) == 0
    expected = allocate(demand, stock, supply, objective="margin")
    assert "expected_margin" in expected.columns
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)


def test_position_writes_what_position_returns(tmp_path, capsys):
    fc, dc = _position_tables()
    files = _written(tmp_path, fc=fc, dc=dc)
    out, dc_out = tmp_path / "fc_plan.csv", tmp_path / "dc_plan.parquet"
    argv = ["position", "--fc", files["fc"], "--dc", files["dc"]]
    assert main([*argv, "--out", str(out), "--dc-out", str(dc_out)]) == 0
    dc_plan, fc_plan = position(fc, dc)
    pd.testing.assert_frame_equal(pd.read_csv(out), fc_plan, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_parquet(dc_out), dc_plan)
    # The README's example (sku1): the DC promises 0 days, so FC1 covers its 2-day lead time,
    # z * sigma * sqrt(2) = 1.645 * 3 * 1.414, and the DC its 10 days of both FCs' demand.
    assert fc_plan["safety_stock"].round(2).tolist()[:2] == [6.98, 5.70]
    assert dc_plan["dc_safety_stock"].round(2).tolist()[0] == 18.75
    assert "positioned 2 item(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "command, table, column",
    [("allocate", "stock", "on_hand"), ("allocate", "demand", "sample"),
     ("allocate", "supply", "supply"), ("position", "fc", "holding_cost"),
     ("position", "dc", "service_level")],
)  # fmt: skip
def test_a_missing_column_is_named_and_nothing_is_written(tmp_path, capsys, command, table, column):
    if command == "allocate":
        demand, stock, supply = _readme_tables()
        tables = {"demand": demand, "stock": stock, "supply": supply}
        outs = ["--out", str(tmp_path / "out" / "allocation.csv")]
    else:
        fc, dc = _position_tables()
        tables = {"fc": fc, "dc": dc}
        outs = [
            "--out",
            str(tmp_path / "out" / "fc.csv"),
            "--dc-out",
            str(tmp_path / "dc_plan.csv"),
        ]
    tables[table] = tables[table].drop(columns=column)
    files = _written(tmp_path, **tables)
    before = sorted(tmp_path.rglob("*"))
    argv = [command, *[x for name, path in files.items() for x in (f"--{name}", path)], *outs]
    assert main(argv) == 2
    err = _error(capsys)
    assert err == f"stockcast: error: --{table} {files[table]}: missing column(s) {column}"
    assert sorted(tmp_path.rglob("*")) == before  # no output, no folder, no temporary file


def test_bad_values_are_named_with_the_file_and_column(tmp_path, capsys):
    demand, stock, supply = _readme_tables()
    files = _written(tmp_path, demand=demand, stock=stock.assign(cap=[-1, 3]), supply=supply)
    out = tmp_path / "allocation.csv"
    argv = ["allocate", "--out", str(out)]
    argv += [x for name, path in files.items() for x in (f"--{name}", path)]
    assert main(argv) == 2
    assert _error(capsys) == (
        f"stockcast: error: --stock {files['stock']}: cap: negative value at key (sku1, FC1)"
    )
    fc, dc = _position_tables()
    files = _written(tmp_path, fc=fc.assign(lead_time=[2.0, -3.0, 1.0]), dc=dc)
    argv = ["position", "--fc", files["fc"], "--dc", files["dc"], "--out", str(out)]
    assert main([*argv, "--dc-out", str(tmp_path / "dc_plan.csv")]) == 2
    assert _error(capsys) == (
        f"stockcast: error: --fc {files['fc']}: lead_time: negative value at key (sku1, FC2)"
    )
    assert not out.exists() and not (tmp_path / "dc_plan.csv").exists()


def test_stockcast_help_lists_both_commands(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    listed = capsys.readouterr().out
    assert "allocate" in listed and "position" in listed


def test_position_writes_both_plans_or_neither(tmp_path, capsys, monkeypatch):
    """A failure while writing the second plan (a full disk) leaves neither plan behind."""
    import kernels.io

    fc, dc = _position_tables()
    files = _written(tmp_path, fc=fc, dc=dc)
    written = []

    def write_then_fail(frame, path, like):
        if written:
            raise OSError(28, "No space left on device")
        written.append(path)
        return frame.to_csv(path, index=False)

    monkeypatch.setattr(kernels.io, "write_table_as", write_then_fail)
    out, dc_out = tmp_path / "fc_plan.csv", tmp_path / "dc_plan.csv"
    argv = ["position", "--fc", files["fc"], "--dc", files["dc"]]
    assert main([*argv, "--out", str(out), "--dc-out", str(dc_out)]) == 2
    assert "No space left on device" in _error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dc.csv", "fc.csv"]
