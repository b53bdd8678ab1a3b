"""simulate's lead-time draws are unchanged by the short cut for fixed whole-day lead times
(no generator built for them): every key, fixed whole or part-day, gamma or records, draws what
the per-key generator rule gives (reference: that rule written out here)."""

import numpy as np
import pandas as pd

from kernels.simulation import _lead_draws
from kernels.tables import _key_rng


def _reference(keys, mean, std, records, n_days, seed):
    width = n_days + 1
    out = np.empty((len(keys), width))
    for i, (item, location) in enumerate(zip(keys.item_id, keys.location_id, strict=True)):
        rng = _key_rng(seed, item, location)
        if records[i] is not None:
            pool = np.asarray(records[i], dtype=np.float64)
            slot = np.minimum((rng.random(width) * len(pool)).astype(np.int64), len(pool) - 1)
            draws = pool[slot]
        elif std[i] > 0 and mean[i] > 0:
            draws = rng.gamma((mean[i] / std[i]) ** 2, std[i] ** 2 / mean[i], size=width)
        else:
            draws = np.full(width, mean[i])
        whole = np.floor(draws)
        part = draws - whole
        if (part > 0).any():
            draws = whole + (rng.spawn(1)[0].random(width) < part)
        out[i] = np.maximum(draws, 0.0)
    return out.astype(np.int64)


def test_lead_draws_of_every_kind_of_key():
    keys = pd.DataFrame({"item_id": list("abcdefg"), "location_id": "F"})
    mean = np.array([5.0, 0.0, 2.5, 6.0, np.nan, 3.0, 0.0])
    std = np.array([0.0, 0.0, 0.0, 2.0, 0.0, 1.5, 1.0])
    records = [None, None, None, None, [2.0, 3.5, 7.0], None, None]
    lead_times = pd.DataFrame(
        {"item_id": "e", "location_id": "F", "lead_time_days": [2.0, 3.5, 7.0]}
    )
    columns = {"lead_time_mean": mean, "lead_time_std": std}

    def column(name, default):
        return columns.get(name, np.full(len(keys), default))

    labels = [f"row {i}" for i in range(len(keys))]
    got = _lead_draws(lead_times, keys, labels, column, 60, 11)
    want = _reference(keys, mean, std, records, 60, 11)
    np.testing.assert_array_equal(got, want)
    assert (got[0] == 5).all() and (got[1] == 0).all()
    assert set(np.unique(got[2])) == {2, 3}
