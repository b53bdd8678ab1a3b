"""Thresholds read from a run or package manifest (or built by a caller and given to score) must
be probabilities: a NaN (JSON NaN or null) reject threshold is never exceeded, so its class
passed every item; true read as 1 (never reject), "0.5" as 0.5, and -1 rejected every item."""

import math

import numpy as np
import pytest

from vision.calibration import Thresholds, verdicts

CLASSES = ("damage", "packaging")


def _entry(reject, review=0.3):
    return {
        "target_frr": 0.01,
        "review_rate": 0.04,
        "n_good": 100,
        "calibration_frr": 0.0,
        "calibration_review_rate": 0.0,
        "classes": {
            "damage": {"reject": reject, "review": review},
            "packaging": {"reject": 0.5, "review": 0.3},
        },
    }


@pytest.mark.parametrize(
    "bad", [float("nan"), None, float("inf"), -float("inf"), True, "0.5", 2.0, -1.0, [0.5]]
)
def test_a_manifest_threshold_that_is_no_probability_is_refused(bad):
    with pytest.raises(ValueError, match="damage"):
        Thresholds.from_dict(_entry(bad), CLASSES)


@pytest.mark.parametrize("bad", [float("nan"), 1.5, -0.1])
def test_a_review_threshold_that_is_no_probability_is_refused(bad):
    with pytest.raises(ValueError, match="review of class 'damage'"):
        Thresholds.from_dict(_entry(0.5, review=bad), CLASSES)


def test_thresholds_given_by_a_caller_are_checked():
    with pytest.raises(ValueError, match="reject of class 'damage'"):
        Thresholds(CLASSES, np.array([math.nan, 0.5]), np.array([0.3, 0.3]), 0.01, 0.04, 100, 0, 0)
    with pytest.raises(ValueError, match="one value per class"):
        Thresholds(CLASSES, np.array([0.5]), np.array([0.3]), 0.01, 0.04, 100, 0, 0)


def test_valid_thresholds_still_decide():
    thresholds = Thresholds.from_dict(_entry(0.5), CLASSES)
    edges = Thresholds.from_dict(_entry(1.0, review=0.0), CLASSES)  # the ends of [0, 1]
    assert edges.reject.tolist() == [1.0, 0.5]
    out, reasons = verdicts(np.array([[0.99, 0.1], [0.4, 0.1], [0.1, 0.1]]), thresholds)
    assert out == ["reject", "review", "pass"]
    assert reasons[0] == "damage"
