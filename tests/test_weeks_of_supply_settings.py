"""WeeksOfSupply settings are checked at the boundary, naming the argument.

Before: ``weeks=True`` ran as 1 week, ``weeks=1e308`` ordered infinite stock (7 W overflowed;
avg_on_hand inf), ``weeks="2"`` stopped in NumPy's words (TypeError), ``max_weeks=True`` searched
0..1 week, ``window=10**12`` filled memory (MemoryError: the days before the history were
materialized), ``review_days=2**64`` an OverflowError. A window longer than the history still
averages the prior rate over the days before it, checked against a brute-force sum.
"""

import numpy as np
import pandas as pd
import pytest

from kernels import Policy, plan
from kernels.simulation import WeeksOfSupply, _prepare, _trailing_rate, simulate

FORECAST = pd.DataFrame({"item_id": ["sku1", "sku2"], "location_id": "FC1",
                         "demand_mean": [10.0, 4.0], "demand_std": [3.0, 2.0]})  # fmt: skip
INVENTORY = FORECAST[["item_id", "location_id"]].assign(
    on_hand=[60.0, 40.0], lead_time_mean=4.0, review_period=[0, 7], daily_demand=[9.0, 3.5]
)
DAILY = np.array([[8, 12, 10, 9, 14, 7, 10.0] * 3, [4, 2, 9, 4, 0, 3, 6.0] * 3])
DEMAND = pd.DataFrame({
    "item_id": np.repeat(["sku1", "sku2"], 21), "location_id": "FC1",
    "day": np.tile(np.arange(21), 2), "demand": DAILY.ravel(),
})  # fmt: skip


@pytest.mark.parametrize(
    "setting",
    [{"weeks": True}, {"weeks": "2"}, {"weeks": 1e308}, {"weeks": float("inf")},
     {"max_weeks": True}, {"max_weeks": float("inf")}, {"max_weeks": "9"},
     {"tolerance": "0.01"}, {"window": 10**12}, {"review_days": 2**64}],
)  # fmt: skip
def test_bad_settings_are_refused_by_name(setting):
    (name,) = setting
    with pytest.raises(ValueError, match=rf"^WeeksOfSupply\.{name}: expected"):
        WeeksOfSupply(**setting)


def test_good_settings_still_run():
    p = plan(FORECAST, INVENTORY, Policy(service_level=0.95))
    for rule in (WeeksOfSupply(weeks=2), WeeksOfSupply(weeks=np.float64(1.5), window=365)):
        out = simulate(p, DEMAND, inventory=INVENTORY, rule=rule)
        assert np.isfinite(out.metrics["avg_on_hand"]).all()


@pytest.mark.parametrize("window, start", [(5, 0), (28, 0), (28, 10), (400, 7), (10, 10)])
def test_trailing_rate_against_a_brute_force_sum(window, start):
    p = plan(FORECAST, INVENTORY, Policy(service_level=0.95))
    setup = _prepare(p, DEMAND, None, INVENTORY, None, 0, True, start)
    got = _trailing_rate(setup, window)
    prior = np.array([9.0, 3.5])  # the daily_demand column: the rate before the first day
    for k in range(2):
        for t in range(21 - start):
            end = start + t + 1  # days [end - window, end) of the full table
            total = sum(DAILY[k, d] if d >= 0 else prior[k] for d in range(end - window, end))
            assert got[k, t] == pytest.approx(total / window, rel=1e-12)
