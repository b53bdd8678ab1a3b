"""The Temporal Fusion Transformer: beats seasonal naive, never crosses its quantiles, survives
fp16 attention masks and unknown categories, and tells what it looked at."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from forecasting import BacktestConfig, ForecastConfig, Forecaster
from forecasting.interpret import interpret_windows
from forecasting.models import InputDims, TemporalFusionTransformer
from forecasting.spec import DEFAULT_QUANTILES, quantile_column
from forecasting.synthetic import generate_network
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


@pytest.mark.slow
def test_tft_beats_seasonal_naive(result):
    overall = result[1].overall()
    assert overall.loc["tft", "sql"] < overall.loc["seasonal_naive", "sql"]
    assert overall.loc["tft", "wape"] < overall.loc["seasonal_naive", "wape"]


@pytest.mark.slow
def test_step_and_cumulative_quantiles_do_not_cross(result, small_network):
    model = result[0]
    frame = small_network.to_frame()
    steps = model.predict(frame)[Q].to_numpy()
    assert (np.diff(steps, axis=1) >= 0).all() and (steps >= 0).all()
    cumulative = model.predict(frame, cumulative=H)
    assert list(cumulative.columns) == ["item_id", "location_id", "horizon", "step_days", *Q]
    values = cumulative[Q].to_numpy().reshape(-1, H, len(Q))
    assert (np.diff(values, axis=2) >= 0).all()  # across quantile levels
    assert (np.diff(values, axis=1) >= -1e-4).all()  # a sum of demand only grows with horizon
    with pytest.raises(ValueError, match="cumulative: expected 1..14"):
        model.predict(frame, cumulative=H + 1)


@pytest.mark.slow
def test_unknown_categories_do_not_crash(result, small_network):
    frame = small_network.to_frame()
    frame["item_id"] = frame["item_id"].astype(str) + "-new"
    frame["category"] = frame["category"].astype(str).replace("grocery", "pharmacy")
    with pytest.warns(UserWarning, match="pharmacy"):
        table = result[0].predict(frame)
    assert np.isfinite(table[Q].to_numpy()).all()


@pytest.mark.slow
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
    from serving.export.onnx import export

    net = build_network("tft", InputDims.from_store(store), H, DEFAULT_QUANTILES, hidden_size=16)
    net.eval()
    series = torch.arange(4)
    batch = make_batch(store, series, torch.full_like(series, 30), 28, H, 1.0)
    path = tmp_path / "tft.onnx"
    export(  # the fast (TorchScript) exporter, without falling back to the dynamo one
        net,
        {k: batch[k] for k in BATCH_KEYS},
        ["quantiles", "cumulative"],
        {k: {0: "batch"} for k in BATCH_KEYS},
        path,
        fallback=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    other = torch.arange(11)  # another batch size than the one exported with
    batch = make_batch(store, other, torch.full_like(other, 100), 28, H, 1.0)
    steps, cumulative = session.run(None, {k: batch[k].numpy() for k in BATCH_KEYS})
    with torch.no_grad():
        expected = net(*(batch[k] for k in BATCH_KEYS))
    np.testing.assert_allclose(steps, expected[0].numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(cumulative, expected[1].numpy(), rtol=1e-4, atol=1e-4)


# ------------------------------------------------- the same function as pytorch-forecasting's


def _pf_vsn_into_ours(pf, ours, real_names, cat_names) -> None:
    """Copy the weights of pytorch-forecasting's VariableSelectionNetwork into ours."""
    with torch.no_grad():
        for k, name in enumerate(real_names):
            prescale, grn = pf.prescalers[name], pf.single_variable_grns[name]
            ours.prescale_weight[k] = prescale.weight[:, 0]
            ours.prescale_bias[k] = prescale.bias
            ours.fc1[k], ours.fc1_bias[k] = grn.fc1.weight.t(), grn.fc1.bias
            ours.fc2[k], ours.fc2_bias[k] = grn.fc2.weight.t(), grn.fc2.bias
            gate = grn.gate_norm.glu.fc
            ours.gate[k], ours.gate_bias[k] = gate.weight.t(), gate.bias
            norm = grn.gate_norm.add_norm.norm
            ours.norm_weight[k], ours.norm_bias[k] = norm.weight, norm.bias
            if hasattr(grn, "resample_norm"):
                ours.residual_mask[k] = grn.resample_norm.mask
                ours.residual_weight[k] = grn.resample_norm.norm.weight
                ours.residual_bias[k] = grn.resample_norm.norm.bias
        for j, name in enumerate(cat_names):
            resample = pf.single_variable_grns[name]
            ours.cat_mask[j] = resample.mask
            ours.cat_norm_weight[j] = resample.norm.weight
            ours.cat_norm_bias[j] = resample.norm.bias
        if len(real_names) + len(cat_names) > 1:
            flat = pf.flattened_grn
            ours.flat_fc1.load_state_dict(flat.fc1.state_dict())
            ours.flat_fc2.load_state_dict(flat.fc2.state_dict())
            if ours.flat_context is not None:
                ours.flat_context.load_state_dict(flat.context.state_dict())
            ours.flat_gate.load_state_dict(flat.gate_norm.glu.fc.state_dict())
            ours.flat_norm.load_state_dict(flat.gate_norm.add_norm.norm.state_dict())
            ours.flat_mask.copy_(flat.resample_norm.mask)
            ours.flat_residual_norm.load_state_dict(flat.resample_norm.norm.state_dict())


@pytest.mark.parametrize(
    "n_real, cards, real_size, hidden, context, lead",
    [
        (3, (6, 3, 8, 32, 13), 8, 32, 32, (4, 6)),  # the encoder of m5: reals and categoricals
        (1, (6, 3, 8, 32, 13), 8, 32, 32, (4, 6)),  # the decoder
        (1, (29, 11, 8), 8, 32, None, (5,)),  # static: no time axis, no context
        (0, (6, 3), 8, 16, 16, (3, 7)),  # only categoricals
        (2, (), 8, 32, 32, (4, 6)),  # only reals
        (1, (), 8, 32, None, (4, 6)),  # one variable: no selection
        (3, (6, 3), 32, 32, 32, (4, 6)),  # real size = hidden: no resampled residual
    ],
)
def test_variable_selection_equals_pytorch_forecasting(
    n_real, cards, real_size, hidden, context, lead
):
    """The batched selection network computes pytorch-forecasting's VariableSelectionNetwork:
    same outputs and weights from the same parameters (randomized away from their init)."""
    from pytorch_forecasting.models.temporal_fusion_transformer.sub_modules import (
        VariableSelectionNetwork,
    )

    from forecasting.models.inputs import CategoricalTables, embedding_size
    from forecasting.models.selection import VariableSelection

    torch.manual_seed(0)
    sizes = [embedding_size(c) for c in cards]
    reals = [f"real{k}" for k in range(n_real)]
    cats = [f"cat{j}" for j in range(len(cards))]
    inputs = {**dict.fromkeys(reals, real_size), **dict(zip(cats, sizes, strict=True))}
    pf = VariableSelectionNetwork(inputs, hidden, dict.fromkeys(cats, True), 0.1, context)
    with torch.no_grad():
        for p in pf.parameters():
            p.add_(0.3 * torch.randn_like(p))
    ours = VariableSelection(n_real, sizes, hidden, real_size, 0.1, context)
    _pf_vsn_into_ours(pf, ours, reals, cats)
    pf.eval(), ours.eval()
    tables = CategoricalTables(cards, sizes)
    x = 3 * torch.randn(*lead, n_real)
    codes = torch.stack([torch.randint(0, c, lead) for c in cards], -1) if cards else None
    codes = codes if codes is not None else torch.zeros(*lead, 0, dtype=torch.long)
    c = torch.randn(lead[0], context) if context else None
    embedded = {n: x[..., k : k + 1] for k, n in enumerate(reals)}
    embedded.update({n: tables.embeddings[j](codes[..., j]) for j, n in enumerate(cats)})
    expanded = None if c is None else c.view(lead[0], *[1] * (len(lead) - 1), -1).expand(*lead, -1)
    with torch.no_grad():
        expected, expected_weights = pf(embedded, expanded)
        table, rows = tables()
        got, weights = ours(x, tables.index(codes), table, rows, c)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(weights, expected_weights.squeeze(-2), rtol=1e-5, atol=1e-5)


def test_gating_blocks_equal_pytorch_forecasting():
    from pytorch_forecasting.models.temporal_fusion_transformer import sub_modules as pf

    from forecasting.models.blocks import GateAddNorm, GatedResidualNetwork

    torch.manual_seed(0)
    theirs = pf.GatedResidualNetwork(16, 16, 16, 0.1, context_size=8).eval()
    ours = GatedResidualNetwork(16, 0.1, context_size=8).eval()
    ours.load_state_dict({k.replace("add_norm.", ""): v for k, v in theirs.state_dict().items()})
    x, context = torch.randn(4, 9, 16), torch.randn(4, 8)
    with torch.no_grad():
        expected = theirs(x, context[:, None].expand(4, 9, 8))
        torch.testing.assert_close(ours(x, context), expected)
        torch.testing.assert_close(ours(x), theirs(x))
    theirs = pf.GateAddNorm(16, dropout=0.1).eval()
    ours = GateAddNorm(16, dropout=0.1).eval()
    ours.load_state_dict({k.replace("add_norm.", ""): v for k, v in theirs.state_dict().items()})
    skip = torch.randn(4, 9, 16)
    with torch.no_grad():
        torch.testing.assert_close(ours(x, skip), theirs(x, skip))


def test_attention_equals_pytorch_forecasting_and_the_fused_kernel(store):
    """Fused heads compute pytorch-forecasting's InterpretableMultiHeadAttention; without the
    weights (``forward``), scaled_dot_product_attention gives the same output."""
    from pytorch_forecasting.models.temporal_fusion_transformer.sub_modules import (
        InterpretableMultiHeadAttention,
    )

    from forecasting.models.tft import InterpretableAttention

    torch.manual_seed(0)
    theirs = InterpretableMultiHeadAttention(2, 16, 0.1, mask_bias=float("-inf")).eval()
    ours = InterpretableAttention(2, 16, 0.1).eval()
    with torch.no_grad():
        ours.q_layer.weight.copy_(torch.cat([q.weight for q in theirs.q_layers]))
        ours.q_layer.bias.copy_(torch.cat([q.bias for q in theirs.q_layers]))
        keys_and_values = [*theirs.k_layers, theirs.v_layer]
        ours.kv_layer.weight.copy_(torch.cat([k.weight for k in keys_and_values]))
        ours.kv_layer.bias.copy_(torch.cat([k.bias for k in keys_and_values]))
        ours.w_h.load_state_dict(theirs.w_h.state_dict())
    series = torch.arange(8)
    batch = make_batch(store, series, torch.full_like(series, 20), 28, H, 1.0)  # short history
    mask = TemporalFusionTransformer._attention_mask(batch["encoder_mask"], H)
    x = torch.randn(8, 28 + H, 16)
    with torch.no_grad():
        expected, expected_weights = theirs(x[:, 28:], x, x, mask)
        out, weights = ours(x[:, 28:], x, x, mask)
        fused, none = ours(x[:, 28:], x, x, mask, need_weights=False)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(weights, expected_weights)
    torch.testing.assert_close(fused, out, rtol=1e-5, atol=1e-5)
    assert none is None


def test_cpu_dropout_drops_at_its_rate_and_keeps_the_mean():
    from forecasting.models.dropout import Dropout

    torch.manual_seed(0)
    layer = Dropout(0.1)
    x = torch.ones(1_000_003)
    y = layer(x)
    assert abs((y == 0).float().mean().item() - 0.1) < 0.002
    assert abs(y.mean().item() - 1.0) < 0.005
    assert torch.unique(y).tolist() == [0.0, pytest.approx(1 / 0.9, rel=1e-4)]
    x.requires_grad_(True)
    layer(x).sum().backward()
    assert ((x.grad == 0) | (x.grad > 1)).all()
    layer.eval()
    assert layer(x) is x


@pytest.mark.parametrize("flags_as_levels", [True, False])
def test_interpret_and_forward_agree(store, flags_as_levels):
    dims = dataclasses.replace(InputDims.from_store(store), flags_as_levels=flags_as_levels)
    net = TemporalFusionTransformer(dims, H, DEFAULT_QUANTILES, hidden_size=16).eval()
    series = torch.arange(6)
    batch = make_batch(store, series, torch.full_like(series, 20), 28, H, 1.0)
    inputs = [batch[k] for k in BATCH_KEYS]
    with torch.no_grad():
        steps, cumulative = net(*inputs)
        out = net.interpret(*inputs)
    torch.testing.assert_close(out["quantiles"], steps, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out["cumulative"], cumulative, rtol=1e-5, atol=1e-5)
    assert out["encoder_weights"].shape == (6, 28, len(net.encoder_names))
    assert out["decoder_weights"].shape == (6, H, len(net.decoder_names))
    assert out["static_weights"].shape == (6, len(net.static_names))
    # Every input is named once, the observation flags among them.
    assert len(set(net.encoder_names)) == len(net.encoder_names)
    assert {"observed", "seasonal_lag_observed"} <= set(net.encoder_names)
    assert "seasonal_lag_observed" in net.decoder_names


def test_runs_saved_with_flags_as_reals_still_load(store):
    """Runs saved before the flags became levels have no ``flags_as_levels`` in their dims and
    weights for a real GRN per flag: they rebuild that network and load."""
    saved = InputDims.from_store(store).to_dict()
    assert saved.pop("flags_as_levels") is True
    old = InputDims.from_dict(saved)
    assert old.flags_as_levels is False
    torch.manual_seed(0)
    net = TemporalFusionTransformer(old, H, DEFAULT_QUANTILES, hidden_size=16)
    assert net.encoder_names[:2] == ("target", "observed")
    reloaded = TemporalFusionTransformer(
        InputDims.from_dict(saved), H, DEFAULT_QUANTILES, hidden_size=16
    )
    reloaded.load_state_dict(net.state_dict())
    new = TemporalFusionTransformer(InputDims.from_store(store), H, DEFAULT_QUANTILES, 16)
    with pytest.raises(RuntimeError, match="size mismatch"):
        new.load_state_dict(net.state_dict())
    series = torch.arange(4)
    batch = make_batch(store, series, torch.full_like(series, 40), 28, H, 1.0)
    with torch.no_grad():
        a = net.eval()(*(batch[k] for k in BATCH_KEYS))
        b = reloaded.eval()(*(batch[k] for k in BATCH_KEYS))
    torch.testing.assert_close(a[0], b[0])


@pytest.mark.parametrize("flags_as_levels", [True, False])
def test_training_and_evaluation_paths_agree_without_dropout(store, monkeypatch, flags_as_levels):
    """Evaluation multiplies layers that dropout separates in training, and lookups replace
    gathers outside exports: with the dropout masks switched off, all paths agree."""
    from forecasting.models import dropout

    dims = dataclasses.replace(InputDims.from_store(store), flags_as_levels=flags_as_levels)
    torch.manual_seed(0)
    net = TemporalFusionTransformer(dims, H, DEFAULT_QUANTILES, hidden_size=16)
    series = torch.arange(6)
    batch = make_batch(store, series, torch.full_like(series, 40), 28, H, 1.0)
    inputs = [batch[k] for k in BATCH_KEYS]
    with torch.no_grad():
        expected = net.eval()(*inputs)
        monkeypatch.setattr(dropout.Dropout, "forward", lambda self, x: x)
        trained = net.train()(*inputs)
        monkeypatch.setattr(torch.compiler, "is_exporting", lambda: True)
        exported = net.eval()(*inputs)
    for got in (trained, exported):
        torch.testing.assert_close(got[0], expected[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(got[1], expected[1], rtol=1e-5, atol=1e-5)


IMPORTANCE_H, IMPORTANCE_L = 7, 28


def test_encoder_importance_ignores_steps_before_the_history():
    store = generate_network(n_items=4, n_locations=1, n_days=120, seed=3).to_store()
    torch.manual_seed(0)
    net = TemporalFusionTransformer(
        InputDims.from_store(store), IMPORTANCE_H, DEFAULT_QUANTILES, 16
    ).eval()
    # Windows with 4 observed periods of 28, one with a full history, one with none.
    series = torch.tensor([0, 1, 2, 3, 0])
    origins = torch.tensor([4, 4, 4, 60, 0])
    importance, _ = interpret_windows(net, store, series, origins, IMPORTANCE_L, IMPORTANCE_H, 1.0)
    got = importance[importance["kind"] == "encoder"].set_index("variable")["importance"]

    # Reference: per window, the mean weight over its observed encoder steps; windows without
    # history left out.
    batch = make_batch(store, series, origins, IMPORTANCE_L, IMPORTANCE_H, 1.0, with_target=False)
    with torch.no_grad():
        weights = net.interpret(*(batch[k] for k in BATCH_KEYS))["encoder_weights"]
    mask = batch["encoder_mask"] > 0
    assert mask.sum(1).tolist() == [4, 4, 4, 28, 0]
    per_window = [weights[b][mask[b]].mean(0) for b in range(len(series)) if mask[b].any()]
    expected = torch.stack(per_window).mean(0)
    for name, value in zip(net.encoder_names, expected.tolist(), strict=True):
        assert abs(got[name] - value) < 1e-5, (name, got[name], value)
    assert abs(got.sum() - 1.0) < 1e-5
