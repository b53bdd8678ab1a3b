"""A defect folder left empty by mistake vanished as a class: the model trained without
``crack`` and nobody was told. Reading class folders for a new model refuses it by name (a
folder of other files stays ignored, test_vision_inputs; one of undecodable images is refused
when fitting, test_class_folders_all_unreadable); a fitted model's classes may still lack a
folder's examples (calibration with good photos alone)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vision.items import read_class_folders


def _folders(root, crack_files=()):
    rng = np.random.default_rng(0)
    for cls in ("good", "damage"):
        (root / cls).mkdir()
        for i in range(2):
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{i}.png")
    (root / "crack").mkdir()
    for name in crack_files:
        (root / "crack" / name).write_bytes(b"\0" * 16)


@pytest.mark.parametrize("hidden", [(), (".DS_Store",), ("Thumbs.db", "desktop.ini")])
def test_empty_class_folder_is_refused_by_name(tmp_path, hidden):
    _folders(tmp_path, hidden)
    with pytest.raises(ValueError, match=r"class folders \['crack'\] are empty"):
        read_class_folders(tmp_path)


def test_fitted_classes_read_an_empty_folder_as_a_missing_one(tmp_path):
    _folders(tmp_path)
    items = read_class_folders(tmp_path, class_names=("crack", "damage"))
    assert items.class_names == ("crack", "damage") and len(items.items) == 4


def test_items_to_score_read_an_empty_folder_as_a_missing_one(tmp_path):
    """`inspect score --run/--package` on a sorted batch with no crack photo today: scoring
    reads no labels (the model's classes are its own), so the empty folder is no class that
    vanishes; it was refused, the 9ef0bb5 behaviour scored the 4 items."""
    from vision.items import read_items

    _folders(tmp_path)
    items = read_items(tmp_path, to_score=True)
    assert sorted(item.item_id for item in items.items) == [
        "damage/0",
        "damage/1",
        "good/0",
        "good/1",
    ]
    with pytest.raises(ValueError, match=r"class folders \['crack'\] are empty"):
        read_items(tmp_path, require_labels=True)  # as a fit reads its data


def test_scorers_read_items_to_score(tmp_path):
    """Both scorers (a run, a package) read their items as items to score."""
    from serving.runtime.inspection import InspectionPackage
    from vision import Inspector

    _folders(tmp_path)
    package = InspectionPackage.__new__(InspectionPackage)
    package.data = Inspector().data
    assert len(package.items(tmp_path).items) == 4
    assert len(Inspector().items(tmp_path, to_score=True).items) == 4


@pytest.mark.slow
def test_inspect_score_takes_a_batch_with_an_empty_class_folder(tmp_path):
    """End to end, `inspect score --run` and `--package` on class folders with an empty one
    (both exited 2, 'class folders ['dent'] are empty')."""
    from serving.cli import main
    from serving.export import export_run
    from training import ImageTrainConfig
    from vision import Inspector

    rng = np.random.default_rng(0)
    sets = {"train": {"good": 12, "crack": 6, "dent": 6}, "batch": {"good": 2, "crack": 1}}
    for root, counts in sets.items():
        for cls, n in counts.items():
            (tmp_path / root / cls).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / root / cls / f"{i}.png")
    (tmp_path / "batch" / "dent").mkdir()
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, target_frr=0.3, train=fast)
    inspector.fit(tmp_path / "train", run_dir=tmp_path / "run")
    package = export_run(tmp_path / "run", tmp_path / "repo", "p")
    for source in (["--run", str(tmp_path / "run")], ["--package", str(package)]):
        out = tmp_path / f"{source[0][2:]}.csv"
        argv = ["inspect", "score", *source, "--items", str(tmp_path / "batch"), "--out"]
        assert main([*argv, str(out), "--no-heatmaps", "--accelerator", "cpu"]) == 0
        assert len(pd.read_csv(out)) == 3
