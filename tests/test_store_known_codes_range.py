"""Known categorical codes given to ``PanelStore.from_arrays`` must be codes of their own
column: 0 (unknown) to the number of levels of its vocabulary. The networks look every column
up in one table that holds the columns' levels side by side, so a code past its column's
levels (or -1, pandas' code of a missing value) read another column's embedding silently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import PanelSpec
from forecasting.store import PanelStore
from forecasting.validate import PanelError

S, T = 2, 20
VOCAB = {"promo": ["0", "1"], "event": ["none", "xmas", "easter"]}


def _store(promo: int, event: int) -> PanelStore:
    dates = pd.date_range("2024-01-01", periods=T, freq="D")
    target = np.full((S, T), np.nan, np.float32)
    target[:, :15] = 4.0
    keys = pd.DataFrame({"item_id": ["a", "b"], "location_id": "L"})
    spec = PanelSpec(freq="D", known_categoricals=("promo", "event"), calendar=False)
    promo_codes = np.ones((S, T, 1), np.int32)
    promo_codes[0, 16] = promo
    event_codes = np.ones((1, T, 1), np.int32)
    event_codes[0, 17] = event
    return PanelStore.from_arrays(
        spec, dates, target, keys,
        known_cat=[(promo_codes, None), (event_codes, np.zeros(S, dtype=np.int64))],
        vocab=VOCAB, learn_vocab=True,
    )  # fmt: skip


def test_codes_of_the_vocabulary_are_taken():
    store = _store(promo=2, event=3)  # the last level of each
    assert store.cardinalities["promo"] == 3 and store.cardinalities["event"] == 4
    _store(promo=0, event=0)  # unknown


@pytest.mark.parametrize(
    ("promo", "event", "column"),
    [(3, 1, "promo"), (-1, 1, "promo"), (1, 4, "event"), (1, -1, "event")],
)
def test_a_code_outside_its_column_is_refused(promo, event, column):
    with pytest.raises(PanelError, match=f"^{column}: codes"):
        _store(promo=promo, event=event)
