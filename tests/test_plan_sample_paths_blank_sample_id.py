"""A blank sample id in a sample-path forecast is a sample of its own (as allocate() reads it).

pandas' factorize gave it the code -1, which indexed the last path: key A's samples (blank, 5)
both wrote path 1, its path 0 stayed empty, and the plan refused A for "missing or non-numeric
value" in demand, a column with every value present.
"""

import numpy as np
import pandas as pd
import pytest

from kernels import Policy, plan


def _inventory(items):
    return pd.DataFrame(
        {"item_id": items, "location_id": "F", "on_hand": 0.0, "lead_time_mean": 1.0}
    )


def test_blank_sample_id_does_not_overwrite_another_path():
    forecast = pd.DataFrame(
        {"item_id": ["A", "A", "B", "B"], "location_id": "F", "sample": [np.nan, 5, 0, 5],
         "step": 1, "demand": [1.0, 2.0, 3.0, 4.0]}
    )  # fmt: skip
    # A and B hold different sample ids: the paths are not the same per key.
    with pytest.raises(ValueError, match="same 3 samples") as err:
        plan(forecast, _inventory(["A", "B"]), Policy())
    assert "non-numeric" not in str(err.value)


def test_blank_sample_id_is_a_path_when_every_key_has_it():
    demand = [4.0, 1.0, 2.0, 3.0]
    forecast = pd.DataFrame(
        {"item_id": "A", "location_id": "F", "sample": [np.nan, 0, 1, 2], "step": 1,
         "demand": demand}
    )  # fmt: skip
    named = forecast.assign(sample=[3, 0, 1, 2])
    policy = Policy(service_level=0.9, service_type="cycle")
    got = plan(forecast, _inventory(["A"]), policy)
    want = plan(named, _inventory(["A"]), policy)
    pd.testing.assert_frame_equal(got, want)
    assert got["reorder_point"].iat[0] == 4.0
