"""The synthetic network is deterministic and has the structure real SKU x FC demand has."""

from __future__ import annotations

import numpy as np
import torch

from forecasting.metrics import demand_classes
from forecasting.synthetic import generate_network


def test_same_seed_same_network_other_seed_differs():
    a = generate_network(20, 3, 120, seed=3)
    b = generate_network(20, 3, 120, seed=3)
    c = generate_network(20, 3, 120, seed=4)
    assert np.array_equal(a.demand, b.demand, equal_nan=True)
    assert a.lead_times.equals(b.lead_times)
    assert not np.array_equal(a.demand, c.demand, equal_nan=True)


def test_structure(small_network):
    net = small_network
    assert net.demand.shape == (24 * 3, 240)
    assert len(net.dates) == 240 + 14
    assert (np.nan_to_num(net.demand) >= 0).all()
    # Cold start: launched items have NaN demand and no price before their launch.
    launched = net.items[net.items["launch"] > 0]
    assert len(launched) > 0
    i = launched.index[0]
    launch = launched.loc[i, "launch"]
    assert (
        np.isnan(net.demand[i * 3, :launch]).all() and np.isfinite(net.demand[i * 3, launch:]).all()
    )
    assert np.isnan(net.price[i, :launch]).all()
    # Promotions lower the price of the item.
    ratio = net.price / net.items["base_price"].to_numpy()[:, None]
    assert np.nanmean(ratio[net.promo == 1]) < np.nanmean(ratio[net.promo == 0])
    # Lead-time records for the planning layer.
    assert set(net.lead_times.columns) == {"item_id", "location_id", "order_date", "lead_time_days"}
    assert (net.lead_times["lead_time_days"] >= 1).all()


def test_all_four_demand_classes_appear():
    net = generate_network(80, 2, 365, seed=1)
    store = net.to_store()
    series = torch.arange(store.n_series)
    labels = demand_classes(store, series, torch.full_like(series, 365))
    assert {"smooth", "intermittent", "lumpy", "erratic"} <= set(labels)


def test_promotions_raise_demand():
    net = generate_network(60, 2, 365, seed=2, cold_start_fraction=0.0)
    promo = np.repeat(net.promo[:, :365], 2, axis=0).astype(bool)
    lift = np.nanmean(net.demand[promo]) / np.nanmean(net.demand[~promo])
    assert lift > 1.2
