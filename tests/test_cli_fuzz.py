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
