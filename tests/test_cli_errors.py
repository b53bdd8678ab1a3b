"""Bad input is one line and exit 2; interrupted or failed runs leave nothing half-written.

Each group of the contract through the command line: the exit code, the named file, column or
flag in the message, no traceback, and no output left behind (not even a staging folder). Every
group has a case run as a real process (:func:`clitools.refused`); the variations run in-process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from clitools import refused

from serving.cli import main

FAST = ["--epochs", "1", "--batches-per-epoch", "2", "--batch-size", "8", "--hidden-size", "8"]
MAPPING = ["--item-col", "sku", "--location-col", "store_id", "--target-col", "sales"]
MAPPING += ["--static-cats", "category,region", "--known-reals", "price"]


@pytest.fixture(scope="module")
def sales(small_network, tmp_path_factory) -> Path:
    frame = small_network.to_frame().rename(
        columns={"item_id": "sku", "location_id": "store_id", "demand": "sales"}
    )
    path = tmp_path_factory.mktemp("data") / "sales.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def run(sales, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "lstm"
    args = ["forecast", "train", "--data", str(sales), *MAPPING, "--horizon", "7", *FAST]
    assert main([*args, "--no-progress", "--out", str(out)]) == 0
    return out


def fails(capsys, args: list[str], *named: str) -> str:
    """Run the CLI in-process: exit 2, one line naming every string in ``named``."""
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("stockcast: error: ") and "\n" not in err, err
    for name in named:
        assert name in err, f"{name!r} not in {err!r}"
    return err


def nothing_left(folder: Path, *keep: str) -> None:
    left = sorted(p.name for p in folder.iterdir() if p.name not in keep)
    assert left == [], f"left behind: {left}"


# ------------------------------------------------------------------ silently wrong, now loud


def test_new_item_with_only_future_rows_is_forecast_from_its_peers(sales, run, tmp_path):
    frame = pd.read_csv(sales)
    future = frame[frame["sales"].isna()]
    new = future[future["sku"] == future["sku"].iloc[0]].assign(sku="NEW-ITEM")
    data = tmp_path / "with_new.csv"
    pd.concat([frame, new]).to_csv(data, index=False)
    out = tmp_path / "forecast.csv"
    with pytest.warns(UserWarning, match="NEW-ITEM"):  # the unknown embedding, named
        assert (
            main(["forecast", "predict", "--run", str(run), "--data", str(data), "--out", str(out)])
            == 0
        )
    table = pd.read_csv(out)
    rows = table[table["item_id"] == "NEW-ITEM"]
    assert len(rows) == 7 * new["store_id"].nunique()
    assert rows["q0.5"].notna().all() and (rows["q0.95"] > 0).all()
    assert rows["date"].min() == new["date"].min()


@pytest.mark.parametrize("step", ["-7", "0"])
def test_backtest_step_must_be_positive(sales, tmp_path, step):
    args = ["forecast", "backtest", "--data", sales, *MAPPING, "--step", step, "--out", "bt"]
    prog = "stockcast forecast backtest"
    refused(args, tmp_path, f"argument --step: expected >= 1, got {step}", prog=prog)


def monitor_tables(folder: Path, **names: str) -> list[str]:
    """A forecasts and an actuals table in ``folder``; the monitor command's arguments."""
    forecasts = pd.DataFrame(
        {"item_id": ["a", "a"], "location_id": ["x", "x"], "date": ["2024-01-01", "2024-01-02"],
         "step": [1, 2], "q0.1": [1.0, 1.0], "q0.5": [2.0, 2.0], "q0.9": [3.0, 3.0]}
    )  # fmt: skip
    actuals = forecasts[["item_id", "location_id", "date"]].assign(demand=2.0)
    forecasts.to_csv(folder / "f.csv", index=False)
    actuals.rename(columns=names).to_csv(folder / "a.csv", index=False)
    return ["forecast", "monitor", "--forecasts", "f.csv", "--actuals", "a.csv", "--out", "m"]


@pytest.mark.slow
def test_monitor_names_the_users_target_column(tmp_path, capsys, monkeypatch):
    monitor = monitor_tables(tmp_path, demand="units")
    refused([*monitor, "--target-col", "sales"], tmp_path, "sales (demand): missing column")
    monkeypatch.chdir(tmp_path)
    fails(capsys, [*monitor, "--item-col", "sku"], "sku (item_id): missing column", "a.csv")
    assert main([*monitor, "--target-col", "units"]) == 0
    nothing_left(tmp_path, "f.csv", "a.csv", "m")


@pytest.mark.slow
def test_monitor_names_a_reference_without_the_metrics_it_compares(tmp_path, capsys, monkeypatch):
    monitor = monitor_tables(tmp_path)
    reference = tmp_path / "metrics.json"
    reference.write_text(json.dumps({"metrics": [{"a": 1}]}))
    named = ("--reference metrics.json", "segment_type, segment, wape: missing")
    refused([*monitor, "--reference", "metrics.json"], tmp_path, *named)
    monkeypatch.chdir(tmp_path)
    rows = [{"segment_type": "all", "segment": "all", "wape": 0.3, "coverage_80": "high"}]
    reference.write_text(json.dumps({"metrics": rows}))
    fails(capsys, [*monitor, "--reference", "metrics.json"], "coverage_80: non-numeric")
    reference.write_text(json.dumps({"metrics": [1, 2]}))
    fails(capsys, [*monitor, "--reference", "metrics.json"], "metrics must be a list of rows")
    nothing_left(tmp_path, "f.csv", "a.csv", "metrics.json")


def test_monitor_without_the_median_names_it(tmp_path, capsys):
    forecasts = pd.DataFrame(
        {"item_id": ["a"], "location_id": ["x"], "date": ["2024-01-01"], "step": [1],
         "q0.1": [1.0], "q0.9": [3.0]}
    )  # fmt: skip
    actuals = forecasts[["item_id", "location_id", "date"]].assign(demand=2.0)
    forecasts.to_csv(tmp_path / "f.csv", index=False)
    actuals.to_csv(tmp_path / "a.csv", index=False)
    args = ["forecast", "monitor", "--forecasts", str(tmp_path / "f.csv")]
    args += ["--actuals", str(tmp_path / "a.csv"), "--out", str(tmp_path / "m")]
    fails(capsys, args, "q0.5", "q0.1, q0.9")
    nothing_left(tmp_path, "f.csv", "a.csv")


# ------------------------------------------------------------------ limits that protect


def test_a_grid_larger_than_the_memory_is_refused_before_it_is_built(monkeypatch):
    import forecasting.grid
    from forecasting.spec import PanelSpec
    from forecasting.validate import PanelError

    monkeypatch.setattr(forecasting.grid, "available_memory", lambda: 64 << 20)  # 64 MiB
    dates = pd.Series(pd.to_datetime(["2024-01-01", "2124-01-01"]))
    spec = PanelSpec(known_reals=("price",))
    with pytest.raises(PanelError, match=r"^date: the panel spans 36,525 periods") as info:
        forecasting.grid.check_memory(100, 36_525, spec, dates)
    message = str(info.value)
    assert "2024-01-01 .. 2124-01-01" in message and "for 100 series" in message
    assert "0.1 GiB available" in message and "check the dates and the frequency" in message
    forecasting.grid.check_memory(100, 365, spec, dates)  # 0.8 MiB fits


def test_an_encoder_longer_than_any_history_is_refused(sales, tmp_path, capsys):
    args = ["forecast", "train", "--data", str(sales), *MAPPING, "--horizon", "7"]
    args += ["--encoder-length", "100000", *FAST, "--out", str(tmp_path / "run")]
    fails(capsys, args, "encoder_length", "100000", "longest history")
    nothing_left(tmp_path)


def test_integer_dates_are_read_as_yyyymmdd_and_a_date_typo_is_caught(sales, tmp_path, capsys):
    frame = pd.read_csv(sales)
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y%m%d").astype(int)
    data = tmp_path / "int_dates.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "bt"
    args = ["forecast", "backtest", "--data", str(data), *MAPPING, "--horizon", "7"]
    args += ["--models", "seasonal_naive", "--origins", "1", "--out", str(out)]
    assert main(args) == 0 and (out / "metrics.csv").exists()
    capsys.readouterr()
    frame.loc[3, "date"] = 2024  # not a date
    frame.to_csv(data, index=False)
    fails(capsys, [*args[:-1], str(tmp_path / "bt2")], "date", "YYYYMMDD", "row 3 (CSV line 5)")


# ------------------------------------------------------------------ interrupted, failed, concurrent


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_training_run_stops_and_leaves_only_its_checkpoint(
    sales, tmp_path, stop, capsys
):
    """Ctrl-C, or SIGTERM as docker stop and Kubernetes send it: the run stops at once with
    128 + the signal, removes its staging folder, and keeps a checkpoint to resume from (weights,
    optimizer, loop state) in ``<out>.interrupted/last.ckpt`` beside the best weights so far,
    not in a folder taken for a run;
    ``--resume`` continues from it (another network's settings are refused, naming it)."""
    out = tmp_path / "run"
    train = [
        "forecast", "train", "--data", str(sales), *MAPPING, "--horizon", "7",
        "--batches-per-epoch", "200", "--batch-size", "8", "--patience", "50", "--no-progress",
        "--out", str(out),
    ]  # fmt: skip
    command = [sys.executable, "-m", "serving.cli", *train, "--epochs", "50", "--hidden-size", "8"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    staging = tmp_path / ".run.partial"
    deadline = time.time() + 180
    while not (staging / "checkpoints").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)  # an epoch is done once its checkpoint folder appears
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=30)  # a hang guard, not a timing: it stops at once
    err = err.decode()
    assert proc.returncode == 128 + stop, err[-2000:]
    assert "Traceback" not in err
    kept = tmp_path / "run.interrupted" / "last.ckpt"
    assert f"stockcast: interrupted ({stop.name})" in err
    assert f"checkpoint to resume from: {kept}" in err
    nothing_left(tmp_path, "run.interrupted")
    # the resumable state, and the best weights so far (their staging folder is gone)
    assert sorted(p.name for p in kept.parent.iterdir()) == ["best.ckpt", "last.ckpt"]
    checkpoint = torch.load(kept, map_location="cpu", weights_only=True)
    assert checkpoint["global_step"] >= 200 and checkpoint["optimizer_states"]  # an epoch or more
    assert any(k.startswith("net.") for k in checkpoint["state_dict"])
    if stop != signal.SIGINT:
        return  # resuming once is enough

    fails(capsys, [*train, "--hidden-size", "16", "--resume", str(kept)], "last.ckpt", "another")
    assert kept.exists() and not out.exists()
    epochs = checkpoint["epoch"] + 2  # the epoch it stopped in, and one more
    resumed = [*train, "--epochs", str(epochs), "--hidden-size", "8", "--resume", str(kept)]
    assert main(resumed) == 0, capsys.readouterr().err
    assert f"after {epochs} epochs" in capsys.readouterr().out
    nothing_left(tmp_path, "run")  # the interrupted checkpoint went when the run was published


def test_a_failure_after_validation_leaves_no_folder(sales, tmp_path, capsys):
    args = ["forecast", "train", "--data", str(sales), *MAPPING, "--horizon", "300", *FAST]
    fails(capsys, [*args, "--out", str(tmp_path / "run")], "horizon", "300")
    nothing_left(tmp_path)


def test_an_existing_run_is_refused_and_overwrite_replaces_it_whole(sales, run, tmp_path, capsys):
    import shutil

    target = tmp_path / "run"
    shutil.copytree(run, target)
    (target / "checkpoints" / "stale.ckpt").write_text("old")
    args = ["forecast", "train", "--data", str(sales), *MAPPING, "--horizon", "7", *FAST]
    args += ["--no-progress", "--out", str(target)]
    fails(capsys, args, str(target), "exists", "--overwrite")
    assert main([*args, "--overwrite"]) == 0
    assert not (target / "checkpoints" / "stale.ckpt").exists()
    nothing_left(tmp_path, "run")


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path):
    from kernels.io import FileError
    from kernels.runfolder import building

    with building(tmp_path / "run") as staging:
        (staging / "a.txt").write_text("first")
        with (
            pytest.raises(FileError, match="another stockcast process"),
            building(tmp_path / "run"),
        ):
            pass
    assert (tmp_path / "run" / "a.txt").read_text() == "first"
    nothing_left(tmp_path, "run")


def test_a_bad_out_is_found_before_the_work(run, sales, tmp_path, capsys):
    folder = tmp_path / "a_folder"
    folder.mkdir()
    predict = ["forecast", "predict", "--run", str(run), "--data", str(sales)]
    started = time.perf_counter()
    fails(capsys, [*predict, "--out", str(folder)], str(folder), "is a folder")
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    fails(capsys, [*predict, "--out", str(blocker / "f.csv")], "file.txt")
    assert time.perf_counter() - started < 5  # refused before loading the model and data
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        fails(capsys, [*predict, "--out", str(locked / "f.csv")], "permission denied")


def test_train_names_a_bad_out_before_reading_the_panel(tmp_path, capsys):
    # The panel is not read (it does not even exist): the --out that cannot be written is the
    # error, as for backtest and inspect train (it was "no such file" for --data, or, given a
    # panel, found after reading and validating it).
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    train = ["forecast", "train", "--data", str(tmp_path / "missing.csv"), "--model",
             "seasonal_naive", "--horizon", "7"]  # fmt: skip
    fails(capsys, [*train, "--out", str(blocker / "run")], "file.txt", "not a folder")
    fails(capsys, [*train, "--out", str(blocker)], "file.txt", "expected a folder")


# An output is written to a temporary file (or folder) renamed onto its path: one that is an
# input, or a folder that holds one, replaced the user's input with the result, exit 0. The
# inputs below are not valid for their commands (and --run does not exist): refused first.
def _inputs(folder: Path) -> None:
    (folder / "f.csv").write_text("item_id,location_id,demand_mean,demand_std\nsku0,FC1,10,3\n")
    (folder / "inv.csv").write_text("item_id,location_id,on_hand,lead_time_mean\nsku0,FC1,30,4\n")
    (folder / "out" / "items").mkdir(parents=True)
    (folder / "out" / "a.csv").write_text("item_id,location_id,date,demand\na,x,2024-01-01,2\n")
    (folder / "out" / "items" / "1.png").write_bytes(b"not a picture")
    (folder / "scores.csv").write_text("item_id,product_id,verdict\ni1,skuA,reject\n")


PLAN = ["plan", "--forecast", "f.csv", "--inventory", "inv.csv", "--out"]
OVER_INPUTS = [
    ([*PLAN, "inv.csv"], "--out inv.csv: is the --inventory file; write the plan elsewhere"),
    ([*PLAN, "out/../f.csv"], "--out out/../f.csv: is the --forecast file f.csv"),
    ([*PLAN, "link.csv"], "--out link.csv: is the --inventory file inv.csv"),  # a symlink
    ([*PLAN, "hard.csv"], "--out hard.csv: is the --inventory file inv.csv"),  # a hard link
    (["inspect", "rejected", "--scores", "scores.csv", "--out", "scores.csv"], "--scores file"),
    (["forecast", "predict", "--run", "r", "--data", "f.csv", "--out", "f.csv"], "--data file"),
    (["forecast", "monitor", "--forecasts", "f.csv", "--actuals", "out/a.csv", "--out", "out",
      "--overwrite"], "--out out: holds the --actuals file out/a.csv"),
    (["forecast", "backtest", "--data", "out/a.csv", "--out", ".", "--overwrite"], "--data file"),
    (["forecast", "train", "--data", "out/a.csv", "--out", "out"], "holds the --data file"),
    (["forecast", "interpret", "--run", "out/items", "--data", "f.csv", "--out", "out"],
     "holds the --run folder out/items"),
    (["inspect", "train", "--data", "out/items", "--out", "out/items", "--overwrite"],
     "--out out/items: is the --data folder"),
    (["inspect", "score", "--run", "r", "--items", "out/items", "--out", "s.csv",
      "--heatmap-dir", "out", "--overwrite"], "--heatmap-dir out: holds the --items folder"),
    (["inspect", "score", "--run", "r", "--items", "out/items", "--out", "out.csv"],
     "heatmap folder out_heatmaps: is the --items folder"),  # <stem>_heatmaps, linked below
    (["demo", "--data", "out/a.csv", "--out", "out", "--overwrite"], "holds the --data file"),
]  # fmt: skip


@pytest.mark.parametrize("args, named", OVER_INPUTS, ids=[" ".join(a[:2]) for a, _ in OVER_INPUTS])
def test_an_output_that_would_replace_an_input_is_refused(
    args, named, tmp_path, capsys, monkeypatch
):
    _inputs(tmp_path)
    (tmp_path / "link.csv").symlink_to("inv.csv")
    os.link(tmp_path / "inv.csv", tmp_path / "hard.csv")
    (tmp_path / "out_heatmaps").symlink_to("out/items")
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    fails(capsys, args, named)  # not "no such run r", "not a picture"...: checked first
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_a_plan_over_its_inventory_is_refused_by_the_process(tmp_path):
    _inputs(tmp_path)
    refused([*PLAN, "inv.csv"], tmp_path, "--out inv.csv: is the --inventory file")


# ------------------------------------------------------------------ errors a person can act on


def test_files_that_cannot_be_read_are_named(run, sales, tmp_path, capsys):
    train = ["forecast", "train", *MAPPING, *FAST, "--out", str(tmp_path / "out")]
    fails(capsys, [*train, "--data", str(tmp_path / "missing.csv")], "missing.csv", "no such file")
    fails(capsys, [*train, "--data", str(tmp_path)], str(tmp_path), "is a folder")
    (tmp_path / "empty.csv").write_text("")
    fails(capsys, [*train, "--data", str(tmp_path / "empty.csv")], "empty.csv", "empty")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really parquet")
    err = fails(capsys, [*train, "--data", str(tmp_path / "broken.parquet")], "broken.parquet")
    assert "Buffer" not in err and "magic bytes" in err
    (tmp_path / "bad.yaml").write_text("spec: [unclosed\n")
    fails(
        capsys,
        [*train, "--data", str(sales), "--config", str(tmp_path / "bad.yaml")],
        "bad.yaml",
        "YAML",
    )
    header_only = tmp_path / "header.csv"
    pd.read_csv(sales).head(0).to_csv(header_only, index=False)
    fails(capsys, [*train, "--data", str(header_only)], f"{header_only}: the panel has no rows")
    no_target = tmp_path / "no_target.csv"
    pd.read_csv(sales).drop(columns="sales").to_csv(no_target, index=False)
    fails(capsys, [*train, "--data", str(no_target)], "sales", "--target-col")
    nothing_left(tmp_path, "empty.csv", "broken.parquet", "bad.yaml", "header.csv", "no_target.csv")


def test_runs_that_cannot_be_used_are_named(run, sales, tmp_path, capsys):
    import shutil

    out = tmp_path / "f.csv"
    predict = ["forecast", "predict", "--data", str(sales), "--out", str(out)]
    fails(capsys, [*predict, "--run", str(tmp_path / "nope")], "nope", "no such run folder")
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "model.pt").write_bytes(os.urandom(256))
    err = fails(capsys, [*predict, "--run", str(copy)], "model.pt", "sha256")
    assert "weights_only" not in err
    (copy / "model.pt").unlink()
    fails(capsys, [*predict, "--run", str(copy)], "model.pt", "missing")
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "task": "inspection"})[:-20])
    fails(capsys, [*predict, "--run", str(copy)], "manifest.json", "JSON")
    (copy / "manifest.json").unlink()
    fails(capsys, [*predict, "--run", str(copy)], "no manifest.json")
    nothing_left(tmp_path, "copy")


def test_row_examples_use_the_users_column_names(sales, tmp_path, capsys):
    frame = pd.read_csv(sales)
    frame.loc[4, "sales"] = -1
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    args = ["forecast", "train", "--data", str(bad), *MAPPING, *FAST, "--out", str(tmp_path / "r")]
    err = fails(capsys, args, "sales (demand): negative values", "row 4 (CSV line 6)", "sku=")
    assert "item_id=" not in err


@pytest.mark.slow
def test_a_traceback_never_reaches_the_user(tmp_path):
    """The same refusals from a real process: one line on stderr, no traceback."""
    predict = ["forecast", "predict", "--run", tmp_path, "--data", "x.csv", "--out", "f.csv"]
    refused(predict, tmp_path, "no manifest.json")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really parquet")
    plan = ["plan", "--forecast", "broken.parquet", "--inventory", "i.csv", "--out", "p.csv"]
    err = refused(plan, tmp_path, "--forecast broken.parquet: not a readable parquet file")
    assert "Buffer" not in err


def tampered(run: Path, copy: Path, name: str, content: bytes) -> Path:
    """A copy of ``run`` whose file ``name`` holds ``content`` and whose manifest lists its new
    sha256 (so the check of the files passes and loading meets the content)."""
    import shutil

    from kernels.io import sha256_file

    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(run, copy)
    (copy / name).write_bytes(content)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"][name] = sha256_file(copy / name)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


# Files the weights-only unpickler fails on with other exceptions than UnpicklingError.
NOT_WEIGHTS = {
    "pop from an empty stack": b"\x80\x02.",  # IndexError
    "a pickled int": b"\x80\x02K\x05.",
    "an unknown pickle protocol": b"\x80\x8a" + bytes(range(40)),  # warns, then fails
    "random bytes": bytes((i * 37 + 11) % 256 for i in range(256)),
}


@pytest.mark.slow
def test_weights_that_are_not_this_models_are_named(run, sales, tmp_path, capsys, monkeypatch):
    """``model.pt`` replaced (and the manifest's sha256 updated to match): the file is named,
    never a traceback, and weights_only=False is never suggested."""
    copy = tampered(run, tmp_path / "copy", "model.pt", NOT_WEIGHTS["pop from an empty stack"])
    predict = ["forecast", "predict", "--run", "copy", "--data", sales, "--out", "f.csv"]
    err = refused(predict, tmp_path, "copy/model.pt: not weights of this model")
    assert "weights_only" not in err
    monkeypatch.chdir(tmp_path)
    for content in NOT_WEIGHTS.values():
        tampered(run, copy, "model.pt", content)
        err = fails(capsys, list(map(str, predict)))
        assert "model.pt: not weights of this model" in err and "weights_only" not in err
    nothing_left(tmp_path, "copy")


def test_load_weights_names_the_file_and_stays_silent(tmp_path):
    import warnings

    from kernels.io import FileError, load_weights

    net = torch.nn.Linear(2, 1)
    for what, content in NOT_WEIGHTS.items():
        path = tmp_path / "w.pt"
        path.write_bytes(content)
        with warnings.catch_warnings(record=True) as caught, pytest.raises(FileError) as info:
            warnings.simplefilter("always")
            load_weights(net, path)
        assert str(info.value).startswith(f"{path}: not weights of this model"), what
        assert "weights_only" not in str(info.value) and not caught, what
    torch.save(torch.nn.Linear(3, 1).state_dict(), path)  # another network's weights
    with pytest.raises(FileError, match="not weights of this model"):
        load_weights(net, path)


def test_an_auto_run_names_weights_that_are_not_its_networks(run, tmp_path):
    from forecasting.config import ForecastConfig
    from forecasting.spec import PanelSpec
    from kernels.io import FileError
    from training import TrainConfig
    from training.auto import AutoForecaster

    manifest = json.loads((run / "manifest.json").read_text())
    (tmp_path / "model.lstm.pt").write_bytes(NOT_WEIGHTS["pop from an empty stack"])
    state = {"networks": {"lstm": {**manifest["model"], "weights": "model.lstm.pt"}}}
    state |= {"choice": {}, "fallback": "lstm"}
    config = ForecastConfig.from_dict({**manifest["config"]["forecast"], "model": "auto"})
    spec = PanelSpec.from_dict(manifest["config"]["spec"])
    with pytest.raises(FileError, match=r"model\.lstm\.pt: not weights of this model"):
        AutoForecaster.restore(config, TrainConfig(), spec, state, tmp_path)


def edited(run: Path, copy: Path, edit) -> Path:
    """A copy of ``run`` whose manifest ``edit(manifest)`` changed (files untouched)."""
    import shutil

    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(run, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


@pytest.mark.slow
def test_a_manifest_without_an_entry_a_loader_reads_is_named(
    run, sales, tmp_path, capsys, monkeypatch
):
    copy = edited(run, tmp_path / "copy", lambda m: m["config"].pop("spec"))
    predict = ["forecast", "predict", "--run", "copy", "--data", sales, "--out", "f.csv"]
    refused(predict, tmp_path, "copy/manifest.json: no entry 'config.spec'")
    monkeypatch.chdir(tmp_path)
    cases = {
        "entry 'config' is a string, expected a mapping": lambda m: m.update(config="tft"),
        "no entry 'config'": lambda m: m.pop("config"),
        "entry 'config.train' is a list": lambda m: m["config"].update(train=[1]),
        "entry 'config.spec' not readable": lambda m: m["config"]["spec"].update(freq=7),
        "entry 'files' is a string": lambda m: m.update(files="x"),
        "no entry 'model'": lambda m: m.pop("model"),
        "entry 'model.weights' is an int": lambda m: m["model"].update(weights=3),
        "entry 'model' not readable": lambda m: m["model"].update(dims="x"),
    }
    for named, edit in cases.items():
        edited(run, copy, edit)
        fails(capsys, list(map(str, predict)), f"copy/manifest.json: {named}")
    nothing_left(tmp_path, "copy")


@pytest.mark.parametrize(
    "argv, command",
    [
        (["forecast", "train", "--data", "d.csv", "--out", "r", "--no-such"], "forecast train"),
        (["plan", "--forecast", "f", "--inventory", "i", "--out", "o", "--zz"], "plan"),
        (["inspect", "score", "--run", "r", "--items", "i", "--out", "o", "x"], "inspect score"),
    ],
)
def test_an_unknown_flag_is_named_by_the_command_whose_help_lists_the_right_ones(
    argv, command, capsys
):
    # argparse reports unknown arguments from the root parser ("stockcast: error"), whose
    # --help does not list the command's flags.
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"stockcast {command}: error: unrecognized arguments: ")
    assert argv[-1] in err and err.count("\n") == 1


@pytest.mark.parametrize("flag", [["--model", "tft"], ["--baselines", "moving_average"]])
def test_backtest_refuses_model_or_baselines_beside_models(sales, tmp_path, capsys, flag):
    """--models lists everything scored: a --model or --baselines beside it was dropped."""
    args = ["forecast", "backtest", "--data", str(sales), *MAPPING, "--horizon", "7", *flag]
    args += ["--models", "seasonal_naive", "--origins", "1", "--out", str(tmp_path / "bt")]
    fails(capsys, args, flag[0], "--models")
    nothing_left(tmp_path)
