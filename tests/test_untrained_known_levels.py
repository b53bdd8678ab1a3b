"""Known categorical levels no training window reads (a month after a short daily history, a
promotion type found only in the future rows) must not forecast from their random initial
embedding: July read month 7's N(0, 1) initialization after a January-June history, and the
forecast moved with it (by 2% between two draws of that one row on a tiny LSTM)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import Forecaster, PanelSpec
from training import TrainConfig


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    history = pd.date_range("2024-01-01", "2024-06-30", freq="D")
    future = pd.date_range("2024-07-01", periods=7, freq="D")
    rows = []
    for s in range(4):
        for d in history:
            promo = "none" if d.day % 5 else "small"
            rows.append((f"i{s}", d, float(rng.poisson(5 + s)), promo))
        for d in future:
            rows.append((f"i{s}", d, np.nan, "big" if d.day == 3 else "none"))
    frame = pd.DataFrame(rows, columns=["item_id", "date", "demand", "promo"])
    frame.insert(1, "location_id", "L")
    return frame


@pytest.mark.filterwarnings("ignore")
def test_untrained_known_levels_read_the_trained_mean():
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False,
                        accelerator="cpu", seed=1)  # fmt: skip
    spec = PanelSpec(freq="D", known_categoricals=("promo",))
    forecaster = Forecaster("lstm", horizon=7, spec=spec, train=train, hidden_size=8,
                            encoder_length=14)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecaster.fit(_table())
    model = forecaster.model_
    names = model.dims.known_cat_names
    tables = model.net.known_embeddings.embeddings

    month = tables[names.index("month")].weight.detach()
    # Training windows read December (before the table) and January to June; not July on.
    trained = month[[1, 2, 3, 4, 5, 6, 12]]
    for level in range(7, 12):
        torch.testing.assert_close(month[level], trained.mean(dim=0))

    promo = tables[names.index("promo")].weight.detach()
    vocab = model.vocab["promo"]
    big = vocab.index("big") + 1
    # Read: the unknown code (periods before the table have no row), 'none' and 'small'.
    read = [0, vocab.index("none") + 1, vocab.index("small") + 1]
    torch.testing.assert_close(promo[big], promo[read].mean(dim=0))
    forecast = forecaster.predict(_table())
    assert np.isfinite(forecast["q0.5"].to_numpy()).all()
