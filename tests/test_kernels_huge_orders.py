"""(R, S) and (s, S) orders of 2**63 case packs or more were negative: Numba's math.ceil is an
int64 and wrapped (an order up to 1e19, an MOQ of 1e20, a tiny case pack)."""

import numpy as np
import pandas as pd
import pytest

from kernels import Policy, plan
from kernels._simulate import order_quantity
from kernels.config import RULE_RS, RULE_SS
from kernels.policies.orders import order_quantities


@pytest.mark.parametrize(
    "order_up_to, case_pack, moq, expected",
    [(1e19, 1.0, 0.0, 1e19), (10.0, 1e-18, 0.0, 10.0), (10.0, 1.0, 1e20, 1e20),
     (3e20, 1.0, 0.0, 3e20)],
)  # fmt: skip
def test_order_up_to_quantities_past_int64_stay_positive(order_up_to, case_pack, moq, expected):
    for rule in ("RS", "sS"):
        got = order_quantities(
            [0.0], rule=rule, reorder_point=[5.0], order_up_to=[order_up_to],
            case_pack=[case_pack], moq=[moq],
        )  # fmt: skip
        np.testing.assert_allclose(got, [expected], rtol=1e-12)
    for code in (RULE_RS, RULE_SS):
        got = order_quantity(code, 5.0, order_up_to, np.nan, 0.0, case_pack, moq)
        assert got == pytest.approx(expected, rel=1e-12)


def test_a_periodic_plan_of_huge_demand_orders_up_to_its_level():
    fc = pd.DataFrame({"item_id": ["A"], "location_id": ["L"], "demand_mean": [1e19],
                       "demand_std": [4e9]})  # fmt: skip
    inv = pd.DataFrame({"item_id": ["A"], "location_id": ["L"], "on_hand": [0.0],
                        "lead_time_mean": [2.0], "review_period": [7.0]})  # fmt: skip
    row = plan(fc, inv, Policy()).iloc[0]
    assert row["order_qty"] > 0
    assert row["order_qty"] == pytest.approx(np.ceil(row["order_up_to"]), rel=1e-12)


def test_a_negbin_plan_of_a_mean_past_the_count_laws_precision_is_refused():
    """A negative binomial plan of demand 1e19 never returned (its quantile search could not
    step between floats); past 1e10 the count law loses its digits, so such means are refused
    by name, and a mean just inside is still planned at its quantile (scipy's)."""
    from scipy import stats

    fc = pd.DataFrame({"item_id": ["A"], "location_id": ["L"], "demand_mean": [1e19],
                       "demand_std": [4e9]})  # fmt: skip
    inv = pd.DataFrame({"item_id": ["A"], "location_id": ["L"], "on_hand": [0.0],
                        "lead_time_mean": [2.0]})  # fmt: skip
    with pytest.raises(ValueError, match=r"mean_a: mean above 1e\+10 units.*'gamma'"):
        plan(fc, inv, Policy(shape="negbin"))
    mean, var = 4e9, 8e9  # two days of 2e9 +- 4e4.47...: a negative binomial with r = 4e9
    fc["demand_mean"], fc["demand_std"] = mean / 2, np.sqrt(var / 2)
    row = plan(fc, inv, Policy(shape="negbin", service_level=0.95)).iloc[0]
    r, p = mean**2 / (var - mean), mean / var
    assert row["reorder_point"] == pytest.approx(stats.nbinom.ppf(0.95, r, p), abs=1.0)
