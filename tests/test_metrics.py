"""Metrics agree with hand computation; quantiles cannot cross; demand classes by ADI and CV²."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting.metrics import aggregate, demand_classes, mase_scale, window_scores
from forecasting.quantiles import monotone_quantiles, pinball_loss
from forecasting.spec import PanelSpec
from forecasting.store import PanelStore
from forecasting.validate import validate_panel

LEVELS = (0.1, 0.5, 0.9)


def test_window_scores_by_hand():
    actual = np.array([[2.0, 0.0, 4.0]])
    quantiles = np.array([[[1.0, 2.0, 3.0], [0.0, 1.0, 2.0], [1.0, 3.0, 5.0]]])
    scores = window_scores(actual, quantiles, LEVELS, scale=np.array([2.0]))
    metrics = aggregate(scores)
    assert metrics["wape"] == pytest.approx((0 + 1 + 1) / 6)
    assert metrics["bias"] == pytest.approx((0 + 1 - 1) / 6)
    assert metrics["mase"] == pytest.approx((2 / 3) / 2.0)
    # pinball per (h, q): h0: 0.1, 0, 0.1  h1: 0, 0.5, 0.2  h2: 0.3, 0.5, 0.1
    pinball = np.mean([0.1, 0, 0.1, 0, 0.5, 0.2, 0.3, 0.5, 0.1])
    assert metrics["sql"] == pytest.approx(2 * pinball / 2.0)
    # Every actual lies in its [q0.1, q0.9] interval; move one out and coverage drops to 2/3.
    assert metrics["coverage_80"] == pytest.approx(1.0)
    actual[0, 2] = 6.0
    assert aggregate(window_scores(actual, quantiles, LEVELS, np.array([2.0])))[
        "coverage_80"
    ] == pytest.approx(2 / 3)


def test_mase_scale_uses_only_history_before_the_origin():
    frame = pd.DataFrame(
        {
            "item_id": "A",
            "location_id": "FC",
            "date": pd.date_range("2024-01-01", periods=6),
            "demand": [1.0, 3.0, 2.0, 6.0, 100.0, 0.0],
        }
    )
    spec = PanelSpec(calendar=False)
    store = PanelStore.from_frame(validate_panel(frame, spec)[0], spec)
    scale = mase_scale(store, torch.tensor([0]), torch.tensor([4]), season=1)
    assert scale[0] == pytest.approx((2 + 1 + 4) / 3)


def test_demand_classes_follow_syntetos_boylan():
    n = 56
    rng = np.random.default_rng(0)
    series = {
        "smooth": 10 + rng.integers(-1, 2, n),
        "erratic": rng.choice([1, 30], n).astype(float),
        "intermittent": np.where(np.arange(n) % 4 == 0, 5.0, 0.0),
        "lumpy": np.where(np.arange(n) % 4 == 0, np.where(np.arange(n) % 8 == 0, 40.0, 1.0), 0.0),
    }
    frame = pd.concat(
        pd.DataFrame(
            {
                "item_id": name,
                "location_id": "FC",
                "date": pd.date_range("2024-01-01", periods=n),
                "demand": values,
            }
        )
        for name, values in series.items()
    )
    spec = PanelSpec(calendar=False)
    store = PanelStore.from_frame(validate_panel(frame, spec)[0], spec)
    labels = demand_classes(store, torch.arange(4), torch.full((4,), n))
    assert dict(zip(store.keys["item_id"], labels, strict=True)) == {k: k for k in series}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=5, max_size=5), st.integers(0, 4))
def test_monotone_quantiles_never_cross(raw, anchor):
    quantiles = monotone_quantiles(torch.tensor([raw]), anchor)[0]
    assert (quantiles[1:] >= quantiles[:-1]).all()
    assert quantiles[anchor].item() == pytest.approx(raw[anchor])


def test_pinball_loss_is_minimized_by_the_true_quantile():
    torch.manual_seed(0)
    target = torch.randn(4000, 1)
    levels = torch.tensor([0.1, 0.5, 0.9])
    true = torch.tensor([-1.2816, 0.0, 1.2816])
    best = pinball_loss(true.expand(4000, 1, 3), target, levels)
    for shift in (-0.3, 0.3):
        assert best < pinball_loss((true + shift).expand(4000, 1, 3), target, levels)
    mask = torch.zeros(4000, 1)
    mask[:10] = 1
    masked = pinball_loss(true.expand(4000, 1, 3), target, levels, mask)
    assert masked == pytest.approx(pinball_loss(true.expand(10, 1, 3), target[:10], levels).item())
