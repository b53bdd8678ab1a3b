"""The Temporal Fusion Transformer: beats seasonal naive, never crosses its quantiles, survives
fp16 attention masks and unknown categories, and tells what it looked at."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forecasting import BacktestConfig, ForecastConfig, Forecaster
from forecasting.models import InputDims, TemporalFusionTransformer
from forecasting.spec import DEFAULT_QUANTILES, quantile_column
from forecasting.windows import BATCH_KEYS, make_batch
from training.config import TrainConfig
from training.forecaster import NeuralForecaster

H = 14
Q = [quantile_column(q) for q in DEFAULT_QUANTILES]


def tft(seed: int = 0, epochs: int = 6) -> NeuralForecaster:
    train = TrainConfig(
        max_epochs=epochs, batches_per_epoch=20, batch_size=64, seed=seed, progress_bar=False
    )
    return NeuralForecaster(ForecastConfig("tft", H, hidden_size=16), train)


@pytest.fixture(scope="module")
def store(small_network):
    return small_network.to_store()


@pytest.fixture(scope="module")
def result(store):
    """The public API: a TFT backtested beside seasonal naive keeps the model it fitted."""
    model = tft()
    forecaster = Forecaster.from_config(model.config, store.spec, model.train)
    only_naive = BacktestConfig(origins=2, baselines=("seasonal_naive",))
    return forecaster, forecaster.backtest(store, only_naive, progress=False)


def test_tft_beats_seasonal_naive(result):
    overall = result[1].overall()
    assert overall.loc["tft", "sql"] < overall.loc["seasonal_naive", "sql"]
    assert overall.loc["tft", "wape"] < overall.loc["seasonal_naive", "wape"]


def test_step_and_cumulative_quantiles_do_not_cross(result, small_network):
    model = result[0]
    frame = small_network.to_frame()
    steps = model.predict(frame)[Q].to_numpy()
    assert (np.diff(steps, axis=1) >= 0).all() and (steps >= 0).all()
    cumulative = model.predict(frame, cumulative=H)
    assert list(cumulative.columns) == ["item_id", "location_id", "horizon", *Q]
    values = cumulative[Q].to_numpy().reshape(-1, H, len(Q))
    assert (np.diff(values, axis=2) >= 0).all()  # across quantile levels
    assert (np.diff(values, axis=1) >= -1e-4).all()  # a sum of demand only grows with horizon
    with pytest.raises(ValueError, match="cumulative: expected 1..14"):
        model.predict(frame, cumulative=H + 1)


def test_unknown_categories_do_not_crash(result, small_network):
    frame = small_network.to_frame()
    frame["item_id"] = frame["item_id"].astype(str) + "-new"
    frame["category"] = frame["category"].astype(str).replace("grocery", "pharmacy")
    with pytest.warns(UserWarning, match="pharmacy"):
        table = result[0].predict(frame)
    assert np.isfinite(table[Q].to_numpy()).all()


def test_interpretation_weights(result, small_network):
    importance, attention = result[0].interpret(small_network.to_frame())
    sums = importance.groupby("kind")["importance"].sum()
    assert np.allclose(sums.to_numpy(), 1.0, atol=1e-4)  # selection weights are a softmax
    assert set(importance.loc[importance["kind"] == "decoder", "variable"]) >= {"price", "promo"}
    assert "price" in set(importance.loc[importance["kind"] == "encoder", "variable"])
    history = attention[attention["lag"] < 0]["weight"].sum()
    future = attention[attention["lag"] >= 0]
    assert history > 0 and attention["weight"].sum() == pytest.approx(1.0, abs=1e-4)
    # A decoder step never attends to later steps: the last lag only gets the last step's weight.
    assert future["weight"].iloc[-1] <= future["weight"].iloc[0]


def test_attention_mask_is_safe_in_half_precision(store):
    """pytorch-forecasting's -1e9 mask bias overflows fp16; the -inf mask does not."""
    dims = InputDims.from_store(store)
    net = TemporalFusionTransformer(dims, H, DEFAULT_QUANTILES, hidden_size=16)
    series = torch.arange(8)
    batch = make_batch(store, series, torch.full_like(series, 20), 28, H, 1.0)  # short history
    assert (batch["encoder_mask"] == 0).any()
    attention = net.attention.half()
    x = torch.randn(8, 28 + H, 16).half()
    mask = net._attention_mask(batch["encoder_mask"], H)
    out, weights = attention(x[:, 28:], x, x, mask)
    assert torch.isfinite(out).all() and torch.isfinite(weights).all()
    assert (weights[..., :28][mask[:, :, None, :28].expand_as(weights[..., :28])] == 0).all()


def test_tft_forward_under_bf16_autocast(store):
    dims = InputDims.from_store(store)
    net = TemporalFusionTransformer(dims, H, DEFAULT_QUANTILES, hidden_size=16).eval()
    series = torch.arange(16)
    batch = make_batch(store, series, torch.full_like(series, 60), 28, H, 1.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        steps, cumulative = net(*(batch[k] for k in BATCH_KEYS))
    assert torch.isfinite(steps.float()).all() and torch.isfinite(cumulative.float()).all()


@pytest.mark.slow
def test_tft_exports_to_onnx_with_a_dynamic_batch(store, tmp_path):
    """Fixed-name tensor inputs and a dynamic batch: what the serving layer exports. (The LSTM
    is plain nn.LSTM / Linear layers; the TFT is the network with export hazards.)"""
    import onnxruntime as ort

    from forecasting.models import build_network

    net = build_network("tft", InputDims.from_store(store), H, DEFAULT_QUANTILES, hidden_size=16)
    net.eval()
    series = torch.arange(4)
    batch = make_batch(store, series, torch.full_like(series, 30), 28, H, 1.0)
    path = tmp_path / "tft.onnx"
    size = torch.export.Dim("batch", min=1)
    torch.onnx.export(
        net,
        tuple(batch[k] for k in BATCH_KEYS),
        str(path),
        input_names=list(BATCH_KEYS),
        output_names=["quantiles", "cumulative"],
        dynamic_shapes={k: {0: size} for k in BATCH_KEYS},
        dynamo=True,
        verbose=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    other = torch.arange(11)  # another batch size than the one exported with
    batch = make_batch(store, other, torch.full_like(other, 100), 28, H, 1.0)
    steps, cumulative = session.run(None, {k: batch[k].numpy() for k in BATCH_KEYS})
    with torch.no_grad():
        expected = net(*(batch[k] for k in BATCH_KEYS))
    np.testing.assert_allclose(steps, expected[0].numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(cumulative, expected[1].numpy(), rtol=1e-4, atol=1e-4)
