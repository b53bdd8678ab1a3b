"""A defect class spread over several label combinations, each too small to hold a row out,
must still have a positive in the validation split when its positives call for one."""

from __future__ import annotations

import numpy as np

from vision.items import stratified_split


def test_a_class_spread_over_combinations_keeps_a_validation_positive():
    labels = np.zeros((60, 4))
    labels[40:50, 0] = 1  # 10 items with damage alone; 40 good items above
    # wrong_color on 8 items, each in a different combination of the classes
    combos = [(1,), (1, 0), (1, 3), (1, 2), (1, 0, 3), (1, 2, 3), (1, 0, 2), (1, 0, 2, 3)]
    for row, combo in enumerate(combos):
        labels[50 + row, list(combo)] = 1
    labels[58:60, 3] = 1
    for seed in range(5):
        keep, held = stratified_split(labels, 0.2, seed)
        assert sorted([*keep, *held]) == list(range(60))
        # round(0.2 * 8) = 2 positives would be held out if it were a stratum of its own
        assert labels[held, 1].sum() >= 1, f"seed {seed}: no wrong_color item in validation"
        assert (labels[keep] >= 0.5).any(axis=0).all()  # every class still trains


def test_random_multi_label_sets():
    # Brute force over random label matrices: every class whose positives call for a held-out
    # row (round(fraction * positives) >= 1) gets one, and no class loses its last training row.
    rng = np.random.default_rng(1)
    for trial in range(300):
        n = int(rng.integers(40, 200))
        labels = (rng.random((n, 4)) < rng.uniform(0.01, 0.35, size=4)).astype(float)
        keep, held = stratified_split(labels, 0.2, trial)
        for k in range(4):
            positives = int(labels[:, k].sum())
            if min(round(0.2 * positives), positives - 1) >= 1:
                assert labels[held, k].sum() >= 1, (trial, k, positives)
            if positives:
                assert labels[keep, k].sum() >= 1, (trial, k, positives)
