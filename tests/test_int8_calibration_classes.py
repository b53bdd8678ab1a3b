"""int8 calibration on class folders given to export_run(..., quantize=DATA) reads them against
the model's classes (as Inspector.calibrate does): a folder of good photos alone, or one
without a rare defect class, was refused ('classes [...] are not the model's' / 'only the
good/ folder found') instead of calibrating."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kernels.io import read_json
from serving.export import export_run
from training import ImageTrainConfig
from vision import Inspector


def _folders(root: Path, counts: dict[str, int], rng: np.random.Generator) -> Path:
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
            if cls != "good":
                pixels[8:20, 8:20] = 255 if cls == "crack" else 0
            Image.fromarray(pixels).save(root / cls / f"{cls}{i}.png")
    return root


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("quantize_classes")
    rng = np.random.default_rng(0)
    _folders(base / "train", {"good": 20, "crack": 8, "dent": 8}, rng)
    _folders(base / "no_dent", {"good": 10, "crack": 4}, rng)
    _folders(base / "good_only", {"good": 12}, rng)
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(
        width=8, image_size=32, head_dim=16, target_frr=0.3, review_rate=0.1, train=fast
    )
    inspector.fit(base / "train", run_dir=base / "run")
    assert inspector.class_names == ("crack", "dent")
    return base


@pytest.mark.parametrize("data", ["no_dent", "good_only"])
def test_class_folders_calibrate_against_the_models_classes(run, data):
    package = export_run(run / "run", run / "repo", data, quantize=run / data)
    quantized = read_json(package / "manifest.json")["quantized"]
    assert quantized["calibration"]["items"] > 0
    auroc = quantized["evaluation"]["auroc"]["fp32"]
    assert set(auroc) == {"crack", "dent"} and auroc["dent"] is None  # no dent item there
    if data == "good_only":
        assert auroc["crack"] is None
    else:  # crack items labelled crack (the model's first class), not another class
        assert auroc["crack"] is not None
