"""Untrained known levels (``untrained_known_as_mean``) run at the end of every fit: for a
per-series known categorical block they held 64-bit span counts, their cumulative sum and a
sorted copy of every code read, about 11 times the block (4.2 GB for a 0.4 GB block of 200k
series x 500 days): a large panel that trained ran out of memory after its training. The levels
set must still be exactly those no training window reads (brute force over every window)."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import torch

from forecasting import PanelSpec
from forecasting.models import InputDims, build_network
from forecasting.store import PanelStore
from forecasting.validate import validate_panel
from forecasting.windows import make_batch, valid_origin_range
from training.forecaster import untrained_known_as_mean

SCRIPT = textwrap.dedent(
    """
    import resource, types, torch, pandas as pd
    from forecasting.store import Block
    from training.forecaster import untrained_known_as_mean
    S, T = 100_000, 500
    vals = torch.randint(0, 4, (S, T, 1), dtype=torch.int32)
    store = types.SimpleNamespace(
        known_cat=[Block(vals, None, ("promo",))], known_cat_names=("promo",), n_periods=T,
        spec=types.SimpleNamespace(known_categoricals=("promo",), frequency="D"),
        dates=pd.date_range("2020-01-01", periods=T), start=torch.zeros(S, dtype=torch.long),
        end=torch.full((S,), T, dtype=torch.long))
    emb = torch.nn.ModuleList([torch.nn.Embedding(6, 3)])
    net = types.SimpleNamespace(known_embeddings=types.SimpleNamespace(embeddings=emb))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    untrained_known_as_mean(net, store, T - 7, 7, 1, 28)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * 1024 / vals.numel() / 4)
    """
)


def test_untrained_known_levels_memory_is_bounded():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    ratio = float(out.stdout.strip().splitlines()[-1])
    assert ratio < 2.0, f"peak memory grew by {ratio:.1f} times the block"


def _store(freq: str) -> PanelStore:
    rng = np.random.default_rng(0)
    n_hist, horizon = 30, 3
    step = {"D": "D", "W": "W-MON", "M": "MS"}[freq]
    dates = pd.date_range("2023-03-01", periods=n_hist + horizon, freq=step)
    rows = []
    for s in range(3):
        for k in range(4 * s, len(dates)):
            promo = ["a", "b", "c"][k % 2] if k < n_hist else "z"
            demand = float(rng.poisson(3)) if k < n_hist else np.nan
            rows.append((f"i{s}", "L", dates[k], demand, promo))
    frame = pd.DataFrame(rows, columns=["item_id", "location_id", "date", "demand", "promo"])
    spec = PanelSpec(freq=freq, known_categoricals=("promo",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean, report = validate_panel(frame, spec)
        return PanelStore.from_frame(clean, spec.with_freq(report.freq))


def test_untrained_known_levels_match_brute_force():
    horizon, encoder, min_encoder = 3, 10, 2
    for freq in "DWM":
        store = _store(freq)
        for model in ("lstm", "tft"):
            torch.manual_seed(0)
            dims = InputDims.from_store(store)
            net = build_network(model, dims, horizon, (0.1, 0.5, 0.9), hidden_size=4)
            tables = net.known_embeddings.embeddings
            initial = [e.weight.detach().clone() for e in tables]
            cutoff = int(store.end.max()) - horizon
            untrained_known_as_mean(net, store, cutoff, horizon, min_encoder, encoder)
            first, count = valid_origin_range(store, horizon, cutoff, min_encoder)
            windows = [
                (s, o)
                for s in range(store.n_series)
                for o in range(int(first[s]), int(first[s] + count[s]))
            ]
            series, origins = (torch.tensor(v) for v in zip(*windows, strict=True))
            batch = make_batch(store, series, origins, encoder, horizon, 1.0, with_target=False)
            codes = torch.cat([batch["encoder_cat"], batch["decoder_cat"]], dim=1)
            for k in range(len(store.known_cat_names)):
                weight = tables[k].weight.detach()
                read = set(torch.unique(codes[:, :, k]).tolist())
                changed = {
                    i for i in range(len(weight)) if not torch.equal(weight[i], initial[k][i])
                }
                assert changed == set(range(len(weight))) - read, (freq, model, k)
                mean = initial[k][sorted(read)].mean(dim=0)
                for i in changed:
                    torch.testing.assert_close(weight[i], mean)
