"""Blocks the networks share compute what the layers they replace compute."""

from __future__ import annotations

import pytest
import torch

from forecasting.models.inputs import DENSE_LOOKUP_LEVELS, CategoricalTables, lookup_sum
from forecasting.models.recurrent import StackedLSTM


def test_stacked_lstm_equals_a_multi_layer_lstm():
    torch.manual_seed(0)
    reference = torch.nn.LSTM(5, 8, 3, batch_first=True, dropout=0.1).eval()
    stacked = StackedLSTM(5, 8, 3, dropout=0.1).eval()
    with torch.no_grad():
        for i, layer in enumerate(stacked.layers):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(layer, f"{name}_l0").copy_(getattr(reference, f"{name}_l{i}"))
    x, state = torch.randn(4, 6, 5), (torch.randn(3, 4, 8), torch.randn(3, 4, 8))
    with torch.no_grad():
        expected, (h, c) = reference(x, state)
        got, (h2, c2) = stacked(x, state)
    for a, b in ((got, expected), (h2, h), (c2, c)):
        torch.testing.assert_close(a, b)


def test_categorical_tables_embed_is_the_embeddings_side_by_side(monkeypatch):
    torch.manual_seed(0)
    tables = CategoricalTables((4, 7, 3), (2, 5, 3))
    codes = torch.stack([torch.randint(0, c, (6, 9)) for c in (4, 7, 3)], dim=-1)
    expected = torch.cat([e(codes[..., i]) for i, e in enumerate(tables.embeddings)], dim=-1)
    torch.testing.assert_close(tables.embed(codes), expected)
    monkeypatch.setattr(torch.compiler, "is_exporting", lambda: True)  # the gather path
    torch.testing.assert_close(tables.embed(codes), expected)
    assert CategoricalTables((), ()).embed(codes[..., :0]).shape == (6, 9, 0)


@pytest.mark.parametrize("levels", [7, DENSE_LOOKUP_LEVELS, DENSE_LOOKUP_LEVELS + 1])
@pytest.mark.parametrize("weighted", [False, True])
def test_lookup_sum_and_its_gradients_equal_a_gather(levels, weighted):
    """Small tables (a one-hot product on CPU) and large ones (embedding_bag) give the sum of
    the looked-up rows and the same gradients for table and weights, repeated codes included."""
    torch.manual_seed(0)
    table = torch.randn(levels, 5, requires_grad=True)
    codes = torch.randint(0, levels, (40, 4))
    codes[0] = codes[0, 0]  # one row reads the same level four times
    weights = torch.rand(40, 4, requires_grad=True) if weighted else None
    grad = torch.randn(40, 5)

    def gradients(out):
        inputs = [table] + ([weights] if weighted else [])
        return torch.autograd.grad(out, inputs, grad)

    reference = table[codes] * (weights.unsqueeze(-1) if weighted else 1.0)
    expected = reference.sum(dim=1)
    got = lookup_sum(table, codes, weights)
    torch.testing.assert_close(got, expected)
    for a, b in zip(gradients(got), gradients(expected)):
        torch.testing.assert_close(a, b)


def test_batched_grns_equal_one_grn_each():
    """The TFT's four static contexts in one batched block compute what four GRNs compute, in
    evaluation (fc2 and the gate multiplied into one map) and in training without dropout."""
    from forecasting.models.blocks import GatedResidualNetwork, GatedResidualNetworks

    torch.manual_seed(0)
    singles = [GatedResidualNetwork(6, dropout=0.0) for _ in range(4)]
    batched = GatedResidualNetworks(4, 6, dropout=0.0)
    with torch.no_grad():
        for k, grn in enumerate(singles):
            grn.gate_norm.norm.weight.uniform_(0.5, 1.5)  # non-trivial affine norms
            grn.gate_norm.norm.bias.uniform_(-0.5, 0.5)
            grn.fc1.bias.uniform_(-0.5, 0.5)
            batched.fc1[k].copy_(grn.fc1.weight.T)
            batched.fc1_bias[k].copy_(grn.fc1.bias)
            batched.fc2[k].copy_(grn.fc2.weight.T)
            batched.fc2_bias[k].copy_(grn.fc2.bias)
            batched.gate[k].copy_(grn.gate_norm.glu.fc.weight.T)
            batched.gate_bias[k].copy_(grn.gate_norm.glu.fc.bias)
            batched.norm_weight[k].copy_(grn.gate_norm.norm.weight)
            batched.norm_bias[k].copy_(grn.gate_norm.norm.bias)
    x = torch.randn(5, 6)
    for mode in ("eval", "train"):
        with torch.no_grad():
            expected = torch.stack([getattr(g, mode)()(x) for g in singles])
            got = getattr(batched, mode)()(x)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_seasonal_inputs_are_the_demand_one_season_back():
    """Against a loop over periods: encoder period t reads t - season; forecast step h reads
    the last cycle before the origin (t - season, t - 2 season...: the seasonal-naive
    forecast) where the encoder holds it; nothing reached is unobserved. An encoder shorter
    than a season (60 weeks, horizon 13: 47 weeks, season 52) still holds the period one
    season back of steps 6..13 (they read 0 before: ``lag_before_season=False``, saved runs)."""
    from forecasting.models.inputs import seasonal_inputs

    torch.manual_seed(0)
    cases = ((10, 8, 3), (12, 6, 12), (5, 4, 7), (14, 30, 7), (47, 13, 52), (5, 12, 7), (3, 2, 7))
    for length, horizon, season in cases:
        target = torch.rand(3, length)
        mask = (torch.rand(3, length) > 0.3).float()
        target = target * mask
        encoder, decoder = seasonal_inputs(target, mask, horizon, season)
        assert encoder.shape == (3, length, 2) and decoder.shape == (3, horizon, 2)
        for t in range(length):
            back = t - season
            expected = (target[:, back], mask[:, back]) if back >= 0 else (0.0, 0.0)
            torch.testing.assert_close(encoder[:, t, 0], torch.as_tensor(expected[0]).expand(3))
            torch.testing.assert_close(encoder[:, t, 1], torch.as_tensor(expected[1]).expand(3))
        for h in range(horizon):
            back = length + h - season  # the period one season back, then one more...
            while back >= length:
                back -= season
            if back < 0:  # before the encoder: nothing to read
                assert decoder[:, h].abs().sum() == 0
                continue
            torch.testing.assert_close(decoder[:, h, 0], target[:, back])
            torch.testing.assert_close(decoder[:, h, 1], mask[:, back])
        _, saved = seasonal_inputs(target, mask, horizon, season, lag_before_season=False)
        if season > length:  # runs saved before read nothing there, and keep doing so
            assert saved.abs().sum() == 0
        else:
            assert torch.equal(saved, decoder)
    assert decoder[:, :4].abs().sum() == 0  # (3, 2, 7): 7 - 3 = 4 steps before the encoder


def test_lstm_under_cpu_autocast_keeps_a_float64_module_in_float64():
    """Autocast leaves float64 tensors alone, and so does nn.LSTM; the fp32 detour of the
    autocast-safe LSTM cast a float64 input to fp32 and failed the weights' dtype check."""
    from forecasting.models.recurrent import LSTM

    torch.manual_seed(0)
    lstm = LSTM(3, 4, 2, batch_first=True).double()
    stacked = StackedLSTM(3, 4, 2).double()
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    state = (torch.randn(2, 2, 4, dtype=torch.float64), torch.randn(2, 2, 4, dtype=torch.float64))
    expected = torch.nn.LSTM.forward(lstm, x, state)[0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = lstm(x, state)[0]
        got_stacked = stacked(x, state)[0]
    assert got.dtype == got_stacked.dtype == torch.float64
    torch.testing.assert_close(got, expected)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # fp32 modules: fp32 output, as before
        out, (h, c) = LSTM(3, 4, batch_first=True)(x.float().bfloat16())
    assert out.dtype == h.dtype == torch.float32
