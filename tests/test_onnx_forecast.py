"""Forecasting packages: exported whole, checked against torch, served without torch.

A package's forecast table must equal the PyTorch path's (same columns, rows and dates; values
within the export's parity tolerance), for known series, new items with only future rows and
categories unseen in training, per step and cumulative.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from kernels.io import FileError
from serving.cli import main
from serving.export import export_run
from serving.package import read_package, versions
from serving.runtime import ForecastPackage
from serving.service.repository import ModelRepository
from training import TrainConfig

H = 7
TOLERANCE = dict(rtol=1e-4, atol=1e-4)


def fitted_run(network, model: str, folder):
    train = TrainConfig(max_epochs=2, batches_per_epoch=3, batch_size=32, progress_bar=False)
    forecaster = Forecaster(model, H, spec=network.spec, train=train, hidden_size=8)
    forecaster.fit(network.to_frame(), run_dir=folder)
    return forecaster


@pytest.fixture(scope="module")
def lstm(lstm_package, tmp_path_factory):
    """The shared LSTM package, copied: these tests add versions to its repository."""
    import shutil

    forecaster, _, source = lstm_package
    root = tmp_path_factory.mktemp("onnx")
    shutil.copytree(source / "runs", root / "runs")
    shutil.copytree(source / "repo", root / "repo")
    return forecaster, root / "repo" / "lstm" / "1", root


def assert_same_table(torch_table: pd.DataFrame, onnx_table: pd.DataFrame) -> None:
    assert list(onnx_table.columns) == list(torch_table.columns)
    keys = [c for c in torch_table.columns if not c.startswith("q")]
    pd.testing.assert_frame_equal(onnx_table[keys], torch_table[keys])
    values = [c for c in torch_table.columns if c.startswith("q")]
    np.testing.assert_allclose(onnx_table[values], torch_table[values], **TOLERANCE)


def test_package_holds_what_a_caller_needs(lstm):
    _, package, root = lstm
    assert package == root / "repo" / "lstm" / "1"
    manifest = read_package(package, task="forecast")
    assert {"model.onnx", "manifest.json"} == {p.name for p in package.iterdir()}
    assert manifest["files"].keys() == {"model.onnx"}
    names = [i["name"] for i in manifest["model"]["inputs"]]
    assert names[:3] == ["history", "prior", "days"] and "static.item_id" in names
    assert "known.promo" in names and manifest["model"]["opset"] >= 17
    assert manifest["model"]["inputs"][0]["shape"][0] == "batch"  # dynamic batch
    assert [o["name"] for o in manifest["model"]["outputs"]] == ["quantiles", "cumulative"]
    parity = manifest["parity"]["max_relative_error"]
    assert set(parity) == {"1", "16"} and max(parity.values()) <= 1e-4
    pre = manifest["preprocessing"]
    assert pre["vocab"]["category"] and pre["quantiles"] == [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
    assert manifest["data_fingerprint"] and manifest["metrics"]["best_val_loss"] > 0


def test_package_forecasts_equal_the_torch_forecasts(lstm, small_network):
    forecaster, package, _ = lstm
    frame = small_network.to_frame()
    runtime = ForecastPackage(package)
    assert runtime.provider == "CPUExecutionProvider"
    assert_same_table(forecaster.predict(frame), runtime.predict(frame, batch_size=17))
    assert_same_table(forecaster.predict(frame, cumulative=5), runtime.predict(frame, cumulative=5))


def test_unknown_categories_and_new_items_behave_as_on_the_torch_path(lstm, small_network):
    forecaster, package, _ = lstm
    frame = small_network.to_frame()
    frame["category"] = frame["category"].astype(str).replace("grocery", "pharmacy")
    future = frame[frame["demand"].isna()]
    new = future[future["item_id"] == future["item_id"].iloc[0]].assign(item_id="NEW")
    frame = pd.concat([frame, new], ignore_index=True)
    with pytest.warns(UserWarning, match="pharmacy"):
        expected = forecaster.predict(frame)
    with pytest.warns(UserWarning, match="pharmacy"):
        got = ForecastPackage(package).predict(frame)
    assert (got["item_id"] == "NEW").sum() == H * new["location_id"].nunique()
    assert_same_table(expected, got)


def test_a_tampered_package_is_refused_naming_the_file(lstm, tmp_path):
    import shutil

    _, package, _ = lstm
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    model = copy / "model.onnx"
    model.write_bytes(model.read_bytes()[:-3] + b"abc")
    with pytest.raises(FileError, match=r"model\.onnx: sha256 does not match"):
        ForecastPackage(copy)


def test_versions_count_up_and_a_run_is_not_a_package(lstm):
    _, package, root = lstm
    second = export_run(root / "runs" / "lstm", root / "repo")
    assert second.name == "2" and versions(root / "repo", "lstm") == [1, 2]
    with pytest.raises(FileError, match="a training run"):
        ForecastPackage(root / "runs" / "lstm")


def test_a_package_names_its_run_where_it_is_published(lstm, tmp_path):
    """A demo exports its runs while its output folder is staged (``.out.partial``): the
    manifest names the run's published path, not the staging one that is gone afterwards."""
    import shutil

    from kernels.runfolder import building

    _, _, root = lstm
    with building(tmp_path / "out") as staged:
        shutil.copytree(root / "runs" / "lstm", staged / "runs" / "lstm")
        package = export_run(staged / "runs" / "lstm", staged / "models")
        recorded = read_package(package)["source"]["run"]
    assert recorded == str((tmp_path / "out" / "runs" / "lstm").resolve())
    assert (tmp_path / "out" / "runs" / "lstm" / "manifest.json").exists()


def test_the_runtime_imports_no_torch(lstm, small_network, tmp_path):
    _, package, _ = lstm
    data = tmp_path / "panel.parquet"
    small_network.to_frame().to_parquet(data)
    code = (
        "import sys\n"
        "from serving.runtime import ForecastPackage\n"
        f"table = ForecastPackage({str(package)!r}).predict({str(data)!r})\n"
        "print(len(table), sorted(m for m in ('torch', 'lightning') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "[]"


def test_cli_export_then_predict_from_the_package(lstm, small_network, tmp_path, capsys):
    _, _, root = lstm
    data = tmp_path / "panel.csv"
    small_network.to_frame().to_csv(data, index=False)
    repo = tmp_path / "repo"
    run = root / "runs" / "lstm"
    assert main(["export", "--run", str(run), "--repo", str(repo), "--name", "demand"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["package"].endswith("demand/1") and summary["task"] == "forecast"
    outs = {}
    for flag, source in (("--run", run), ("--package", repo / "demand" / "1")):
        outs[flag] = tmp_path / f"forecast{flag.strip('-')}.csv"
        args = ["forecast", "predict", flag, str(source), "--data", str(data), "--cumulative", "7"]
        assert main([*args, "--out", str(outs[flag])]) == 0
    assert_same_table(pd.read_csv(outs["--run"]), pd.read_csv(outs["--package"]))


@pytest.mark.slow
def test_tft_package_equals_the_torch_forecasts(small_network, tmp_path):
    forecaster = fitted_run(small_network, "tft", tmp_path / "runs" / "tft")
    package = export_run(tmp_path / "runs" / "tft", tmp_path / "repo")
    frame = small_network.to_frame()
    assert max(read_package(package)["parity"]["max_relative_error"].values()) <= 1e-4
    assert_same_table(forecaster.predict(frame), ForecastPackage(package).predict(frame))


@pytest.mark.slow
def test_an_ensemble_exports_as_one_graph(small_network, tmp_path):
    """Two LSTMs from two seeds: one package whose forecasts are the ensemble's; an auto run
    exports the network asked for as its own ONNX package (it was refused whole, and the advice
    was to train a run of that network again; test_auto_package.py exports it whole)."""
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=32, progress_bar=False)
    forecaster = Forecaster(
        "lstm", H, spec=small_network.spec, train=train, hidden_size=8, ensemble=2
    )
    frame = small_network.to_frame()
    forecaster.fit(frame, run_dir=tmp_path / "runs" / "pair")
    package = export_run(tmp_path / "runs" / "pair", tmp_path / "repo")
    assert max(read_package(package)["parity"]["max_relative_error"].values()) <= 1e-4
    assert_same_table(forecaster.predict(frame), ForecastPackage(package).predict(frame))
    auto = Forecaster("auto", H, spec=small_network.spec, train=train, hidden_size=8)
    auto.fit(frame, run_dir=tmp_path / "runs" / "auto")
    with pytest.raises(FileError, match="expected one of"):
        export_run(tmp_path / "runs" / "auto", tmp_path / "repo", network="gbm")
    with pytest.raises(FileError, match="only an auto run"):
        export_run(tmp_path / "runs" / "pair", tmp_path / "repo", network="tft")
    argv = ["export", "--run", tmp_path / "runs" / "auto", "--repo", tmp_path / "repo",
            "--network", "tft_nb"]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    package = tmp_path / "repo" / "auto" / str(versions(tmp_path / "repo", "auto")[-1])
    manifest = read_package(package)
    assert manifest["source"]["network"] == "tft_nb"
    assert manifest["config"]["forecast"]["model"] == "tft"
    assert manifest["config"]["forecast"]["distribution"] == "negative_binomial"
    assert manifest["metrics"]["best_val_loss"] > 0
    network = auto.network("tft_nb")
    assert_same_table(network.predict(frame), ForecastPackage(package).predict(frame))
    assert_same_table(
        network.predict(frame, cumulative=3), ForecastPackage(package).predict(frame, cumulative=3)
    )
    # the loaded run's network is the one fitted
    loaded = Forecaster.load(tmp_path / "runs" / "auto").network("tft_nb")
    assert_same_table(network.predict(frame), loaded.predict(frame))


@pytest.mark.parametrize(
    "model, settings",
    [("lstm", {}), ("tft", {"calendar": False, "key_embeddings": False})],
    ids=["lstm-keys-and-calendar", "tft-demand-only"],
)
def test_a_run_without_covariates_exports_and_serves(model, settings, tmp_path):
    """A table of keys, dates and demand only (what `demo --data` gets from many users): no
    known or static categoricals, no reals. The package takes the same numeric inputs as any
    other (the empty code tensors are made inside the graph, unread inputs stay declared),
    passes parity and forecasts what the torch path forecasts."""
    from forecasting import PanelSpec
    from forecasting.synthetic import generate_network

    network = generate_network(n_items=6, n_locations=2, n_days=120, seed=3, future_days=H)
    frame = network.to_frame()[["item_id", "location_id", "date", "demand"]]
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=32, progress_bar=False)
    forecaster = Forecaster(model, H, spec=PanelSpec(**settings), train=train, hidden_size=8)
    forecaster.fit(frame, run_dir=tmp_path / "run")
    package = export_run(tmp_path / "run", tmp_path / "repo")
    manifest = read_package(package, task="forecast")
    assert max(manifest["parity"]["max_relative_error"].values()) <= 1e-4
    names = [i["name"] for i in manifest["model"]["inputs"]]
    numeric = ["history", "prior", "days", "known_real", "observed_real", "static_real"]
    keys = [] if settings else ["static.item_id", "static.location_id"]
    assert names == numeric + keys  # no int64 code tensor for a caller to build
    runtime = ForecastPackage(package)
    assert_same_table(forecaster.predict(frame), runtime.predict(frame))
    assert_same_table(forecaster.predict(frame, cumulative=3), runtime.predict(frame, cumulative=3))


def _edited(package, folder, edit):
    copy = shutil.copytree(package, folder)
    manifest = json.loads((copy / "manifest.json").read_text())
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_a_manifest_that_does_not_fit_the_graph_is_refused(lstm_package, tmp_path):
    _, package, _ = lstm_package
    median_only = _edited(
        package, tmp_path / "q", lambda m: m["preprocessing"].update(quantiles=[0.5])
    )
    with pytest.raises(FileError, match=r"manifest\.json: quantiles of the graph"):
        ForecastPackage(median_only)
    shorter = _edited(
        package, tmp_path / "l", lambda m: m["preprocessing"].update(encoder_length=3)
    )
    with pytest.raises(FileError, match=r"manifest\.json: history of the graph"):
        ForecastPackage(shorter)
    bare = _edited(package, tmp_path / "p", lambda m: m.pop("preprocessing"))
    with pytest.raises(FileError, match=r"manifest\.json: not a forecast package"):
        ForecastPackage(bare)


def test_a_service_scan_refuses_a_malformed_package_and_serves_the_others(lstm_package, tmp_path):
    _, package, _ = lstm_package
    repo = tmp_path / "repo"
    _edited(package, repo / "broken" / "1", lambda m: m.pop("preprocessing"))
    shutil.copytree(package, repo / "good" / "1")
    snapshot = ModelRepository(repo).scan()
    assert sorted(snapshot.models) == ["good"]
