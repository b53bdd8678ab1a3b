"""Unknown (NaN) labels in the calibration report: calibrate_thresholds leaves such items out
(they are not good), and so must the AUROCs, the good-rejected share and the per-class AUROC.
Before the fix they were counted as good items (negatives) everywhere in the report."""

import numpy as np
import pytest
from visiontools import pair_auroc

from vision.calibration import calibrate_thresholds
from vision.metrics import per_class_auroc
from vision.scoring import calibration_metrics


def _data():
    rng = np.random.default_rng(3)
    good = rng.random((60, 2)) * 0.5
    bad = 0.3 + 0.7 * rng.random((20, 2))
    unknown = 0.9 + 0.1 * rng.random((15, 2))  # unlabelled (in fact defective): high scores
    probs = np.vstack([good, bad, unknown])
    labels = np.vstack([np.zeros((60, 2)), np.tile([1.0, 0.0], (20, 1)), np.full((15, 2), np.nan)])
    return probs, labels


def test_unknown_labels_are_left_out_of_the_calibration_report():
    probs, labels = _data()
    thresholds = calibrate_thresholds(probs, labels, ("a", "b"), 0.1, 0.1)
    assert thresholds.n_good == 60
    got = calibration_metrics(probs, labels, thresholds)
    known = slice(0, 80)
    defective = labels[known].any(axis=1)
    any_score = 1 - np.prod(1 - probs[known], axis=1)
    rejected = (probs[:60] > thresholds.reject).any(axis=1)
    assert got["any_defect_auroc"] == pytest.approx(pair_auroc(defective, any_score))
    assert got["auroc"]["a"] == pytest.approx(pair_auroc(labels[known, 0], probs[known, 0]))
    assert got["auroc"]["b"] is None  # no known positive of class b
    assert got["good_rejected"] == pytest.approx(rejected.mean())
    assert got["catch_rate"]["a"]["positives"] == 20


def test_a_known_defect_with_another_class_unknown_is_still_defective():
    probs = np.array([[0.9, 0.1], [0.2, 0.3], [0.1, 0.2], [0.3, 0.1], [0.95, 0.9]])
    labels = np.array([[1, np.nan], [0, 0], [0, 0], [0, 0], [np.nan, np.nan]])
    assert per_class_auroc(labels, probs, ("a", "b")) == {
        "a": pytest.approx(pair_auroc([1, 0, 0, 0], probs[:4, 0])),
        "b": pytest.approx(float("nan"), nan_ok=True),
    }
    thresholds = calibrate_thresholds(probs, labels, ("a", "b"), 0.3, 0.0)
    got = calibration_metrics(probs, labels, thresholds)
    assert got["any_defect_auroc"] == pytest.approx(1.0)  # the unknown row is not a good item
    assert got["good_rejected"] == pytest.approx(0.0)
