"""A whole ``auto`` run is exported and served: its package holds the run (networks, trees,
baselines and the choice per demand class) and forecasts what the run forecasts, through the
Python API, the command line and the service. Until 2026-12-07 the export was refused (the trees
and baselines have no ONNX graph) and only one of its networks could be served."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from forecasting import Forecaster
from kernels.io import FileError
from serving.cli import main
from serving.package import read_package
from serving.runtime import ForecastPackage, RunForecastPackage, open_forecast_package
from training import TrainConfig

H = 7


@pytest.fixture(scope="module")
def auto_package(tmp_path_factory):
    from forecasting.synthetic import generate_network

    root = tmp_path_factory.mktemp("auto_package")
    network = generate_network(n_items=8, n_locations=2, n_days=200, seed=5, future_days=H)
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=32, progress_bar=False)
    auto = Forecaster("auto", H, spec=network.spec, train=train, hidden_size=8)
    frame = network.to_frame()
    auto.fit(frame)
    # A tiny run's validation picks a network for every class; a real one sends classes to
    # the trees and the baselines too, which only this package (no ONNX graph) can carry.
    classes = sorted(auto.model_.choice)
    auto.model_.choice = {c: ("gbm", "seasonal_naive")[i % 2] for i, c in enumerate(classes)}
    auto.model_.fallback = "moving_average"
    auto.save(root / "runs" / "auto")
    assert main(["export", "--run", str(root / "runs" / "auto"), "--repo", str(root / "repo")]) == 0
    return auto, frame, root / "repo" / "auto" / "1", root


def _rows(frame: pd.DataFrame) -> list[dict]:
    frame = frame.copy()
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    return json.loads(
        frame.astype({c: str for c in frame.select_dtypes("category")}).to_json(orient="records")
    )


@pytest.mark.slow
def test_an_auto_package_forecasts_what_the_run_forecasts(auto_package, tmp_path):
    auto, frame, package, _ = auto_package
    manifest = read_package(package, task="forecast")
    assert manifest["model"]["runtime"] == "pytorch"
    assert manifest["routing"]["choice"] == auto.model_.choice
    runtime = open_forecast_package(package)
    assert isinstance(runtime, RunForecastPackage) and runtime.provider == "torch (cpu)"
    assert "gbm" in set(auto.model_.route(*_store_windows(auto, frame)))
    pd.testing.assert_frame_equal(runtime.predict(frame), auto.predict(frame))
    pd.testing.assert_frame_equal(
        runtime.predict(frame, cumulative=3), auto.predict(frame, cumulative=3)
    )
    # The command line reads it with --package, as it reads an ONNX one.
    out = tmp_path / "forecast.csv"
    argv = ["forecast", "predict", "--package", str(package), "--data", str(tmp_path / "t.csv"),
            "--out", str(out)]  # fmt: skip
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert main(argv) == 0
    written = pd.read_csv(out)
    expected = auto.predict(frame)
    np.testing.assert_allclose(written.filter(like="q").to_numpy(),
                               expected.filter(like="q").to_numpy(), rtol=1e-6)  # fmt: skip


def _store_windows(auto, frame):
    from training.forecaster import forecast_origins

    store = auto._store_for(frame)
    return (store, *forecast_origins(store))


@pytest.mark.slow
def test_the_service_answers_an_auto_package(auto_package):
    from serving.service.app import create_app
    from serving.service.config import ServiceConfig

    auto, frame, package, root = auto_package
    recent = frame.groupby(["item_id", "location_id"], observed=True).tail(70)
    expected = auto.predict(recent)
    with TestClient(create_app(root / "repo", ServiceConfig(reload_s=60))) as client:
        answer = client.post("/v1/forecast", json={"rows": _rows(recent)})
        assert answer.status_code == 200, answer.text[:300]
        body = answer.json()
        assert body["provider"] == "torch (cpu)"
        served = pd.DataFrame([row["quantiles"] for row in body["rows"]])
        assert [(r["item_id"], r["date"]) for r in body["rows"]] == list(
            zip(
                expected["item_id"].astype(str),
                expected["date"].dt.strftime("%Y-%m-%d"),
                strict=True,
            )
        )
        levels = [c for c in expected.columns if c.startswith("q")]
        np.testing.assert_allclose(served[levels].to_numpy(float),
                                   expected[levels].to_numpy(float), rtol=1e-6)  # fmt: skip
        # A plan from the series forecasts them with the same run.
        inventory = recent[["item_id", "location_id"]].drop_duplicates().astype(str)
        inventory = inventory.assign(on_hand=5.0, lead_time_mean=3.0).head(4)
        plan = client.post(
            "/v1/plan",
            json={"series": _rows(recent), "inventory": inventory.to_dict(orient="records")},
        )
        assert plan.status_code == 200, plan.text[:300]
        assert plan.json()["forecast_model"] == f"{package.parent.name}/{package.name}"
        # No tensors to infer on: named, not a server error.
        infer = client.post(
            f"/v2/models/{package.parent.name}/infer",
            json={"inputs": [{"name": "history", "shape": [1, 1], "datatype": "FP32",
                              "data": [1.0]}]},
        )  # fmt: skip
        assert infer.status_code == 422 and "/v1/forecast" in infer.json()["detail"]
        # Its metadata says what serves it (it said onnxruntime_onnx, which has no graph here).
        meta = client.get(f"/v2/models/{package.parent.name}").json()
        assert meta["platform"] == "pytorch" and meta["inputs"] == []


@pytest.mark.slow
def test_a_changed_file_of_the_run_inside_the_package_is_refused(auto_package, tmp_path):
    _, _, package, _ = auto_package
    for changed in ("run/manifest.json", "run/model.lstm.pt"):
        copy = tmp_path / changed.replace("/", "_")
        shutil.copytree(package, copy)
        with open(copy / changed, "ab") as handle:
            handle.write(b" ")
        with pytest.raises(FileError, match="changed"):
            open_forecast_package(copy)
    gone = tmp_path / "no_run_manifest"
    shutil.copytree(package, gone)
    (gone / "run" / "manifest.json").unlink()
    with pytest.raises(FileError, match="missing"):
        open_forecast_package(gone)
    # Not taken for an ONNX package.
    assert not isinstance(open_forecast_package(package), ForecastPackage)


@pytest.mark.slow
def test_gaps_given_at_prediction_reach_the_run(auto_package, tmp_path):
    """`forecast predict --package --gaps zero` reads a table with many missing days as
    `--run --gaps zero` does: the package validated it with the flag and the run forecast it
    with its own `gaps: auto`, which refused it, saying to give --gaps zero."""
    _, frame, package, root = auto_package
    history = frame[frame["demand"].notna()]
    first_last = history.groupby(["item_id", "location_id"], observed=True).nth([0, -1]).index
    inner = history.index.difference(first_last)
    # Every 8th day inside the series missing: 12% more rows filled, past auto's 5%.
    gappy = frame.drop(inner[::8])
    gappy.to_csv(tmp_path / "gappy.csv", index=False)
    written = {}
    for source in (["--run", str(root / "runs" / "auto")], ["--package", str(package)]):
        out = tmp_path / f"{source[0][2:]}.csv"
        argv = ["forecast", "predict", *source, "--data", str(tmp_path / "gappy.csv"),
                "--out", str(out), "--gaps", "zero"]  # fmt: skip
        assert main(argv) == 0, source
        written[source[0]] = pd.read_csv(out)
    pd.testing.assert_frame_equal(written["--package"], written["--run"])
