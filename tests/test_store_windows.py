"""Windows cut with tensor ops equal a plain per-window slice; samplers respect cutoffs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forecasting.store import PanelStore
from forecasting.validate import validate_panel
from forecasting.windows import WindowList, WindowSampler, make_batch, valid_origin_range

L, H = 21, 7


@pytest.fixture(scope="module")
def store(small_network):
    return small_network.to_store()


def test_store_from_frame_equals_store_from_arrays(small_network, store):
    clean, _ = validate_panel(small_network.to_frame(), small_network.spec)
    other = PanelStore.from_frame(clean, small_network.spec, vocab=store.vocab)
    assert torch.equal(store.target.nan_to_num(-1), other.target.nan_to_num(-1))
    assert torch.equal(store.start, other.start) and torch.equal(store.end, other.end)
    assert torch.equal(store.static_cat, other.static_cat)
    # Before a launch the long table has no rows (so no covariates); compare launched series.
    s = torch.nonzero(store.start == 0).squeeze(1)
    t = torch.full_like(s, 100)
    a = make_batch(store, s, t, L, H, 1.0)
    b = make_batch(other, s, t, L, H, 1.0)
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-3), key  # float32 stats


def reference_window(store: PanelStore, s: int, t0: int, prior: float) -> dict:
    """One window the slow, obvious way."""
    target = store.target[s].numpy()
    history = np.array(
        [target[t] if 0 <= t < store.n_periods else np.nan for t in range(t0 - L, t0)]
    )
    mask = np.isfinite(history)
    scale = max((np.nansum(history) + prior) / (mask.sum() + 1.0), 1e-3)
    price = store.known_real[0]
    row = int(price.rows[s])
    return {
        "encoder_target": np.where(mask, history, 0) / scale,
        "encoder_mask": mask.astype(np.float32),
        "decoder_price": price.values[row, t0 : t0 + H, 0].numpy(),
        "target": target[t0 : t0 + H] / scale,
        "scale": scale,
    }


def test_batch_matches_per_window_reference(store):
    series = torch.tensor([0, 5, 17, 40, 71])
    origins = torch.tensor([30, 10, 200, 120, 233])  # origin 10: encoder starts before the grid
    batch = make_batch(store, series, origins, L, H, prior_scale=2.0)
    for b, (s, t0) in enumerate(zip(series.tolist(), origins.tolist(), strict=True)):
        ref = reference_window(store, s, t0, prior=2.0)
        np.testing.assert_allclose(batch["encoder_target"][b], ref["encoder_target"], rtol=1e-5)
        np.testing.assert_array_equal(batch["encoder_mask"][b], ref["encoder_mask"])
        np.testing.assert_allclose(batch["decoder_real"][b, :, 0], ref["decoder_price"], rtol=1e-6)
        np.testing.assert_allclose(batch["target"][b], ref["target"], rtol=1e-5)
        assert batch["scale"][b].item() == pytest.approx(ref["scale"], rel=1e-5)
    assert batch["static_real"][:, -1].allclose(torch.log1p(batch["scale"]))


def test_sampler_draws_only_valid_windows_before_the_cutoff(store):
    cutoff = 200
    sampler = WindowSampler(store, L, H, 64, 20, 1.0, cutoff=cutoff, min_encoder_length=7, seed=1)
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        series, origins = sampler.sample(generator)
        assert (origins + H <= cutoff).all()
        assert (origins + H <= store.end[series]).all()
        assert (origins - 7 >= store.start[series]).all()


def test_sampler_is_repeatable_and_covers_late_launches(store):
    first = [b["target"] for b in WindowSampler(store, L, H, 32, 5, 1.0, seed=3)]
    again = [b["target"] for b in WindowSampler(store, L, H, 32, 5, 1.0, seed=3)]
    other = [b["target"] for b in WindowSampler(store, L, H, 32, 5, 1.0, seed=4)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))
    # Sampling is uniform over valid (series, origin) pairs: late launches have fewer of them.
    first_origin, count = valid_origin_range(store, H, None, 1)
    late = store.start > 0
    assert late.any() and (count[late] < count[~late].max()).all()


def test_ranks_get_different_windows(store):
    a = next(iter(WindowSampler(store, L, H, 32, 1, 1.0, seed=0, rank=0, world_size=2)))
    b = next(iter(WindowSampler(store, L, H, 32, 1, 1.0, seed=0, rank=1, world_size=2)))
    assert not torch.equal(a["target"], b["target"])


def test_window_list_shards_cover_every_window_once(store):
    series = torch.arange(store.n_series)
    origins = torch.full_like(series, 150)
    shards = [
        torch.cat(
            [
                b["scale"]
                for b in WindowList(store, series, origins, L, H, 16, 1.0, rank=r, world_size=3)
            ]
        )
        for r in range(3)
    ]
    whole = torch.cat([b["scale"] for b in WindowList(store, series, origins, L, H, 16, 1.0)])
    assert sum(len(s) for s in shards) == len(whole)
    assert torch.allclose(torch.sort(torch.cat(shards)).values, torch.sort(whole).values)


def test_store_bytes_stay_close_to_the_data(small_network, store):
    data_bytes = small_network.demand.nbytes + small_network.price.nbytes
    data_bytes += small_network.promo.nbytes + small_network.temperature.nbytes
    # Target grid (incl. the future days) + shared covariates: no per-window copies.
    assert store.nbytes() < 2 * (data_bytes + store.target.numel() * 4)
