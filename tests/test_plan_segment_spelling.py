"""An inventory segment spelled like a --segment-levels name but for spaces or case (an ERP's
padded ``"A "``, a lower-case ``a``) is refused, as lead-time records spelled so are: it took the
policy's service level without a word (reorder point 80.2 where segment A's 99% asks 88.5)."""

import numpy as np
import pytest
from scipy import stats

from kernels import Policy, plan
from kernels.io import read_table

POLICY = Policy(service_level=0.9, segment_service_levels={"A": 0.99, "C": 0.5})


def _plan(tmp_path, segment: str):
    inv = tmp_path / "inventory.csv"
    inv.write_text(
        "item_id,location_id,on_hand,lead_time_mean,lead_time_std,segment\n"
        f'A,FC1,0,7,0,"{segment}"\nB,FC1,0,7,0,C\nD,FC1,0,7,0,Z\n'
    )
    fc = tmp_path / "forecast.csv"
    fc.write_text(
        "item_id,location_id,demand_mean,demand_std\nA,FC1,10,3\nB,FC1,10,3\nD,FC1,10,3\n"
    )
    keys = ("item_id", "location_id", "segment")
    return plan(read_table(fc, text=keys), read_table(inv, text=keys), POLICY)


def test_exact_segment_reads_its_level(tmp_path):
    result = _plan(tmp_path, "A")
    # Normal lead-time demand over 7 days: mean 70, sd 3 * sqrt(7).
    expected = 70 + stats.norm.ppf(0.99) * 3 * np.sqrt(7)
    assert result["reorder_point"].iloc[0] == pytest.approx(expected, rel=1e-6)
    # a segment no level names (Z) takes the policy's level, as before
    assert result["reorder_point"].iloc[2] == pytest.approx(
        70 + stats.norm.ppf(0.9) * 3 * np.sqrt(7), rel=1e-6
    )


@pytest.mark.parametrize("segment", ["A ", " A", "a"])
def test_segment_spelled_otherwise_is_refused(tmp_path, segment):
    with pytest.raises(ValueError, match="segment: .* spelled like the segment 'A'"):
        _plan(tmp_path, segment)
