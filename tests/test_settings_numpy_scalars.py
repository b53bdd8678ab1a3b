"""NumPy scalars are numbers to the settings dataclasses (kernels.settings.bound_problem).

The type check takes any real number (``numbers.Real``: ``np.int64(7)`` is a whole number),
but the bounds check refused every NumPy scalar but float64 with the contradiction
"expected a number, got np.int64(7)": a horizon, seed or service level computed with NumPy
stopped ``Policy``, ``ForecastConfig`` and ``BacktestConfig``.
"""

import math

import numpy as np
import pytest

from forecasting.config import BacktestConfig, ForecastConfig
from kernels import Policy


def test_numpy_scalars_within_bounds_are_accepted():
    policy = Policy(seed=np.int64(3), service_level=np.float32(0.9), step_days=np.int64(7))
    assert policy.seed == 3 and policy.step_days == 7
    assert math.isclose(policy.service_level, 0.9, rel_tol=1e-6)
    assert ForecastConfig(horizon=np.int64(7), ensemble=np.int32(2)).horizon == 7
    assert BacktestConfig(origins=np.int32(2), step=np.int64(4)).origins == 2


def test_numpy_scalars_outside_bounds_are_still_refused():
    with pytest.raises(ValueError, match="horizon: expected >= 1, got"):
        ForecastConfig(horizon=np.int64(0))
    with pytest.raises(ValueError, match="service_level: expected < 1"):
        Policy(service_level=np.float32(1.0))
    with pytest.raises(ValueError, match="step_days: expected a number"):
        Policy(step_days=np.float32("nan"))
    with pytest.raises(ValueError, match="step_days: expected a finite number"):
        Policy(step_days=np.float64("inf"))
