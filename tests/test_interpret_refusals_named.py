"""Interpreting what only a TFT has is refused by name: an ``auto`` run's refusal names the way
to its TFT (``Forecaster.network('tft')``; ``forecast interpret`` has no ``--network``), and an
ensemble of LSTMs is refused as one LSTM is (it raised a bare AttributeError)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from forecasting import Forecaster
from forecasting.interpret import interpret_windows
from forecasting.models import InputDims, QuantileLSTM
from forecasting.models.ensemble import EnsembleNet
from forecasting.spec import DEFAULT_QUANTILES
from forecasting.synthetic import generate_network
from training.auto import AutoForecaster


def test_interpreting_an_auto_run_names_the_way_to_its_tft():
    forecaster = Forecaster("auto", 4, auto_distributions=["quantile", "negative_binomial"])
    forecaster.model_ = AutoForecaster(forecaster.config, forecaster.train)
    with pytest.raises(ValueError, match="cannot pick one network") as refused:
        forecaster.interpret(pd.DataFrame())
    assert "network('tft').interpret(data)" in str(refused.value)
    assert "(tft, tft_nb)" in str(refused.value)


def test_interpreting_an_ensemble_of_lstms_is_refused_as_a_single_lstm_is():
    store = generate_network(n_items=2, n_locations=1, n_days=60, seed=3).to_store()
    lstm = QuantileLSTM(InputDims.from_store(store), 4, DEFAULT_QUANTILES, 4)
    series = torch.arange(2)
    for net in (lstm, EnsembleNet([lstm, lstm])):
        with pytest.raises(ValueError, match="has no interpretable weights"):
            interpret_windows(net, store, series, torch.full_like(series, 30), 14, 4, 1.0)
