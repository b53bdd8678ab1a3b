"""vision.calibration.verdicts compares scores with thresholds by position: a one-column score
matrix was held to every class's threshold (a 'packaging' reject from a damage score), one
item's score vector read as one item per class, and a short ``complete`` cut the verdicts
short, all without a word."""

import numpy as np
import pytest

from vision.calibration import Thresholds, verdicts


@pytest.fixture
def thresholds():
    return Thresholds(
        ("damage", "packaging"), np.array([0.5, 0.9]), np.array([0.3, 0.6]), 0.01, 0.04, 100, 0, 0
    )


@pytest.mark.parametrize("scores", [np.array([[0.95], [0.2]]), np.array([0.7, 0.95])])
def test_scores_of_another_shape_are_refused(thresholds, scores):
    with pytest.raises(ValueError, match="one column per class"):
        verdicts(scores, thresholds)


def test_complete_of_another_length_is_refused(thresholds):
    with pytest.raises(ValueError, match="one value per item"):
        verdicts(np.full((3, 2), 0.1), thresholds, np.array([True]))


def test_matching_shapes_still_give_verdicts(thresholds):
    scores = np.array([[0.6, 0.1], [0.4, 0.1], [0.1, 0.1], [0.1, 0.95]])
    out, reasons = verdicts(scores, thresholds, np.array([True, True, False, True]))
    assert out == ["reject", "review", "review", "reject"]
    assert reasons == ["damage", "damage", "incomplete inspection", "packaging"]
    assert verdicts(np.zeros((0, 2)), thresholds) == ([], [])
