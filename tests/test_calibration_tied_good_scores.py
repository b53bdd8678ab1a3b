"""A class whose good calibration scores all tie (a constant or saturated head, or copies of one
photo) must get a threshold above that score, as README promises ("the thresholds sit above
every good score"): it used to be the tied score itself, so the float rounding that differs
between torch and onnxruntime (parity 1e-4) rejected every good item at the station."""

import numpy as np

from vision.calibration import calibrate_thresholds, verdicts


def _rejected(scores, th):
    return (np.array(verdicts(scores, th)[0]) == "reject").mean()


def test_a_tied_class_threshold_sits_above_its_good_scores():
    rng = np.random.default_rng(0)
    for n, achievable in ((300, True), (20, False)):
        good = rng.beta(2, 8, size=(n, 2))
        good[:, 0] = 0.25  # every good item scores the same on class "a"
        th = calibrate_thresholds(good, np.zeros_like(good), ["a", "b"], 0.05, 0.05)
        assert th.achievable is achievable
        assert th.reject[0] > 0.25 and th.review[0] > 0.25 and th.reject[0] < 1
        # the station's engine rounds differently from the one that calibrated: same verdicts
        rounded = good * (1 + 1e-7)
        assert _rejected(rounded, th) == _rejected(good, th) <= 0.05


def test_a_score_of_zero_below_the_top_keeps_the_threshold_under_one():
    """The largest good score, with 0.0 the only score below it: the tenth of an infinite
    logit gap put the threshold at 1, which no score exceeds (the class never rejected)."""
    good = np.zeros((10, 1))
    good[-1, 0] = 0.4
    th = calibrate_thresholds(good, np.zeros_like(good), ["a"], 0.05, 0.0)
    assert not th.achievable
    assert 0.4 < th.reject[0] < 0.5
