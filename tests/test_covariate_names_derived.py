"""A covariate named like an input the networks derive is refused, as a categorical named like
a calendar feature is: a known real 'month' (daily calendar on) or an observed real 'observed'
(the demand's observation flag) gave a TFT's importance table two rows of one name."""

import numpy as np
import pandas as pd
import pytest

from forecasting.spec import PanelSpec
from forecasting.store import PanelStore
from forecasting.validate import PanelError, validate_panel


def _table(column: str) -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=30, freq="D")
    return pd.DataFrame(
        {"item_id": "A", "location_id": "L", "date": dates,
         "demand": np.arange(30.0) % 5, column: np.arange(30.0)}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("role", "column"),
    [
        ("known_reals", "month"),
        ("observed_reals", "day_of_week"),
        ("static_reals", "day_of_month"),
        ("observed_reals", "observed"),
        ("known_reals", "seasonal_lag"),
        ("static_reals", "log_scale"),
        ("known_reals", "target"),
    ],
)
def test_covariate_with_a_derived_name_is_refused(role, column):
    spec = PanelSpec(freq="D", **{role: (column,)})
    table = _table(column)
    if role == "static_reals":
        table[column] = 1.0  # constant within the series
    clean, report = validate_panel(table, spec)
    with pytest.raises(PanelError, match=f"^{column}: a .* has the name of"):
        PanelStore.from_frame(clean, spec)


def test_calendar_name_allowed_without_calendar():
    spec = PanelSpec(freq="D", known_reals=("month",), calendar=False)
    clean, _ = validate_panel(_table("month"), spec)
    store = PanelStore.from_frame(clean, spec)
    assert store.known_real[0].names == ("month",)
    assert "month" not in store.known_cat_names


def test_a_run_fitted_before_the_refusal_still_forecasts():
    """The names are refused when a model is to be fitted; a store built for a run fitted
    before (its vocabulary given) still reads such a column, so old runs keep forecasting."""
    spec = PanelSpec(freq="D", known_reals=("month",), observed_reals=("observed",))
    table = _table("month").assign(observed=1.0)
    clean, _ = validate_panel(table, spec)
    fitted = PanelStore.from_frame(clean, PanelSpec(freq="D"))
    store = PanelStore.from_frame(clean, spec, vocab=fitted.vocab)
    assert store.known_real[0].names == ("month",)
