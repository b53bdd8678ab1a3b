"""The synthetic network is deterministic and has the structure real SKU x FC demand has."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting.metrics import demand_classes
from forecasting.synthetic import generate_network
from vision.catalog import Catalog
from vision.schema import MASK_BITS
from vision.synthetic import FIELD_OF_VIEW_CM, generate_items, render_item
from vision.synthetic_parts import write_parts_dataset


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


def test_history_independent_of_future_days():
    plain = generate_network(12, 2, 120, seed=5)
    ahead = generate_network(12, 2, 120, seed=5, future_days=28)
    longer = generate_network(12, 2, 120, seed=5, future_days=60)
    assert np.array_equal(plain.demand, ahead.demand, equal_nan=True)
    assert np.array_equal(plain.price, ahead.price[:, :120], equal_nan=True)
    assert np.array_equal(plain.promo, ahead.promo[:, :120])
    assert np.array_equal(plain.temperature, ahead.temperature[:, :120])
    assert plain.lead_times.equals(ahead.lead_times)
    # The 28 future days are the first 28 of 60.
    assert np.array_equal(ahead.price, longer.price[:, :148], equal_nan=True)
    assert np.array_equal(ahead.promo, longer.promo[:, :148])
    assert np.array_equal(ahead.temperature, longer.temperature[:, :148])
    # Future promotions keep the history's rate and lower the price.
    future = longer.promo[:, 120:].astype(bool)
    assert 0.03 < future.mean() < 0.3
    ratio = longer.price[:, 120:] / longer.items["base_price"].to_numpy()[:, None]
    assert np.nanmean(ratio[future]) < np.nanmean(ratio[~future])


@pytest.mark.parametrize("future_days", [-1, -30])
def test_negative_future_days_refused(future_days):
    with pytest.raises(ValueError, match="future_days"):
        generate_network(4, 2, 90, seed=0, future_days=future_days)


def test_zero_future_days_still_fine():
    network = generate_network(4, 2, 90, seed=0, future_days=0)
    assert len(network.dates) == network.n_history == 90


def test_empty_classes_refused(tmp_path):
    with pytest.raises(ValueError, match="classes"):
        write_parts_dataset(tmp_path / "a", 4, classes=(), min_side=16, max_side=24)
    assert not (tmp_path / "a").exists()


def test_repeated_class_refused(tmp_path):
    with pytest.raises(ValueError, match="classes"):
        write_parts_dataset(tmp_path / "b", 4, classes=("crack", "crack"), min_side=16, max_side=24)
    assert not (tmp_path / "b").exists()


def test_no_defects_needs_no_classes(tmp_path):
    root = write_parts_dataset(tmp_path / "c", 3, defect_share=0.0, classes=(), min_side=16,
                               max_side=24)  # fmt: skip
    assert sorted(p.name for p in root.iterdir()) == ["good"]
    assert len(list((root / "good").iterdir())) == 3


def _catalog(side: float) -> Catalog:
    row = {"product_id": "P1", "color": "#C82828", "width_cm": side, "height_cm": side,
           "depth_cm": side, "shape": "box"}  # fmt: skip
    return Catalog(pd.DataFrame([row]), source="test catalog")


def test_product_larger_than_the_frame_refused():
    with pytest.raises(ValueError, match="field of view"):
        generate_items(_catalog(FIELD_OF_VIEW_CM + 4), 5, seed=0, defect_rate={"wrong_size": 1.0})


def test_products_that_fit_show_their_wrong_size():
    items = generate_items(_catalog(FIELD_OF_VIEW_CM), 12, seed=0, defect_rate={"wrong_size": 1.0})
    for item in items:
        views = render_item(item, 24)
        shown = sum(int((mask & MASK_BITS["wrong_size"]).any()) for _, mask in views.values())
        assert shown > 0, item.item_id


def _family_catalog() -> Catalog:
    # P2 is P1 in a colour 6 RGB units away; P3 is P1 only wider: neither changes every view.
    base = {"height_cm": 10.0, "depth_cm": 8.0, "shape": "box", "family": "F1"}
    rows = [
        {"product_id": "P1", "color": "#C82828", "width_cm": 10.0, **base},
        {"product_id": "P2", "color": "#CA2A2A", "width_cm": 10.0, **base},
        {"product_id": "P3", "color": "#C82828", "width_cm": 14.0, **base},
    ]
    return Catalog(pd.DataFrame(rows), source="test catalog")


def test_sibling_mix_ups_are_visible_where_labelled():
    catalog = _family_catalog()
    rates = {"wrong_color": 1.0, "wrong_size": 1.0}
    for item in generate_items(catalog, 40, seed=0, defect_rate=rates):
        row = catalog.table.set_index("product_id").loc[item.product_id]
        expected = np.array([int(row["color"][k : k + 2], 16) for k in (1, 3, 5)]) / 255
        assert np.abs(item.color - expected).sum() * 255 > 120, item.item_id
        for view in item.size_views:  # a view marked wrong_size shows a changed dimension
            shown = {"front": "wh", "back": "wh", "left": "dh", "right": "dh", "top": "wd",
                     "bottom": "wd"}[view]  # fmt: skip
            keys = [{"w": "width_cm", "h": "height_cm", "d": "depth_cm"}[c] for c in shown]
            ratios = [item.dims[k] / item.catalog_dims[k] for k in keys]
            assert max(abs(r - 1) for r in ratios) > 0.1, (item.item_id, view, ratios)
