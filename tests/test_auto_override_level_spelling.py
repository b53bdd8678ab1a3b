"""``auto``'s per-segment overrides against a table that spells a level otherwise.

A float static categorical (pack sizes 1, 1.5, 2) reads ``1.0`` in a table that holds a 1.5 and
``1`` in one that does not; the vocabulary matches the two (the item keeps its embedding), but
an override recorded for segment ``1.0`` was compared as raw text: forecasting the same items
from a table without the 1.5 pack sent the pack-1 series to the per-class choice instead of the
override's model. The same item's forecast must not depend on another item's pack size."""

import numpy as np

from forecasting import Forecaster
from forecasting.spec import PanelSpec
from forecasting.synthetic import generate_network
from training import TrainConfig


def test_an_override_holds_for_a_level_spelled_as_a_whole_number(tmp_path):
    net = generate_network(n_items=8, n_locations=1, n_days=200, seed=7)
    frame = net.to_frame()[["item_id", "location_id", "date", "demand"]]
    items = sorted(frame["item_id"].unique())
    packs = dict(zip(items, [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.5]))
    frame["pack"] = frame["item_id"].map(packs)
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=16, progress_bar=False)
    forecaster = Forecaster(
        "auto", 7, spec=PanelSpec(static_categoricals=("pack",)), train=train, hidden_size=8,
        auto_distributions=("quantile",),
    )  # fmt: skip
    forecaster.fit(frame, run_dir=tmp_path / "run")
    # An override as fit records one: the segment's text in the training table ("1.0").
    forecaster.model_.overrides = [
        {"segment_type": "pack", "segment": "1.0", "model": "seasonal_naive"}
    ]
    full = forecaster.predict(frame)
    without = forecaster.predict(frame[frame["pack"] != 1.5])  # pack reads 1 and 2 here
    # Reference: seasonal naive repeats the last season (7 days) of each series' demand.
    for item in items[:4]:
        history = frame[frame["item_id"] == item].sort_values("date")["demand"].to_numpy()
        expected = history[-7:]
        for table in (full, without):
            got = table[table["item_id"] == item].sort_values("step")["q0.5"].to_numpy()
            np.testing.assert_allclose(got, expected, atol=1e-6)
