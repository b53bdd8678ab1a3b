"""plan, parametric forecasts: a lead time of mean 0 is 0 days whatever its std, as the
quantile and sample-path forms and the simulation read it (a lead time is never negative).
The moments added d^2 sL^2 for it: 0 +- 2 days at 10 a day planned a reorder point of 32.9
for no lead-time demand, and with a 7-day review 115 where the review's demand needs 100.8."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kernels import Policy, plan


@pytest.mark.parametrize("shape", ["normal", "gamma", "negbin"])
def test_a_zero_mean_lead_time_plans_as_no_lead_time(shape):
    keys = pd.DataFrame({"item_id": ["a", "b"], "location_id": "FC1"})
    forecast = keys.assign(demand_mean=10.0, demand_std=3.0)
    inventory = keys.assign(
        on_hand=0.0, lead_time_mean=0.0, lead_time_std=2.0, review_period=[0.0, 7.0]
    )
    policy = Policy(service_level=0.95, service_type="cycle", shape=shape)
    got = plan(forecast, inventory, policy)
    fixed = plan(forecast, inventory.assign(lead_time_std=0.0), policy)
    assert got["reorder_point"].to_numpy() == pytest.approx(fixed["reorder_point"].to_numpy())
    assert got["reorder_point"].iat[0] == 0.0
    if shape == "normal":  # independent reference: 7 days of demand, normal
        want = 70.0 + stats.norm.ppf(0.95) * 3.0 * np.sqrt(7.0)
        assert got["reorder_point"].iat[1] == pytest.approx(want)
    assert got["lead_time_std"].tolist() == [2.0, 2.0]  # reported as given
