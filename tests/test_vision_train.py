"""End-to-end inspection: train on a synthetic tunnel, then check what a station relies on.

One model is trained per module (through ``stockcast inspect train``) on a setup that fits a CI
run on two CPU cores (under two minutes of training): the default synthetic catalog (12 products:
families of colour and size variants), 64 px views, a resnet18 trunk at width 16, 800 items,
20 epochs. Held-out and calibration sets are drawn with other seeds from the same catalog. The
tests that use it are ``slow``; the fast subset covers the API on tiny models
(``test_inspect_api.py``, ``test_inspect_cli.py`` and the class-folder test here).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from kernels.io import read_json
from serving.cli import main
from vision import Inspector
from vision.datasets import read_items
from vision.metrics import per_class_auroc
from vision.schema import CLASS_NAMES, VIEW_NAMES, score_column

SIZE = 64
PRODUCTS = 12
TRAIN_ITEMS = 800
EPOCHS = 20
TARGET_FRR = 0.2
REVIEW_RATE = 0.1


def _generate(root: Path, items: int, seed: int, defect_rate: float) -> Path:
    rc = main(
        [
            "inspect",
            "generate",
            "--out",
            str(root),
            "--items",
            str(items),
            "--seed",
            str(seed),
            "--image-size",
            str(SIZE),
            "--defect-rate",
            str(defect_rate),
            "--products",
            str(PRODUCTS),
            "--no-progress",
        ]
    )
    assert rc == 0
    return root


def _probs(items: pd.DataFrame) -> np.ndarray:
    return items[[score_column(c) for c in CLASS_NAMES]].to_numpy(dtype=float)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("vision_train")
    _generate(base / "train", TRAIN_ITEMS, seed=11, defect_rate=0.3)
    rc = main(
        [
            "inspect",
            "train",
            "--data",
            str(base / "train"),
            "--out",
            str(base / "run"),
            "--width",
            "16",
            "--image-size",
            str(SIZE),
            "--epochs",
            str(EPOCHS),
            "--batch-size",
            "8",
            "--lr",
            "3e-3",
            "--seed",
            "0",
            "--accelerator",
            "cpu",
            "--target-frr",
            str(TARGET_FRR),
            "--review-rate",
            str(REVIEW_RATE),
            "--no-progress",
        ]
    )
    assert rc == 0
    return base


@pytest.fixture(scope="module")
def heldout(trained):
    return _generate(trained / "heldout", 300, seed=12, defect_rate=0.3)


@pytest.mark.slow
def test_heldout_auroc_per_class(trained, heldout):
    inspector = Inspector.load(trained / "run")
    items = read_items(heldout)
    scored, _ = inspector.score(items, progress=False)
    aurocs = per_class_auroc(items.label_matrix(), _probs(scored), CLASS_NAMES)
    assert all(v >= 0.95 for v in aurocs.values()), aurocs

    # Colour and size are judged against the catalog: give every item the reference of its
    # sibling variant (same product, other colour / other size) and the ranking collapses.
    catalog = items.catalog.table
    for class_name, same, differ in (
        ("wrong_color", "width_cm", "color"),
        ("wrong_size", "color", "width_cm"),
    ):
        sibling = {}
        for pid, row in catalog.iterrows():
            match = catalog[
                (catalog.family == row.family)
                & (catalog[same] == row[same])
                & (catalog[differ] != row[differ])
            ]
            sibling[pid] = match.index[0]
        swapped_set = read_items(heldout)
        for item in swapped_set.items:
            item.product_id = sibling[item.product_id]
        swapped, _ = inspector.score(swapped_set, progress=False)
        swapped_auroc = per_class_auroc(items.label_matrix(), _probs(swapped), CLASS_NAMES)
        assert swapped_auroc[class_name] < 0.7, (class_name, swapped_auroc)


@pytest.mark.slow
def test_run_folder_is_self_contained(trained):
    manifest = read_json(trained / "run" / "manifest.json")
    assert manifest["classes"] == list(CLASS_NAMES) and manifest["views"] == list(VIEW_NAMES)
    assert manifest["model"]["backbone"] == "resnet18" and manifest["model"]["image_size"] == SIZE
    assert (
        manifest["catalog"]["mode"] == "reference" and (trained / "run" / "catalog.csv").is_file()
    )
    assert [i["name"] for i in manifest["inputs"]] == ["images", "view_mask", "catalog"]
    assert manifest["thresholds"]["target_frr"] == TARGET_FRR
    assert set(manifest["thresholds"]["classes"]) == set(CLASS_NAMES)
    assert len(manifest["data_fingerprint"]) == 64
    assert manifest["config"]["train"]["max_epochs"] == EPOCHS
    state = torch.load(trained / "run" / "model.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


@pytest.mark.slow
def test_calibrated_thresholds_meet_the_target_on_fresh_good_items(trained):
    calibration = _generate(trained / "calibration", 200, seed=13, defect_rate=0.0)
    fresh = _generate(trained / "fresh", 200, seed=14, defect_rate=0.0)
    rc = main(
        [
            "inspect",
            "calibrate",
            "--run",
            str(trained / "run"),
            "--data",
            str(calibration),
            "--target-frr",
            str(TARGET_FRR),
            "--review-rate",
            str(REVIEW_RATE),
            "--accelerator",
            "cpu",
            "--no-progress",
        ]
    )
    assert rc == 0
    manifest = read_json(trained / "run" / "manifest.json")
    assert manifest["thresholds"]["n_good"] == 200
    assert manifest["thresholds"]["source"] == str(calibration)
    items, _ = Inspector.load(trained / "run").score(fresh, progress=False)
    rejected = (items["verdict"] == "reject").mean()
    # Sampling error of the calibration quantile and of the fresh sample, both binomial.
    se = np.sqrt(TARGET_FRR * (1 - TARGET_FRR) * (1 / 200 + 1 / len(items)))
    assert abs(rejected - TARGET_FRR) < 3 * se, rejected


@pytest.mark.slow
def test_score_reports_broken_items_and_scores_the_rest(trained, heldout, tmp_path):
    root = tmp_path / "station"
    shutil.copytree(heldout, root)
    labels = pd.read_csv(root / "labels.csv", dtype=str)
    keep = labels.head(8)
    keep.to_csv(root / "labels.csv", index=False)
    for item_id in labels.item_id[8:]:
        shutil.rmtree(root / "items" / item_id)
    ids = keep.item_id.tolist()
    (root / "items" / ids[0] / "top.png").unlink()
    (root / "items" / ids[1] / "left.png").write_bytes(b"\x89PNG garbage")
    data = (root / "items" / ids[2] / "front.png").read_bytes()
    (root / "items" / ids[2] / "front.png").write_bytes(data[:200])
    Image.new("CMYK", (SIZE, SIZE)).save(root / "items" / ids[3] / "back.jpg")
    (root / "items" / ids[3] / "back.png").unlink()
    for view in VIEW_NAMES:
        (root / "items" / ids[4] / f"{view}.png").write_bytes(b"")
    out = tmp_path / "scores.csv"
    rc = main(
        [
            "inspect",
            "score",
            "--run",
            str(trained / "run"),
            "--items",
            str(root),
            "--out",
            str(out),
            "--accelerator",
            "cpu",
            "--no-progress",
        ]
    )
    assert rc == 0
    items = pd.read_csv(out, dtype={"item_id": str}, keep_default_na=False)
    views = pd.read_csv(
        tmp_path / "scores.views.csv", dtype={"item_id": str}, keep_default_na=False
    )
    assert items.item_id.tolist() == ids and len(views) == 8 * len(VIEW_NAMES)
    by_id = items.set_index("item_id")
    assert by_id.loc[ids[0], "missing_views"] == "top"
    for item_id, view in ((ids[1], "left"), (ids[2], "front"), (ids[3], "back")):
        assert by_id.loc[item_id, "status"] == "partial"
        assert f"view '{view}'" in by_id.loc[item_id, "errors"]
    assert "'CMYK'" in by_id.loc[ids[3], "errors"]
    assert by_id.loc[ids[4], "status"] == "failed" and by_id.loc[ids[4], "views_scored"] == 0
    for item_id in ids[:5]:
        assert by_id.loc[item_id, "verdict"] in ("review", "reject")  # never a silent pass
    for item_id in ids[5:]:
        assert by_id.loc[item_id, "status"] == "ok" and by_id.loc[item_id, "errors"] == ""
        scores = by_id.loc[item_id, [score_column(c) for c in CLASS_NAMES]].astype(float)
        assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()
    ok_views = views[views.status == "ok"]
    assert len(ok_views) == 8 * 6 - 1 - 1 - 1 - 1 - 6
    assert all(Path(p).is_file() for p in ok_views.heatmap)
    assert Image.open(ok_views.heatmap.iloc[0]).mode == "RGB"
    missing = views[(views.item_id == ids[0]) & (views.view == "top")].iloc[0]
    assert missing.status == "missing" and missing.heatmap == ""

    counts_path = tmp_path / "rejected.csv"
    assert main(["inspect", "rejected", "--scores", str(out), "--out", str(counts_path)]) == 0
    counts = pd.read_csv(counts_path, dtype={"item_id": str})
    assert set(counts.item_id) == set(keep.product_id)
    assert counts.inspected_units.sum() == 8
    assert counts.rejected_units.sum() == (items.verdict == "reject").sum()


def test_class_folder_layout_trains_and_scores(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("good", "spot", "streak"):
        (tmp_path / "cells" / cls).mkdir(parents=True)
        for i in range(10):
            pixels = rng.integers(90, 110, size=(40, 40), dtype=np.uint8)
            if cls == "spot":
                pixels[10:18, 10:18] = 10
            elif cls == "streak":
                pixels[:, 25:28] = 240
            Image.fromarray(pixels, "L").save(tmp_path / "cells" / cls / f"{cls}_{i}.png")
    rc = main(
        [
            "inspect",
            "train",
            "--data",
            str(tmp_path / "cells"),
            "--out",
            str(tmp_path / "run"),
            "--width",
            "8",
            "--image-size",
            "32",
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--target-frr",
            "0.3",
            "--review-rate",
            "0.1",
            "--accelerator",
            "cpu",
            "--val-fraction",
            "0.5",
            "--no-progress",
        ]
    )
    assert rc == 0
    manifest = read_json(tmp_path / "run" / "manifest.json")
    assert manifest["classes"] == ["spot", "streak"] and manifest["views"] == ["image"]
    assert manifest["preprocessing"]["image_mode"] == "L"
    assert manifest["catalog"]["mode"] == "none"
    out = tmp_path / "scores.parquet"
    rc = main(
        [
            "inspect",
            "score",
            "--run",
            str(tmp_path / "run"),
            "--items",
            str(tmp_path / "cells"),
            "--out",
            str(out),
            "--no-heatmaps",
            "--no-progress",
        ]
    )
    assert rc == 0
    items = pd.read_parquet(out)
    assert len(items) == 30 and {"score_spot", "score_streak"} <= set(items.columns)
    assert set(items.verdict) <= {"pass", "review", "reject"}


def test_cli_errors_name_the_problem(tmp_path, capsys):
    rc = main(
        [
            "inspect",
            "score",
            "--run",
            str(tmp_path / "nothing"),
            "--items",
            str(tmp_path),
            "--out",
            str(tmp_path / "x.csv"),
        ]
    )
    assert rc == 2
    assert f"{tmp_path / 'nothing'}: no such run folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # checked before any output was started
