"""A whole number in a float categorical reads as one level whatever other levels the table
holds: a prediction table without the fractions, or with a new item's fraction, keeps every
trained level known (a float static categorical such as a pack size)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from forecasting import PanelSpec
from forecasting.store import UNKNOWN, PanelStore
from forecasting.validate import validate_panel

SPEC = PanelSpec(freq="D", static_categoricals=("pack_size",))


def panel(packs: dict[str, float]) -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=30, freq="D")
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "item_id": item,
                    "location_id": "FC1",
                    "date": dates,
                    "demand": 2.0,
                    "pack_size": pack,
                }
            )  # fmt: skip
            for item, pack in packs.items()
        ],
        ignore_index=True,
    )


def pack_codes(frame: pd.DataFrame, vocab=None) -> tuple[dict[str, int], dict]:
    clean, _ = validate_panel(frame, SPEC, categories=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unseen level would warn
        store = PanelStore.from_frame(clean, SPEC, vocab=vocab)
    column = store.static_cat_names.index("pack_size")
    codes = store.static_cat[:, column].numpy()
    return dict(zip(store.keys["item_id"], codes.tolist(), strict=True)), store.vocab


def test_a_whole_float_level_is_known_without_the_columns_fractions():
    trained, vocab = pack_codes(panel({"A": 0.5, "B": 1.0, "C": 2.0}))
    assert UNKNOWN not in trained.values()
    # The same items, without the one whose pack is a fraction: the same codes.
    again, _ = pack_codes(panel({"B": 1.0, "C": 2.0}), vocab=vocab)
    assert again == {"B": trained["B"], "C": trained["C"]}


def test_a_new_items_fraction_leaves_the_known_levels_known():
    trained, vocab = pack_codes(panel({"B": 1.0, "C": 2.0}))
    frame = panel({"B": 1.0, "C": 2.0, "NEW": 0.5})
    clean, _ = validate_panel(frame, SPEC, categories=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store = PanelStore.from_frame(clean, SPEC, vocab=vocab)
    codes = dict(zip(store.keys["item_id"], store.static_cat[:, 2].numpy().tolist(), strict=True))
    assert codes["B"] == trained["B"] and codes["C"] == trained["C"]
    assert codes["NEW"] == UNKNOWN
    assert "pack_size: ['0.5']" in str(caught[0].message)


def test_a_vocabulary_saved_with_whole_floats_as_x_point_0_still_knows_them():
    vocab = {"item_id": ["B", "C"], "location_id": ["FC1"], "pack_size": ["0.5", "1.0", "2.0"]}
    codes, _ = pack_codes(panel({"B": 1.0, "C": 2.0}), vocab=vocab)
    assert codes == {"B": 2, "C": 3}
    assert np.all(np.array(list(codes.values())) != UNKNOWN)
