"""``vision.Inspector``: fit / calibrate / score / save / load on a tiny synthetic tunnel.

One tiny model (24 items, 32 px, resnet18 width 8, one epoch) is fitted per module, so these
tests cover the whole API in the fast subset; what the model learns is tested in
``test_vision_train.py`` (slow).
"""

from __future__ import annotations

import doctest
import importlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from kernels.io import FileError
from kernels.runfolder import read_manifest
from training import ImageTrainConfig
from vision import Inspector
from vision.schema import CLASS_NAMES, VIEW_NAMES
from vision.synthetic import write_synthetic_dataset

SIZE = 32

# Each test fits an inspector or reads the module's fitted one (20 s in all).
pytestmark = pytest.mark.slow


def _fast(seed: int = 0) -> ImageTrainConfig:
    return ImageTrainConfig(
        max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False, seed=seed
    )


def _inspector(seed: int = 0) -> Inspector:
    return Inspector(
        width=8, image_size=SIZE, head_dim=16, target_frr=0.2, review_rate=0.1, train=_fast(seed)
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.mktemp("inspect_api")
    tunnel = write_synthetic_dataset(
        base / "tunnel", 24, seed=21, image_size=SIZE, defect_rate=0.3, progress=False
    )
    good = write_synthetic_dataset(
        base / "good", 16, seed=22, image_size=SIZE, defect_rate=0.0, progress=False
    )
    inspector = _inspector().fit(tunnel, run_dir=base / "run")
    inspector.calibrate(good, progress=False)
    items, views = inspector.score(tunnel, progress=False)
    return SimpleNamespace(
        base=base, tunnel=tunnel, good=good, run=base / "run", inspector=inspector, items=items
    )


def _leftovers(folder: Path) -> list[str]:
    """Staging folders, locks and temporary files an interrupted write would leave."""
    return sorted(
        p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp")
    )


def test_fit_writes_a_complete_run_folder(tiny):
    manifest = read_manifest(tiny.run, task="inspection")
    assert set(manifest["config"]) >= {"model", "data", "calibration", "train"}
    assert manifest["config"]["model"]["width"] == 8
    assert manifest["config"]["model"]["contrast"] == 0  # auto: off for the tunnel
    assert manifest["config"]["train"]["batch_size"] == 8
    assert manifest["classes"] == list(CLASS_NAMES) and manifest["views"] == list(VIEW_NAMES)
    assert [i["name"] for i in manifest["inputs"]] == ["images", "view_mask", "catalog"]
    assert manifest["model"]["image_size"] == SIZE and manifest["model"]["weights"] == "model.pt"
    assert manifest["preprocessing"]["min_view_size"] == 16
    assert manifest["catalog"]["mode"] == "reference" and manifest["catalog"]["file"]
    assert {"model.pt", "catalog.csv", "checkpoints/best.ckpt"} <= set(manifest["files"])
    assert len(manifest["data_fingerprint"]) == 64
    assert manifest["training"]["data"]["n_train"] + manifest["training"]["data"]["n_val"] == 24
    # calibrate() on the fitted inspector rewrote its run folder's manifest
    assert manifest["thresholds"]["source"] == str(tiny.good)
    assert manifest["thresholds"]["n_good"] == 16 and manifest["thresholds"]["target_frr"] == 0.2
    assert manifest["metrics"]["calibration"]["n_items"] == 16
    state = torch.load(tiny.run / "model.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert _leftovers(tiny.base) == []


def test_score_tables(tiny):
    items = tiny.items
    assert items.item_id.tolist() == [f"s21-{i:05d}" for i in range(24)]
    assert set(items.verdict) <= {"pass", "review", "reject"} and (items.status == "ok").all()
    assert {f"score_{c}" for c in CLASS_NAMES} | {"measured_color"} <= set(items.columns)


def test_load_scores_as_the_fitted_inspector(tiny):
    loaded = Inspector.load(tiny.run)
    assert repr(loaded) == "Inspector(resnet18 width 8, 4 classes, 6 views, calibrated)"
    assert loaded.model == tiny.inspector.model and loaded.train == tiny.inspector.train
    items, _ = loaded.score(tiny.tunnel, progress=False)
    pd.testing.assert_frame_equal(items, tiny.items)


def test_save_refuses_an_existing_folder_unless_overwrite(tiny, tmp_path):
    target = tiny.inspector.save(tmp_path / "copy")
    assert Inspector.load(target).thresholds is not None
    with pytest.raises(FileError, match=r"copy: exists"):
        tiny.inspector.save(target)
    tiny.inspector.save(target, overwrite=True)
    assert read_manifest(target)["files"].keys() == {"model.pt", "catalog.csv"}
    tiny.inspector.run_dir = tiny.run  # save() moved it; the later tests use the fitted run


@pytest.mark.parametrize("name", ["model.pt", "catalog.csv"])
def test_a_changed_file_is_refused_by_name(tiny, tmp_path, name):
    run = shutil.copytree(tiny.run, tmp_path / "run")
    with open(run / name, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(FileError, match=rf"{name}: sha256 does not match"):
        Inspector.load(run)
    (run / "manifest.json").unlink()
    with pytest.raises(FileError, match="not a complete run folder"):
        Inspector.load(run)


def test_calibrate_rewrites_the_loaded_run(tiny, tmp_path):
    run = shutil.copytree(tiny.run, tmp_path / "run")
    inspector = Inspector.load(run).calibrate(tiny.good, target_frr=0.3, progress=False)
    manifest = read_manifest(run)  # hashes still match after the rewrite
    assert manifest["thresholds"]["target_frr"] == 0.3
    assert manifest["config"]["calibration"]["target_frr"] == 0.3
    assert Inspector.load(run).thresholds.target_frr == inspector.thresholds.target_frr == 0.3


def test_score_writes_tables_and_heatmaps_together(tiny, tmp_path):
    out = tmp_path / "scores.parquet"
    few = tiny.inspector.items(tiny.tunnel).subset(range(3))  # an ItemSet scores as a folder
    items, views = tiny.inspector.score(few, out, progress=False)
    assert pd.read_parquet(out).equals(items)
    assert pd.read_parquet(tmp_path / "scores.views.parquet").equals(views)
    heatmaps = views.heatmap[views.status == "ok"]
    assert len(heatmaps) == 3 * 6 and all(Path(p).is_file() for p in heatmaps)
    assert Path(heatmaps.iloc[0]).parent.parent == tmp_path / "scores_heatmaps"
    with pytest.raises(FileError, match="scores_heatmaps: heatmap folder exists"):
        tiny.inspector.score(few, out, progress=False)
    tiny.inspector.score(few, out, overwrite=True, heatmaps=False, progress=False)
    assert _leftovers(tmp_path) == []


def test_an_interrupted_score_leaves_nothing(tiny, tmp_path, monkeypatch):
    import vision.tables

    calls = []
    real = vision.tables.save_overlay

    def interrupt_on_the_fifth(*args):
        calls.append(args[0])
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(vision.tables, "save_overlay", interrupt_on_the_fifth)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(KeyboardInterrupt):
        tiny.inspector.score(tiny.tunnel, out / "scores.csv", progress=False)
    assert len(calls) == 5 and list(out.iterdir()) == []


def test_unknown_settings_and_unfitted_use_are_named(tiny):
    with pytest.raises(ValueError, match=r"unknown settings \['widht'\]"):
        Inspector(widht=8)
    with pytest.raises(ValueError, match="width: expected >= 8"):
        Inspector(width=4)
    with pytest.raises(RuntimeError, match="not fitted"):
        Inspector().score(tiny.tunnel)


def test_same_seed_same_model(tiny):
    first = _inspector(seed=5).fit(tiny.tunnel).net.state_dict()
    second = _inspector(seed=5).fit(tiny.tunnel).net.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = tiny.inspector.net.state_dict()  # seed 0
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_public_api_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module("training.inspector")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_manifest_is_plain_json(tiny):
    text = (tiny.run / "manifest.json").read_text()
    assert "NaN" not in text and json.loads(text)["task"] == "inspection"
