"""Shared fixtures: small synthetic panels and the shared real data (skipped when absent)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import settings
from PIL import Image

from serving.review import ReviewStore

# Two cores on CI: one intra-op thread per process keeps parallel tools from oversubscribing.
torch.set_num_threads(int(os.environ.get("STOCKCAST_TEST_THREADS", "2")))

# A CI gate must not fail on a draw nobody can replay: by default every run tries the same
# examples; ``pytest --hypothesis-profile=explore`` searches new ones (do that when changing
# a boundary, and turn what it finds into a fix and a pinned example).
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile("repeatable")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
M5_TINY = SHARED_DATA / "m5_tiny.parquet"


@pytest.fixture(scope="session")
def m5_path() -> Path:
    if not M5_TINY.exists():
        pytest.skip(f"shared data not found at {M5_TINY} (a fresh clone has no ../shared)")
    return M5_TINY


@pytest.fixture(scope="session")
def small_network():
    from forecasting.synthetic import generate_network

    return generate_network(n_items=24, n_locations=3, n_days=240, seed=7, future_days=14)


@pytest.fixture(scope="session")
def user_csv(small_network, tmp_path_factory):
    """The synthetic panel as a user would export it: a CSV in their own column names."""
    frame = small_network.to_frame().rename(
        columns={"item_id": "sku", "location_id": "store_id", "date": "day", "demand": "sales"}
    )
    path = tmp_path_factory.mktemp("data") / "sales.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def lstm_package(small_network, tmp_path_factory):
    """A small LSTM run on the synthetic network and its ONNX package (exported once)."""
    from forecasting import Forecaster
    from serving.export import export_run
    from training import TrainConfig

    root = tmp_path_factory.mktemp("lstm_package")
    train = TrainConfig(max_epochs=2, batches_per_epoch=3, batch_size=32, progress_bar=False)
    forecaster = Forecaster("lstm", 7, spec=small_network.spec, train=train, hidden_size=8)
    forecaster.fit(small_network.to_frame(), run_dir=root / "runs" / "lstm")
    package = export_run(root / "runs" / "lstm", root / "repo")
    return forecaster, package, root


@pytest.fixture(scope="module")
def lstm_client(lstm_package, tmp_path_factory):
    """The service over a copy of :func:`lstm_package`'s repository (one per test module)."""
    from fastapi.testclient import TestClient

    from serving.service.app import create_app
    from serving.service.config import ServiceConfig

    _, _, root = lstm_package
    repo = tmp_path_factory.mktemp("service") / "repo"
    shutil.copytree(root / "repo", repo)
    with TestClient(create_app(repo, ServiceConfig(reload_s=60))) as client:
        yield client


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``stockcast demo --quick`` once per session (the report, packages, plan, review queue)."""
    from serving.cli import main

    out = tmp_path_factory.mktemp("demo") / "run"
    assert main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    return out


def png(path, colour=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), colour).save(path)
    return str(path)


def queued_items(workspace):
    items = pd.DataFrame(
        {"item_id": ["A1", "B2", "C3"], "sku": ["SKU1", "SKU1", "SKU2"],
         "location_id": ["FC1", "FC1", "FC2"], "product_id": ["P1", "P1", "P2"],
         "reasons": ["damage 0.61 > review 0.40"] * 3, "score_damage": [0.61, 0.55, np.nan]}
    )  # fmt: skip
    views = {
        item: {"front": {"image": png(workspace / "items" / item / "front.png"),
                         "heatmap": png(workspace / "heat" / item / "front.png", (0, 0, 200))}}
        for item in items["item_id"]
    }  # fmt: skip
    views["C3"]["front"]["image"] = "/etc/passwd"  # outside the workspace: never served
    return items, views


@pytest.fixture()
def workspace(lstm_package, tmp_path):
    _, _, root = lstm_package
    shutil.copytree(root / "repo", tmp_path / "models")
    items, views = queued_items(tmp_path)
    ReviewStore(tmp_path / "review.db").enqueue(items, views)
    dates = pd.date_range("2024-03-01", periods=14)
    keys = {"item_id": "SKU1", "location_id": "FC1"}
    (tmp_path / "plan").mkdir()
    (tmp_path / "data").mkdir()
    pd.DataFrame([{**keys, "demand_mean": 5.0, "review": "continuous", "reorder_point": 20.0,
                   "safety_stock": 6.0, "order_qty": 40.0}]).to_parquet(
        tmp_path / "plan" / "plan.parquet")  # fmt: skip
    forecast = pd.DataFrame({**keys, "date": dates[7:], "step": range(1, 8)})
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        forecast[f"q{q:g}"] = 5.0 * (0.5 + q)
    forecast.to_parquet(tmp_path / "plan" / "forecast.parquet")
    panel = pd.DataFrame({**keys, "date": dates, "demand": np.arange(14.0)})
    panel.to_parquet(tmp_path / "data" / "panel.parquet")
    rules = ["plan"] * 7 + ["weeks_of_supply"] * 7
    daily = pd.DataFrame({**keys, "date": list(dates[7:]) * 2, "on_hand": np.arange(14.0),
                          "unmet": [0.0] * 13 + [2.0], "rule": rules})  # fmt: skip
    daily.to_parquet(tmp_path / "plan" / "simulation_daily.parquet")
    return tmp_path


@pytest.fixture(scope="session")
def inspection_repo(tmp_path_factory):
    """A tiny inspection run exported as a package in a repository, and one item's views."""
    from serving.export import export_run
    from training import ImageTrainConfig
    from vision import Inspector
    from vision.synthetic import write_synthetic_dataset

    root = tmp_path_factory.mktemp("inspection_repo")
    tunnel = write_synthetic_dataset(root / "tunnel", 24, image_size=32, progress=False)
    # A split of 24 items may hold too few good ones to calibrate on: calibrate on fresh ones.
    good = write_synthetic_dataset(
        root / "good", 16, seed=22, image_size=32, defect_rate=0.0, progress=False
    )
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, target_frr=0.2, train=fast)
    inspector.fit(tunnel, run_dir=root / "run").calibrate(good, progress=False)
    export_run(root / "run", root / "repo", "inspection")
    item = sorted((tunnel / "items").iterdir())[0]
    return root / "repo", sorted(item.glob("*.png"))


@pytest.fixture(scope="module")
def inspect_client(inspection_repo):
    """A service over ``inspection_repo`` and that item's views as multipart file parts."""
    from fastapi.testclient import TestClient

    from serving.service.app import create_app

    repo, views = inspection_repo
    files = [(p.stem, (p.name, p.read_bytes(), "image/png")) for p in views]
    with TestClient(create_app(repo)) as http:
        yield http, files
