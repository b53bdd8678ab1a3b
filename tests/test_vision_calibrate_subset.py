"""Calibrating a class-folder model on fresh good photos alone, or on labelled photos that lack
a rare defect class, sets the same thresholds as the good items of a full set: only good items
set them. Both were refused ('only the good folder found', 'classes do not match')."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from training import ImageTrainConfig
from vision import Inspector
from vision.calibration import calibrate_thresholds
from vision.items import read_items


def _photo(rng, cls, h=40, w=56):
    img = 150 + 20 * np.sin(np.arange(w) / 7.0)[None, :] + rng.normal(0, 4, (h, w))
    if cls == "Crack":
        img[rng.integers(2, h - 2), 5 : w - 5] -= 90
    elif cls == "pit":
        r, c = rng.integers(3, h - 4), rng.integers(3, w - 4)
        img[r : r + 2, c : c + 2] -= 100
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def _write(root, counts, seed):
    rng = np.random.default_rng(seed)
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True)
        for i in range(n):
            _photo(rng, cls).save(root / cls / f"{i:03d}.png")
    return root


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    base = tmp_path_factory.mktemp("cal_subset")
    train = _write(base / "train", {"Good Parts": 16, "Crack": 8, "pit": 8}, 0)
    full = _write(base / "cal", {"Good Parts": 12, "Crack": 3, "pit": 3}, 1)
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(
        width=8, head_dim=16, image_size=32, good_class="Good Parts", val_fraction=0.3, train=fast
    )
    inspector.fit(train, run_dir=base / "run")
    return base, full, inspector


def test_good_photos_alone_calibrate_a_class_folder_model(fitted):
    base, full, inspector = fitted
    good = base / "good_only"
    shutil.copytree(full / "Good Parts", good / "Good Parts")
    inspector.calibrate(good, target_frr=0.3, review_rate=0.1, progress=False)
    got = inspector.thresholds
    # Reference: the thresholds the full set's good items give (defects set none).
    items = read_items(full, good_class="Good Parts")
    probs, _ = inspector.score(items, progress=False, heatmaps=False)
    scores = probs[["score_Crack", "score_pit"]].to_numpy(float)
    labels = items.label_matrix()
    ref = calibrate_thresholds(scores, labels, ("Crack", "pit"), 0.3, 0.1)
    assert got.n_good == 12
    np.testing.assert_allclose(got.reject, ref.reject, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.review, ref.review, rtol=0, atol=1e-12)
    assert inspector.metrics["calibration"]["n_items"] == 12


def test_a_calibration_set_without_a_rare_class_keeps_the_model_classes(fitted):
    base, full, inspector = fitted
    subset = base / "no_pit"
    shutil.copytree(full, subset)
    shutil.rmtree(subset / "pit")
    inspector.calibrate(subset, target_frr=0.3, review_rate=0.1, progress=False)
    metrics = inspector.metrics["calibration"]
    assert metrics["n_items"] == 15
    assert metrics["auroc"]["pit"] is None  # no pit here, not a misaligned label
    assert metrics["catch_rate"]["Crack"]["positives"] == 3
    assert "pit" not in metrics["catch_rate"]


def test_a_folder_that_is_not_a_model_class_is_refused(fitted):
    base, full, inspector = fitted
    other = base / "dent"
    shutil.copytree(full, other)
    (other / "pit").rename(other / "dent")
    with pytest.raises(ValueError, match=r"\['dent'\] are not classes of the model"):
        inspector.calibrate(other, target_frr=0.3, progress=False)
