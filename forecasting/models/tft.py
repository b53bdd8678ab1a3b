"""Temporal Fusion Transformer (Lim et al., 2021) on the project's fixed batch tensors.

The architecture of pytorch-forecasting's ``TemporalFusionTransformer`` (variable selection
networks, gated residual networks, LSTM encoder-decoder, interpretable multi-head attention),
with the same parametrization, computed for speed. What differs from its model class, and why:

* inputs are the fixed-name tensors of :data:`forecasting.windows.BATCH_KEYS`, not a dict, so the
  network exports to ONNX with a dynamic batch dimension;
* no ``pack_padded_sequence`` and no branches on encoder lengths: missing history is a mask
  channel and a key-padding mask in the attention, so one graph serves every batch;
* the attention mask uses ``-inf`` instead of ``-1e9`` (which overflows fp16); every decoder query
  can always see itself, so no softmax row is fully masked;
* variable selection runs over all variables at once (:mod:`forecasting.models.selection`):
  one batched product per layer for the real inputs and one table lookup for all categoricals,
  instead of a Python loop of small networks, one per variable;
* the 0/1 observation flags (the demand's and the seasonal lag's) are two-level categorical
  inputs, not real ones: a level's output is computed once per step, a real input's GRN at
  every time step of every window (runs saved before read them as reals, and still load);
* the attention heads are fused (one query and one key projection), and ``forward`` uses
  ``scaled_dot_product_attention``; :meth:`TemporalFusionTransformer.interpret` computes the
  attention weights explicitly;
* static contexts are broadcast over time instead of expanded, the post-LSTM gate runs once
  over encoder and decoder, a GRN's last two layers are one product when there is no dropout
  between them (evaluation), and CPU dropout draws 16 bits per element
  (:mod:`forecasting.models.dropout`);
* the windows come from the compact store instead of a TimeSeriesDataSet (see benchmarks).

``tests/test_tft.py`` loads pytorch-forecasting's blocks' weights into these and checks they give
the same outputs. Outputs are quantiles of each step and of the cumulative demand (see
:class:`forecasting.models.heads.QuantileHeads`); :meth:`TemporalFusionTransformer.interpret`
also returns the variable-selection weights and the attention over time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from forecasting.models.blocks import GateAddNorm, GatedResidualNetwork, GatedResidualNetworks
from forecasting.models.dropout import Dropout
from forecasting.models.heads import ForecastNetwork, make_heads
from forecasting.models.inputs import (
    CategoricalTables,
    InputDims,
    embedding_size,
    seasonal_inputs,
)
from forecasting.models.recurrent import LSTM
from forecasting.models.selection import VariableSelection


class InterpretableAttention(nn.Module):
    """pytorch-forecasting's ``InterpretableMultiHeadAttention`` with its heads fused: one query
    and one key projection for all heads (per-head blocks initialized as it does), one batched
    product for the scores. Values are shared by the heads, whose outputs are averaged, so each
    head's attention stays a distribution over time steps that can be read."""

    def __init__(self, n_head: int, d_model: int, dropout: float = 0.0, mask_bias=float("-inf")):
        super().__init__()
        self.n_head, self.d_model = n_head, d_model
        self.d_k = d_model // n_head
        self.mask_bias = mask_bias
        self.dropout = Dropout(dropout)
        self.q_layer = nn.Linear(d_model, n_head * self.d_k)
        # Keys of every head and the shared values from one product: (heads + 1) blocks.
        self.kv_layer = nn.Linear(d_model, (n_head + 1) * self.d_k)
        self.w_h = nn.Linear(self.d_k, d_model, bias=False)
        for layer in (self.q_layer, self.kv_layer):  # xavier per block, as per-head layers
            for block in layer.weight.data.split(self.d_k):
                nn.init.xavier_uniform_(block)
            nn.init.zeros_(layer.bias)
        nn.init.xavier_uniform_(self.w_h.weight)

    def forward(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None = None,
        need_weights: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, Q, d) output and (B, Q, heads, K) attention (None unless ``need_weights``: then
        the fused kernel of ``scaled_dot_product_attention`` computes the same output);
        ``mask`` (B, Q, K) is True where a query may not look."""
        batch, n_query, _ = q.shape
        heads, d_k = self.n_head, self.d_k
        queries = self.q_layer(q).view(batch, n_query, heads, d_k).transpose(1, 2)
        if k is v:
            keys, values = self.kv_layer(k).split([heads * d_k, d_k], dim=-1)
        else:
            weight, bias = self.kv_layer.weight, self.kv_layer.bias
            keys = F.linear(k, weight[: heads * d_k], bias[: heads * d_k])
            values = F.linear(v, weight[heads * d_k :], bias[heads * d_k :])
        keys = keys.reshape(batch, k.shape[1], heads, d_k).transpose(1, 2)
        values = values.unsqueeze(1)  # (B, 1, K, d_k), shared by the heads
        attention = None
        # The fused kernel's backward on CUDA (cuDNN attention) is not deterministic (PyTorch
        # warned so on an H200), so a run that asks for repeatable kernels takes the explicit
        # product there, which computes the same output.
        explicit = need_weights or (
            queries.is_cuda
            and torch.is_grad_enabled()
            and torch.are_deterministic_algorithms_enabled()
        )
        if explicit:
            scores = torch.matmul(queries, keys.transpose(-1, -2)) / math.sqrt(d_k)
            if mask is not None:
                scores = scores.masked_fill(mask.unsqueeze(1), self.mask_bias)
            weights = torch.softmax(scores, dim=-1)  # (B, heads, Q, K)
            out = torch.matmul(weights, values)
            attention = weights.transpose(1, 2) if need_weights else None
        else:
            allowed = None if mask is None else ~mask.unsqueeze(1)
            out = F.scaled_dot_product_attention(
                queries, keys, values.expand(-1, heads, -1, -1), attn_mask=allowed
            )
        out = self.dropout(out).mean(dim=1)  # each head's output dropped, then averaged
        return self.dropout(self.w_h(out)), attention


class TemporalFusionTransformer(ForecastNetwork):
    """Quantiles (B, H, Q) of scaled demand per step and cumulated over steps."""

    def __init__(
        self,
        dims: InputDims,
        horizon: int,
        quantiles: Sequence[float],
        hidden_size: int = 32,
        attention_heads: int = 2,
        dropout: float = 0.1,
        hidden_continuous_size: int = 8,
        lstm_layers: int = 1,
        target_transform: str = "none",
        distribution: str = "quantile",
    ):
        super().__init__()
        self.dims = dims
        self.horizon = horizon
        self.quantiles = tuple(quantiles)
        self.hidden_size = hidden_size
        # Variables in the order of the selection weights: reals first, then categoricals.
        self.static_names = (*dims.static_real_names, *dims.static_cat_names)
        # The seasonal lag leads the known reals of encoder and decoder. The 0/1 observation
        # flags enter as two-level categoricals (a level's output is computed once per step,
        # where a real input runs its own GRN at every time step: with two flags among the
        # encoder's five reals that was a third of the encoder's selection network); the
        # decoder's flag comes first, so its table is a leading part of the encoder's.
        seasonal = dims.seasonal_names
        if dims.flags_as_levels:
            lead, reals, flags = ("target",), seasonal[:1], (*seasonal[1:], "observed")
        else:  # runs saved before: the flags are real inputs
            lead, reals, flags = ("target", "observed"), seasonal, ()
        known_reals = (*reals, *dims.known_real_names)
        self.encoder_names = (
            *lead,
            *known_reals,
            *dims.observed_real_names,
            *dims.known_cat_names,
            *flags,
        )
        self.decoder_names = (*known_reals, *dims.known_cat_names, *flags[:-1])
        self.n_flags = len(flags)

        static_sizes = [embedding_size(c) for c in dims.static_cat_cards]
        known_cards = [*dims.known_cat_cards, *[2] * self.n_flags]
        known_sizes = [embedding_size(c) for c in known_cards]
        self.static_embeddings = CategoricalTables(dims.static_cat_cards, static_sizes)
        self.known_embeddings = CategoricalTables(known_cards, known_sizes)
        n_known_real = len(known_reals)
        n_encoder_real = len(lead) + n_known_real + dims.n_observed_real
        self.n_decoder_cat = len(dims.known_cat_cards) + len(flags[:-1])

        def vsn(n_real: int, cat_sizes: list[int], context: int | None) -> VariableSelection:
            return VariableSelection(
                n_real, cat_sizes, hidden_size, hidden_continuous_size, dropout, context
            )

        self.static_selection = vsn(dims.n_static_real, static_sizes, None)
        self.encoder_selection = vsn(n_encoder_real, known_sizes, hidden_size)
        self.decoder_selection = vsn(n_known_real, known_sizes[: self.n_decoder_cat], hidden_size)

        def grn() -> GatedResidualNetwork:
            return GatedResidualNetwork(hidden_size, dropout)

        # The four static contexts (selection, enrichment, LSTM hidden and cell state) at once.
        self.static_contexts = GatedResidualNetworks(4, hidden_size, dropout)

        self.lstm_layers = lstm_layers
        lstm_dropout = dropout if lstm_layers > 1 else 0.0
        self.lstm_encoder = LSTM(
            hidden_size, hidden_size, lstm_layers, batch_first=True, dropout=lstm_dropout
        )
        self.lstm_decoder = LSTM(
            hidden_size, hidden_size, lstm_layers, batch_first=True, dropout=lstm_dropout
        )
        # One gate and norm after both LSTMs (pytorch-forecasting shares them too).
        self.post_lstm_gate_norm = GateAddNorm(hidden_size, dropout=dropout)
        self.static_enrichment = GatedResidualNetwork(hidden_size, dropout, hidden_size)
        self.attention = InterpretableAttention(
            n_head=attention_heads, d_model=hidden_size, dropout=dropout, mask_bias=float("-inf")
        )
        self.post_attention_gate_norm = GateAddNorm(hidden_size, dropout=dropout)
        self.positionwise = grn()
        self.pre_output_gate_norm = GateAddNorm(hidden_size, dropout=None)
        self.heads = make_heads(hidden_size, self.quantiles, target_transform, distribution)

    # ----------------------------------------------------------------- forward

    def features(self, *inputs: torch.Tensor) -> torch.Tensor:
        """What the heads read: (B, H, hidden) per forecast step (inputs: see :meth:`_run`)."""
        return self._run(*inputs, need_weights=False)["features"]

    def interpret(self, *inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Forecasts plus variable weights (static, encoder, decoder) and attention."""
        out = self._run(*inputs, need_weights=True)
        quantiles, cumulative = self.heads(out.pop("features"), inputs[-1][:, -1])
        return {"quantiles": quantiles, "cumulative": cumulative, **out}

    def _run(
        self,
        encoder_target: torch.Tensor,
        encoder_mask: torch.Tensor,
        encoder_real: torch.Tensor,
        encoder_cat: torch.Tensor,
        decoder_real: torch.Tensor,
        decoder_cat: torch.Tensor,
        static_cat: torch.Tensor,
        static_real: torch.Tensor,
        need_weights: bool,
    ) -> dict:
        length = encoder_target.shape[1]
        horizon = decoder_real.shape[1]
        table, rows = self.static_embeddings()
        static, static_weights = self.static_selection(
            static_real, self.static_embeddings.index(static_cat), table, rows
        )
        selection_context, enrichment, hidden, cell = self.static_contexts(static).unbind(0)

        encoder_flags, decoder_flags = [encoder_mask], []
        if self.dims.season:
            encoder_lag, decoder_lag = seasonal_inputs(
                encoder_target, encoder_mask, horizon, self.dims.season, self.dims.lag_before_season
            )
            if self.n_flags:  # the lag's value a real input, its flag a level
                encoder_flags.insert(0, encoder_lag[..., 1])
                decoder_flags.append(decoder_lag[..., 1])
                encoder_lag, decoder_lag = encoder_lag[..., :1], decoder_lag[..., :1]
            encoder_real = torch.cat([encoder_lag, encoder_real], dim=-1)
            decoder_real = torch.cat([decoder_lag, decoder_real], dim=-1)
        table, rows = self.known_embeddings()
        if self.n_flags:
            encoder_reals = torch.cat([encoder_target.unsqueeze(-1), encoder_real], dim=-1)
            encoder_cat = torch.cat([encoder_cat, self._levels(encoder_flags)], dim=-1)
            if decoder_flags:
                decoder_cat = torch.cat([decoder_cat, self._levels(decoder_flags)], dim=-1)
        else:
            encoder_reals = torch.cat(
                [encoder_target.unsqueeze(-1), encoder_mask.unsqueeze(-1), encoder_real], dim=-1
            )
        embedded_encoder, encoder_weights = self.encoder_selection(
            encoder_reals, self.known_embeddings.index(encoder_cat), table, rows, selection_context
        )
        if table is not None and rows is not None:
            table, rows = self.known_embeddings.leading(table, rows, self.n_decoder_cat)
        embedded_decoder, decoder_weights = self.decoder_selection(
            decoder_real, self.known_embeddings.index(decoder_cat), table, rows, selection_context
        )

        hidden = hidden.unsqueeze(0).repeat(self.lstm_layers, 1, 1)
        cell = cell.unsqueeze(0).repeat(self.lstm_layers, 1, 1)
        encoder_out, (hidden, cell) = self.lstm_encoder(embedded_encoder, (hidden, cell))
        decoder_out, _ = self.lstm_decoder(embedded_decoder, (hidden, cell))
        lstm_out = self.post_lstm_gate_norm(
            torch.cat([encoder_out, decoder_out], dim=1),
            torch.cat([embedded_encoder, embedded_decoder], dim=1),
        )

        # The static context enters once per series, broadcast over the time steps.
        enriched = self.static_enrichment(lstm_out, enrichment)
        query = enriched[:, length:]
        attended, attention = self.attention(
            query, enriched, enriched, self._attention_mask(encoder_mask, horizon), need_weights
        )
        attended = self.post_attention_gate_norm(attended, query)
        output = self.positionwise(attended)
        return {
            "features": self.pre_output_gate_norm(output, lstm_out[:, length:]),
            "static_weights": static_weights,
            "encoder_weights": encoder_weights,
            "decoder_weights": decoder_weights,
            "attention": attention,  # (B, H, heads, L + H)
        }

    @staticmethod
    def _levels(flags: list[torch.Tensor]) -> torch.Tensor:
        """0/1 flags (..., T) each -> codes (..., T, flags)."""
        return (torch.stack(flags, dim=-1) > 0.5).long()

    @staticmethod
    def _attention_mask(encoder_mask: torch.Tensor, horizon: int) -> torch.Tensor:
        """True where a decoder step may not look: unobserved history and future steps."""
        batch, length = encoder_mask.shape
        steps = torch.arange(horizon, device=encoder_mask.device)
        future = steps[None, :] > steps[:, None]  # (H, H): step h sees decoder steps <= h
        padding = encoder_mask <= 0  # (B, L)
        return torch.cat(
            [
                padding[:, None, :].expand(batch, horizon, length),
                future[None].expand(batch, horizon, horizon),
            ],
            dim=2,
        )
