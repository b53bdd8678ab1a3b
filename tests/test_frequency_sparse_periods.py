"""Quarterly / yearly panels with one period missing in every series were read as monthly; the
gap error then suggested ``--gaps zero``, which turned them into monthly panels whose two of
every three months (eleven of twelve) were zero-demand rows. They must be refused as the
complete quarterly / yearly panels are."""

import pandas as pd
import pytest

from forecasting.spec import PanelSpec
from forecasting.validate import PanelError, infer_frequency, validate_panel


def _panel(dates):
    rows = [
        {"item_id": f"i{k}", "location_id": "L", "date": d, "demand": 10.0}
        for k in range(3)
        for d in dates
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "dates",
    [
        pd.date_range("2018-03-31", periods=16, freq="QE"),
        pd.date_range("2018-01-01", periods=16, freq="QS"),
        pd.date_range("2010-01-01", periods=12, freq="YS"),
        pd.date_range("2010-12-31", periods=12, freq="YE"),
    ],
)
@pytest.mark.parametrize("gaps", ["auto", "zero"])
def test_quarterly_or_yearly_with_a_missing_period_is_refused(dates, gaps):
    with pytest.raises(PanelError):
        infer_frequency(dates)  # complete: refused
    gapped = dates.delete(5)
    with pytest.raises(PanelError, match="every (3|12) months"):
        infer_frequency(gapped)
    with pytest.raises(PanelError, match="every (3|12) months") as caught:
        validate_panel(_panel(gapped), PanelSpec(), gaps=gaps)
    assert "--gaps zero" not in str(caught.value)
    with pytest.raises(PanelError):  # nor read as months when --freq M is given
        validate_panel(_panel(gapped), PanelSpec(freq="M"), gaps=gaps)


@pytest.mark.parametrize(
    "dates",
    [
        pd.date_range("2020-01-01", periods=30, freq="MS").delete([5, 6]),
        pd.date_range("2020-01-31", periods=30, freq="ME").delete([5, 6, 7, 20]),
        pd.date_range("2020-01-01", periods=30, freq="2MS"),
        pd.date_range("2020-01-01", periods=30, freq="2MS").delete([4]),
    ],
)
def test_monthly_and_every_other_month_still_read_as_months(dates):
    assert infer_frequency(dates) == "M"
