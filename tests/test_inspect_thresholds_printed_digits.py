"""`stockcast inspect train` / `calibrate` print each class's reject and review thresholds. They
were printed with four decimals: a confident model's thresholds near 0 (reject 3.2e-05, review
1.1e-05) both printed 0.0000, which reads as "every score above 0 is rejected" and hides which
threshold is which. The printed values must read back as the thresholds the run holds."""

import re

import numpy as np

from serving.cli.inspect import _print_metrics
from vision.calibration import Thresholds


def test_printed_thresholds_read_back_as_the_thresholds(capsys):
    thresholds = Thresholds(
        class_names=("damage", "wrong_color"),
        reject=np.array([3.2e-05, 0.54161]),
        review=np.array([1.1e-05, 0.5402]),
        target_frr=0.01,
        review_rate=0.04,
        n_good=600,
        calibration_frr=0.01,
        calibration_review_rate=0.04,
    )
    _print_metrics({}, thresholds)
    printed = capsys.readouterr().out
    for k, name in enumerate(thresholds.class_names):
        line = next(x for x in printed.splitlines() if x.strip().startswith(name))
        reject, review = (float(v) for v in re.findall(r"> (\S+)", line))
        # read back within 0.1% of the thresholds held (the reference: the Thresholds object)
        assert np.isclose(reject, thresholds.reject[k], rtol=1e-3, atol=0)
        assert np.isclose(review, thresholds.review[k], rtol=1e-3, atol=0)
        assert reject > review > 0
