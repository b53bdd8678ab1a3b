"""A defect folder left empty by mistake vanished as a class: the model trained without
``crack`` and nobody was told. Reading class folders for a new model refuses it by name (a
folder of other files stays ignored, test_vision_inputs; one of undecodable images is refused
when fitting, test_class_folders_all_unreadable); a fitted model's classes may still lack a
folder's examples (calibration with good photos alone)."""

from __future__ import annotations

import numpy as np
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


@pytest.mark.parametrize("hidden", [(), (".DS_Store",)])
def test_empty_class_folder_is_refused_by_name(tmp_path, hidden):
    _folders(tmp_path, hidden)
    with pytest.raises(ValueError, match=r"class folders \['crack'\] are empty"):
        read_class_folders(tmp_path)


def test_fitted_classes_read_an_empty_folder_as_a_missing_one(tmp_path):
    _folders(tmp_path)
    items = read_class_folders(tmp_path, class_names=("crack", "damage"))
    assert items.class_names == ("crack", "damage") and len(items.items) == 4
