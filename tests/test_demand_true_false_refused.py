"""A demand of true/false is not a number of units sold: /v1/forecast (and /v1/plan's series)
read a JSON row's "demand": true as 1 (a CSV column pandas parsed as booleans as 1/0) and
answered 200, where the planning tables refuse true/false cells as not numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.spec import PanelSpec
from forecasting.validate import PanelError, validate_panel


def _panel(demand) -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=len(demand))
    demand = pd.Series(demand, dtype=object)
    return pd.DataFrame({"item_id": "A", "location_id": "F", "date": dates, "demand": demand})


SPEC = PanelSpec(static_categoricals=(), known_categoricals=(), calendar=False)


@pytest.mark.parametrize("flag", [True, False, np.True_])
def test_boolean_demand_among_numbers_is_refused(flag):
    with pytest.raises(PanelError, match="demand") as caught:
        validate_panel(_panel([3.0, flag, 2.0, 1.0]), SPEC)
    assert "row 1" in caught.value.for_request()


def test_a_boolean_demand_column_is_refused():
    frame = _panel([True, False, True, True]).astype({"demand": bool})
    with pytest.raises(PanelError, match="demand"):
        validate_panel(frame, SPEC)


def test_numbers_and_future_rows_still_pass():
    clean, _ = validate_panel(_panel([3, 0.0, 2.5, None]), SPEC, history=False)
    assert clean["demand"].tolist()[:3] == [3.0, 0.0, 2.5]
