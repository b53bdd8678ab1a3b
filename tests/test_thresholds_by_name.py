"""Thresholds given to Inspector.score keyed by class name but listed in another order than
the model's classes must hold each class to its own threshold (they were applied by position)."""

import numpy as np
import pytest

from training import ImageTrainConfig
from vision import Inspector
from vision.calibration import Thresholds
from vision.synthetic import write_synthetic_dataset


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("thr")
    tunnel = write_synthetic_dataset(folder / "tunnel", 12, image_size=32, progress=False)
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, train=fast).fit(tunnel)
    return inspector, tunnel


def _thresholds(names, reject):
    reject = np.array(reject, dtype=np.float64)
    return Thresholds(tuple(names), reject, reject.copy(), 0.01, 0.0, 100, 0.0, 0.0)


def test_thresholds_in_another_class_order_are_matched_by_name(fitted):
    inspector, tunnel = fitted
    names = inspector.class_names
    never = _thresholds(names, [1.0] * len(names))
    plain, _ = inspector.score(tunnel, progress=False, heatmaps=False, thresholds=never)
    cut = float(np.median(plain["score_damage"]))
    # damage rejects above its median score, no other class rejects: given in reversed order
    rev = names[::-1]
    reordered = _thresholds(rev, [cut if c == "damage" else 1.0 for c in rev])
    items, _ = inspector.score(tunnel, progress=False, heatmaps=False, thresholds=reordered)
    expected = np.where(plain["score_damage"] > cut, "reject", "pass")
    assert items["verdict"].tolist() == expected.tolist()
    assert set(items["reasons"]) <= {"", "damage"}


def test_thresholds_of_other_classes_are_refused(fitted):
    inspector, tunnel = fitted
    names = list(inspector.class_names)
    other = _thresholds(["scratch", *names[1:]], [0.5] * len(names))
    with pytest.raises(ValueError, match="not the model's classes"):
        inspector.score(tunnel, progress=False, heatmaps=False, thresholds=other)
