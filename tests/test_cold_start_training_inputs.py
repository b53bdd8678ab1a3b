"""The training windows that teach the cold-start path must read what a new item's table gives
a forecast: no prices, promotions or events of the item's own before its launch. They read the
item's past prices and promotions (with its demand hidden) while a new item's table has none,
so the path learned on inputs it never gets (the backtest's hidden items get a new item's
inputs through ``launched_at``; these windows now match them)."""

import dataclasses

import numpy as np
import pandas as pd
import torch

from forecasting import Forecaster, PanelSpec
from forecasting.backtest import launched_at
from forecasting.windows import make_batch

L, H = 14, 7


def _store():
    dates = pd.date_range("2024-01-01", periods=60, freq="D")
    rng = np.random.default_rng(0)
    frame = pd.concat(
        pd.DataFrame(
            {
                "item_id": item,
                "location_id": "L",
                "date": dates,
                "demand": rng.poisson(5, len(dates)).astype(float),
                "price": rng.uniform(1, 3, len(dates)),
                "promo": np.where(np.arange(len(dates)) % 4 == 0, "deal", "none"),
            }
        )
        for item in ("a", "b")
    )
    spec = PanelSpec(freq="D", known_reals=("price",), known_categoricals=("promo",))
    return Forecaster("lstm", H, spec=spec).store(frame)


def _batch(store, hidden: bool, origin: int):
    series, origins = torch.tensor([0]), torch.tensor([origin])
    hide = torch.tensor([hidden])
    return make_batch(store, series, origins, L, H, 1.0, hide_history=hide, reals_as_of=True)


def test_hidden_history_windows_read_a_new_items_inputs():
    store, origin = _store(), 40
    trained = _batch(store, hidden=True, origin=origin)
    # item a as a table holding it as a new item at the origin has it: no demand (what
    # hide_items gives a backtest's hidden items), no rows of covariates before the origin
    target, start, end = store.target.clone(), store.start.clone(), store.end.clone()
    target[0], start[0], end[0] = float("nan"), 0, 0
    hidden = dataclasses.replace(store, target=target, start=start, end=end)
    new = launched_at(hidden, torch.tensor([0]), origin)
    # ... and its prices z-scored over the rows its forecast reads (the horizon), as_of
    new = new.as_of(origin, H)
    new_item = make_batch(new, torch.tensor([0]), torch.tensor([origin]), L, H, 1.0)
    for key in ("encoder_target", "encoder_mask", "encoder_real", "encoder_cat",
                "decoder_real", "decoder_cat"):  # fmt: skip
        torch.testing.assert_close(trained[key], new_item[key], msg=key)


def test_windows_with_history_keep_their_covariates():
    store = _store()
    seen = _batch(store, hidden=False, origin=40)
    hidden = _batch(store, hidden=True, origin=40)
    assert seen["encoder_real"].abs().sum() > 0  # the price before the origin
    n_own = len(store.spec.known_categoricals)
    assert (seen["encoder_cat"][..., :n_own] > 0).all()  # a promotion level every day
    assert (hidden["encoder_cat"][..., :n_own] == 0).all()
    # the calendar stays: a new item's encoder dates have a weekday and a month too
    torch.testing.assert_close(seen["encoder_cat"][..., n_own:], hidden["encoder_cat"][..., n_own:])
    # and the promotions after the origin are the same
    torch.testing.assert_close(seen["decoder_cat"], hidden["decoder_cat"])
