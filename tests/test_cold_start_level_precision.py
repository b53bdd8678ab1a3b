"""A cold-start training window's level is its peers' mean demand before the origin, its own
demand taken out of its group's cumulative sums. With the sums kept in float32, taking a large
item's demand out of them left its rounding step, which outweighed its small peers' whole
demand: 0.64 for peers that sold 1.1 per day (42 % off)."""

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting.spec import PanelSpec
from forecasting.store import PanelStore
from forecasting.windows import OriginPrior

T = 400


@pytest.mark.parametrize("origin", [50, 200, 399])
def test_hidden_level_of_a_large_item_is_its_small_peers_mean(origin):
    rng = np.random.default_rng(0)
    target = np.stack([rng.poisson(3e6, T), rng.poisson(1.0, T)]).astype(np.float32)
    keys = pd.DataFrame({"item_id": ["big", "small"], "location_id": ["L", "L"]})
    dates = pd.date_range("2024-01-01", periods=T, freq="D")
    store = PanelStore.from_arrays(PanelSpec(freq="D"), dates, target, keys)
    prior = OriginPrior(store, T, fallback=1.0)
    got = prior(torch.tensor([0]), torch.tensor([origin]), exclude=torch.tensor([True]))
    expected = target[1, :origin].astype(np.float64).mean()  # the peer's own mean
    assert float(got[0]) == pytest.approx(expected, rel=1e-4)
    # a window with its history keeps its group's level (both items)
    warm = prior(torch.tensor([0]), torch.tensor([origin]))
    assert float(warm[0]) == pytest.approx(target[:, :origin].astype(np.float64).mean(), rel=1e-5)
