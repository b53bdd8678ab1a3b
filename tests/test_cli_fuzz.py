"""Malformed tables never crash a command: exit 0 or 2, no traceback, no partial output.

Hypothesis starts from a valid table and breaks it the ways real exports break: a column
dropped or renamed, cells emptied, made negative, infinite or text, rows duplicated or removed,
dates garbled, a header with no rows. Whatever it builds, ``forecast train`` and ``plan`` either
succeed (and then their output is whole) or refuse with one line and leave nothing behind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serving.cli import main

CELL_VALUES = [None, -1, -1e9, float("inf"), "n/a", "", "2024-13-45", 0, 1e12]


@st.composite
def broken(draw, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a few random corruptions (possibly none)."""
    frame = frame.copy()
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["cell", "drop", "rename", "dup", "rows", "empty", "shuffle"]))
        column = draw(st.sampled_from(list(frame.columns))) if len(frame.columns) else None
        if kind == "cell" and len(frame) and column is not None:
            row = draw(st.integers(0, len(frame) - 1))
            frame[column] = frame[column].astype(object)
            frame.iat[row, frame.columns.get_loc(column)] = draw(st.sampled_from(CELL_VALUES))
        elif kind == "drop" and column is not None:
            frame = frame.drop(columns=column)
        elif kind == "rename" and column is not None:
            frame = frame.rename(columns={column: column.upper() + "_X"})
        elif kind == "dup" and len(frame):
            frame = pd.concat([frame, frame.iloc[[draw(st.integers(0, len(frame) - 1))]]])
        elif kind == "rows" and len(frame):
            keep = draw(st.integers(0, len(frame)))
            frame = frame.iloc[:keep]
        elif kind == "empty":
            frame = frame.iloc[:0]
        elif kind == "shuffle":
            frame = frame.sample(frac=1.0, random_state=draw(st.integers(0, 9)))
    return frame


def outcome(capsys, args: list[str]) -> int:
    """Exit code of the command; argparse errors are exit 2 too. Any other exception fails."""
    try:
        code = main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        assert err.strip().startswith("stockcast: error:") and err.strip().count("\n") == 0, err
    return code


def panel() -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=60, freq="D")
    rng = np.random.default_rng(0)
    rows = [
        {"sku": f"s{i}", "fc": "FC1", "day": d.date().isoformat(), "units": float(rng.poisson(5)),
         "price": 2.5}
        for i in range(3)
        for d in dates
    ]  # fmt: skip
    return pd.DataFrame(rows)


FORECAST_TRAIN = ["--item-col", "sku", "--location-col", "fc", "--date-col", "day"]
FORECAST_TRAIN += ["--target-col", "units", "--known-reals", "price", "--horizon", "7"]
FORECAST_TRAIN += ["--epochs", "1", "--batches-per-epoch", "1", "--batch-size", "4"]
FORECAST_TRAIN += ["--hidden-size", "4", "--no-progress", "--gaps", "zero"]


@pytest.mark.slow
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_forecast_train_on_malformed_tables(data, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("fuzz")
    table = data.draw(broken(panel()))
    suffix = data.draw(st.sampled_from([".csv", ".parquet"]))
    path = folder / f"panel{suffix}"
    if suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        table.astype(str).to_parquet(path, index=False)
    out = folder / "run"
    code = outcome(
        capsys, ["forecast", "train", "--data", str(path), *FORECAST_TRAIN, "--out", str(out)]
    )
    left = sorted(p.name for p in folder.iterdir() if p.name != path.name)
    if code == 0:
        assert left == ["run"] and (out / "manifest.json").exists()
    else:
        assert left == []


def plan_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    forecast = pd.DataFrame(
        {"item_id": ["a", "b", "c"], "location_id": ["x", "x", "y"],
         "demand_mean": [5.0, 2.0, 0.5], "demand_std": [2.0, 1.0, 0.5]}
    )  # fmt: skip
    inventory = pd.DataFrame(
        {"item_id": ["a", "b", "c"], "location_id": ["x", "x", "y"], "on_hand": [10, 0, 3],
         "on_order": [0, 5, 0], "lead_time_mean": [7.0, 3.0, 14.0], "lead_time_std": [1.0, 0, 2],
         "service_level": [0.95, 0.9, 0.99], "case_pack": [1, 6, 1]}
    )  # fmt: skip
    return forecast, inventory


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_plan_on_malformed_tables(data, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("fuzz")
    forecast, inventory = plan_tables()
    forecast = data.draw(broken(forecast))
    inventory = data.draw(broken(inventory))
    forecast.to_csv(folder / "forecast.csv", index=False)
    inventory.to_csv(folder / "inventory.csv", index=False)
    out = folder / "plans" / "plan.csv"
    args = ["plan", "--forecast", str(folder / "forecast.csv")]
    args += ["--inventory", str(folder / "inventory.csv"), "--out", str(out)]
    code = outcome(capsys, args)
    if code == 0:
        assert pd.read_csv(out).shape[0] == len(inventory)
    else:
        assert not out.exists()
    assert not [p for p in folder.rglob("*") if p.name.startswith(".")]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_valid_table_passes_the_same_path(tmp_path, capsys, suffix):
    """The fuzz tests' starting point trains: the corruptions, not the setup, cause refusals."""
    path = tmp_path / f"panel{suffix}"
    if suffix == ".csv":
        panel().to_csv(path, index=False)
    else:
        panel().to_parquet(path, index=False)
    args = ["forecast", "train", "--data", str(path), *FORECAST_TRAIN, "--out", str(tmp_path / "r")]
    assert outcome(capsys, args) == 0


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_inspect_score_on_malformed_tables(data, inspection_repo, tmp_path_factory, capsys):
    """A tunnel's labels.csv and catalog.csv broken as exports break: ``inspect score`` scores
    (items, views table and heatmaps all written) or refuses with nothing written."""
    import shutil

    repo, _ = inspection_repo
    tunnel = repo.parent / "tunnel"
    folder = tmp_path_factory.mktemp("fuzz")
    items = folder / "inbound"
    for item in sorted((tunnel / "items").iterdir())[:3]:
        shutil.copytree(item, items / "items" / item.name)
    labels = pd.read_csv(tunnel / "labels.csv", dtype=str)
    labels = labels[labels["item_id"].isin([p.name for p in (items / "items").iterdir()])]
    data.draw(broken(labels)).to_csv(items / "labels.csv", index=False)
    if (tunnel / "catalog.csv").exists():
        catalog = pd.read_csv(tunnel / "catalog.csv", dtype=str)
        data.draw(broken(catalog)).to_csv(items / "catalog.csv", index=False)
    out = folder / "scores" / "scores.csv"
    args = ["inspect", "score", "--package", str(repo / "inspection" / "1")]
    args += ["--items", str(items), "--out", str(out), "--no-progress"]
    code = outcome(capsys, args)
    written = sorted(p.name for p in out.parent.iterdir()) if out.parent.exists() else []
    if code == 0:
        assert written == ["scores.csv", "scores.views.csv", "scores_heatmaps"]
        # Every item folder is scored; a labels row whose folder is missing is reported too
        # (never passed), not dropped.
        scored = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("item_id")
        folders = {p.name for p in (items / "items").iterdir()}
        assert folders <= set(scored.index)
        written_labels = pd.read_csv(items / "labels.csv", dtype=str, keep_default_na=False)
        listed = set(written_labels.get("item_id", pd.Series(dtype=str)).str.strip())
        assert set(scored.index) - folders <= listed
        assert (scored.drop(index=list(folders))["verdict"] != "pass").all()
    else:
        assert written == []
    assert not [p for p in folder.rglob("*") if p.name.startswith(".")]


def allocate_tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    keys = [("s0", "FC1"), ("s0", "FC2"), ("s1", "FC1")]
    demand = pd.DataFrame(
        [(i, loc, s, float(rng.poisson(4))) for i, loc in keys for s in range(20)],
        columns=["item_id", "location_id", "sample", "demand"],
    )
    stock = pd.DataFrame(keys, columns=["item_id", "location_id"]).assign(
        on_hand=[1.0, 0.0, 2.0], on_order=0.0, backorders=[0.0, 1.0, 0.0], cap=10, margin=1.5
    )
    supply = pd.DataFrame({"item_id": ["s0", "s1"], "supply": [6, 3], "reserve": [1, 0]})
    return {"demand": demand, "stock": stock, "supply": supply}


def position_tables() -> dict[str, pd.DataFrame]:
    fc = pd.DataFrame({"item_id": ["s0", "s0", "s1"], "location_id": ["FC1", "FC2", "FC1"],
                       "demand_mean": [10.0, 6.0, 3.0], "demand_std": [3.0, 2.0, 1.0],
                       "lead_time": [2.0, 3.0, 1.0], "service_level": 0.95,
                       "holding_cost": 1.0, "service_time": [0.0, 1.0, 0.0]})  # fmt: skip
    dc = pd.DataFrame({"item_id": ["s0", "s1"], "lead_time": [10.0, 5.0],
                       "service_level": 0.95, "holding_cost": 0.3})  # fmt: skip
    return {"fc": fc, "dc": dc}


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_allocate_and_position_on_malformed_tables(data, tmp_path_factory, capsys):
    """``allocate`` and ``position`` write their whole output(s) or refuse with nothing."""
    folder = tmp_path_factory.mktemp("fuzz")
    command = data.draw(st.sampled_from(["allocate", "position"]))
    tables = allocate_tables() if command == "allocate" else position_tables()
    args = [command]
    for name, frame in tables.items():
        data.draw(broken(frame)).to_csv(folder / f"{name}.csv", index=False)
        args += [f"--{name}", str(folder / f"{name}.csv")]
    outs = [folder / "out" / "a.csv"] + (
        [folder / "out" / "b.csv"] if command == "position" else []
    )
    args += ["--out", str(outs[0])] + (["--dc-out", str(outs[1])] if len(outs) > 1 else [])
    code = outcome(capsys, args)
    assert [p.exists() for p in outs] == [code == 0] * len(outs)
    assert not [p for p in folder.rglob("*") if p.name.startswith(".")]
