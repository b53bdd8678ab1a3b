"""A fit leaves the caller's global random generators (Python's, NumPy's, torch's) where they
were: it reseeded them from the training seed, so a caller's own draws after fit were the
seed's, the same on every run whatever the caller had seeded."""

import os
import random

import numpy as np
import torch

from forecasting import Forecaster, PanelSpec
from forecasting.synthetic import generate_network
from training import TrainConfig


def _draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))  # noqa: NPY002


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002
    torch.manual_seed(seed)


def test_fit_keeps_global_random_state():
    sales = generate_network(n_items=2, n_locations=1, n_days=90, future_days=7).to_frame()
    spec = PanelSpec(static_categoricals=("category",), known_reals=("price",))
    fast = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=8, progress_bar=False)
    seed_variables = {k: os.environ.get(k) for k in ("PL_GLOBAL_SEED", "PL_SEED_WORKERS")}
    _seed(123)
    expected = _draws()
    _seed(123)
    forecaster = Forecaster("lstm", horizon=7, spec=spec, train=fast, hidden_size=4)
    forecaster.fit(sales)
    assert _draws() == expected
    assert {k: os.environ.get(k) for k in seed_variables} == seed_variables
