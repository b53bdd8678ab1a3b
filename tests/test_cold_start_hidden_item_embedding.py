"""An item a cold-start backtest hid is in the run's vocabulary but in no training window: its
embedding is the unknown item's, as the backtest forecast it, not its random start (a table
naming it after the backtest was forecast 19% apart by a tiny TFT)."""

import torch

from forecasting.backtest import hide_items
from forecasting.models import InputDims, build_network
from forecasting.store import UNKNOWN
from forecasting.synthetic import generate_network
from training.forecaster import untrained_as_unknown


def test_items_hidden_from_fitting_read_the_unknown_embedding():
    store = generate_network(8, 2, 80, seed=3, cold_start_fraction=0.0).to_store()
    hidden_store, hidden = hide_items(store, 0.25, seed=0)
    torch.manual_seed(0)
    net = build_network(
        "tft", InputDims.from_store(hidden_store), 7, (0.1, 0.5, 0.9), hidden_size=8
    )
    net = untrained_as_unknown(net, hidden_store, cutoff=73, horizon=7, min_encoder_length=7)
    column = store.static_cat_names.index("item_id")
    weight = net.static_embeddings.embeddings[column].weight
    codes = torch.unique(store.static_cat[hidden, column])  # the hidden items' own codes
    assert len(codes) == 2 and not (codes == UNKNOWN).any()
    for code in codes:
        torch.testing.assert_close(weight[code], weight[UNKNOWN])
    # An item with training windows keeps its own embedding.
    shown = store.static_cat[:, column][~torch.isin(torch.arange(store.n_series), hidden)][0]
    assert not torch.equal(weight[shown], weight[UNKNOWN])
