"""A static categorical whose one level is spelled 1, "1" and 1.0 across a series' rows (JSON rows
to the service, a history from a database beside future rows from a spreadsheet) is one level,
as the known categoricals and the keys already read it: not refused as changing within the
series, and coded as the run learnt it."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting import PanelSpec
from forecasting.store import PanelStore
from forecasting.validate import PanelError, validate_panel

SPEC = PanelSpec(freq="D", static_categoricals=("dept",), known_categoricals=("event",))


def panel(depts: list) -> pd.DataFrame:
    n = len(depts)
    return pd.DataFrame(
        {
            "item_id": "A",
            "location_id": "FC1",
            "date": pd.date_range("2024-01-01", periods=n, freq="D"),
            "demand": [2.0] * (n - 1) + [np.nan],
            "dept": pd.Series(depts, dtype=object),
            "event": pd.Series([1, "1", None, ""] * (n // 4), dtype=object),
        }
    )


@pytest.mark.parametrize("categories", [False, True])
def test_one_level_in_several_spellings_is_constant_and_coded_as_trained(categories):
    clean, trained = validate_panel(panel([1] * 8), SPEC, categories=categories)
    vocab = PanelStore.from_frame(clean, SPEC.with_freq(trained.freq)).vocab
    mixed, report = validate_panel(panel([1, "1", 1.0, 1] * 2), SPEC, categories=categories)
    assert list(mixed["dept"].astype(str)) == ["1"] * 8
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unseen level would warn
        store = PanelStore.from_frame(mixed, SPEC.with_freq(report.freq), vocab=vocab)
    assert store.static_cat[:, store.static_cat_names.index("dept")].tolist() == [
        vocab["dept"].index("1") + 1
    ]
    # The empty text, "" and None are one missing level of the event.
    assert sorted(set(mixed["event"].astype(str))) == ["1", "<NA>"]


def test_a_static_level_that_does_change_is_still_refused():
    with pytest.raises(PanelError, match="static covariate changes within a series"):
        validate_panel(panel([1, 2, 1, 1] * 2), SPEC)
