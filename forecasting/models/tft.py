"""Temporal Fusion Transformer (Lim et al., 2021) on the project's fixed batch tensors.

Built from pytorch-forecasting's TFT building blocks (variable selection networks, gated residual
networks, gate-add-norm, interpretable multi-head attention). What differs from its model class,
and why:

* inputs are the fixed-name tensors of :data:`forecasting.windows.BATCH_KEYS`, not a dict, so the
  network exports to ONNX with a dynamic batch dimension;
* no ``pack_padded_sequence`` and no branches on encoder lengths: missing history is a mask
  channel and a key-padding mask in the attention, so one graph serves every batch;
* the attention mask uses ``-inf`` instead of ``-1e9`` (which overflows fp16); every decoder query
  can always see itself, so no softmax row is fully masked;
* the windows come from the compact store instead of a TimeSeriesDataSet (see benchmarks).

Outputs are quantiles of each step and of the cumulative demand (see
:class:`forecasting.models.heads.QuantileHeads`); :meth:`TemporalFusionTransformer.interpret`
also returns the variable-selection weights and the attention over time.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from pytorch_forecasting.models.temporal_fusion_transformer.sub_modules import (
    AddNorm,
    GateAddNorm,
    GatedLinearUnit,
    GatedResidualNetwork,
    InterpretableMultiHeadAttention,
    VariableSelectionNetwork,
)
from torch import nn

from forecasting.models.heads import QuantileHeads
from forecasting.models.inputs import InputDims, embedding_size
from forecasting.models.recurrent import LSTM


class TemporalFusionTransformer(nn.Module):
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
    ):
        super().__init__()
        self.dims = dims
        self.horizon = horizon
        self.quantiles = tuple(quantiles)
        self.hidden_size = hidden_size
        self.static_names = (*dims.static_cat_names, *dims.static_real_names)
        self.encoder_names = (
            "target",
            "observed",
            *dims.known_real_names,
            *dims.observed_real_names,
            *dims.known_cat_names,
        )
        self.decoder_names = (*dims.known_real_names, *dims.known_cat_names)

        self.static_embeddings = nn.ModuleList(
            nn.Embedding(c, embedding_size(c)) for c in dims.static_cat_cards
        )
        self.known_embeddings = nn.ModuleList(
            nn.Embedding(c, embedding_size(c)) for c in dims.known_cat_cards
        )
        static_sizes = {
            name: embedding_size(c)
            for name, c in zip(dims.static_cat_names, dims.static_cat_cards, strict=True)
        }
        static_sizes.update({name: hidden_continuous_size for name in dims.static_real_names})
        known_cat_sizes = {
            name: embedding_size(c)
            for name, c in zip(dims.known_cat_names, dims.known_cat_cards, strict=True)
        }
        real = dict.fromkeys(
            ("target", "observed", *dims.known_real_names, *dims.observed_real_names),
            hidden_continuous_size,
        )
        encoder_sizes = {**real, **known_cat_sizes}
        decoder_sizes = {
            **dict.fromkeys(dims.known_real_names, hidden_continuous_size),
            **known_cat_sizes,
        }
        embedded = dict.fromkeys((*dims.static_cat_names, *dims.known_cat_names), True)

        def vsn(sizes: dict[str, int], context: int | None) -> VariableSelectionNetwork:
            return VariableSelectionNetwork(
                input_sizes=sizes,
                hidden_size=hidden_size,
                input_embedding_flags={k: True for k in sizes if k in embedded},
                dropout=dropout,
                context_size=context,
            )

        self.static_selection = vsn(static_sizes, None)
        self.encoder_selection = vsn(encoder_sizes, hidden_size)
        self.decoder_selection = vsn(decoder_sizes, hidden_size)

        def grn() -> GatedResidualNetwork:
            return GatedResidualNetwork(hidden_size, hidden_size, hidden_size, dropout)

        self.static_context_selection = grn()
        self.static_context_enrichment = grn()
        self.static_context_hidden = grn()
        self.static_context_cell = grn()

        self.lstm_layers = lstm_layers
        lstm_dropout = dropout if lstm_layers > 1 else 0.0
        self.lstm_encoder = LSTM(
            hidden_size, hidden_size, lstm_layers, batch_first=True, dropout=lstm_dropout
        )
        self.lstm_decoder = LSTM(
            hidden_size, hidden_size, lstm_layers, batch_first=True, dropout=lstm_dropout
        )
        self.post_lstm_gate_encoder = GatedLinearUnit(hidden_size, dropout=dropout)
        self.post_lstm_gate_decoder = self.post_lstm_gate_encoder
        self.post_lstm_add_norm_encoder = AddNorm(hidden_size, trainable_add=False)
        self.post_lstm_add_norm_decoder = self.post_lstm_add_norm_encoder

        self.static_enrichment = GatedResidualNetwork(
            hidden_size, hidden_size, hidden_size, dropout, context_size=hidden_size
        )
        self.attention = InterpretableMultiHeadAttention(
            n_head=attention_heads, d_model=hidden_size, dropout=dropout, mask_bias=float("-inf")
        )
        self.post_attention_gate_norm = GateAddNorm(hidden_size, dropout=dropout)
        self.positionwise = grn()
        self.pre_output_gate_norm = GateAddNorm(hidden_size, dropout=None)
        self.heads = QuantileHeads(hidden_size, self.quantiles)

    # ------------------------------------------------------------------ inputs

    def _static_inputs(self, static_cat, static_real) -> dict[str, torch.Tensor]:
        inputs = {
            name: emb(static_cat[:, i])
            for i, (name, emb) in enumerate(
                zip(self.dims.static_cat_names, self.static_embeddings, strict=True)
            )
        }
        for i, name in enumerate(self.dims.static_real_names):
            inputs[name] = static_real[:, i : i + 1]
        return inputs

    def _known_cats(self, codes: torch.Tensor) -> dict[str, torch.Tensor]:
        return {
            name: emb(codes[..., i])
            for i, (name, emb) in enumerate(
                zip(self.dims.known_cat_names, self.known_embeddings, strict=True)
            )
        }

    # ----------------------------------------------------------------- forward

    def forward(
        self,
        encoder_target: torch.Tensor,
        encoder_mask: torch.Tensor,
        encoder_real: torch.Tensor,
        encoder_cat: torch.Tensor,
        decoder_real: torch.Tensor,
        decoder_cat: torch.Tensor,
        static_cat: torch.Tensor,
        static_real: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.interpret(
            encoder_target,
            encoder_mask,
            encoder_real,
            encoder_cat,
            decoder_real,
            decoder_cat,
            static_cat,
            static_real,
        )
        return out["quantiles"], out["cumulative"]

    def interpret(
        self,
        encoder_target: torch.Tensor,
        encoder_mask: torch.Tensor,
        encoder_real: torch.Tensor,
        encoder_cat: torch.Tensor,
        decoder_real: torch.Tensor,
        decoder_cat: torch.Tensor,
        static_cat: torch.Tensor,
        static_real: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Forecasts plus variable weights (static, encoder, decoder) and attention."""
        batch, length = encoder_target.shape
        horizon = decoder_real.shape[1]
        static, static_weights = self.static_selection(self._static_inputs(static_cat, static_real))
        selection_context = self.static_context_selection(static)

        encoder_inputs = {
            "target": encoder_target.unsqueeze(-1),
            "observed": encoder_mask.unsqueeze(-1),
        }
        names = (*self.dims.known_real_names, *self.dims.observed_real_names)
        for i, name in enumerate(names):
            encoder_inputs[name] = encoder_real[..., i : i + 1]
        encoder_inputs.update(self._known_cats(encoder_cat))
        decoder_inputs = {
            name: decoder_real[..., i : i + 1] for i, name in enumerate(self.dims.known_real_names)
        }
        decoder_inputs.update(self._known_cats(decoder_cat))

        embedded_encoder, encoder_weights = self.encoder_selection(
            encoder_inputs, selection_context.unsqueeze(1).expand(batch, length, -1)
        )
        embedded_decoder, decoder_weights = self.decoder_selection(
            decoder_inputs, selection_context.unsqueeze(1).expand(batch, horizon, -1)
        )

        hidden = self.static_context_hidden(static).unsqueeze(0).repeat(self.lstm_layers, 1, 1)
        cell = self.static_context_cell(static).unsqueeze(0).repeat(self.lstm_layers, 1, 1)
        encoder_out, (hidden, cell) = self.lstm_encoder(embedded_encoder, (hidden, cell))
        decoder_out, _ = self.lstm_decoder(embedded_decoder, (hidden, cell))
        encoder_out = self.post_lstm_add_norm_encoder(
            self.post_lstm_gate_encoder(encoder_out), embedded_encoder
        )
        decoder_out = self.post_lstm_add_norm_decoder(
            self.post_lstm_gate_decoder(decoder_out), embedded_decoder
        )
        lstm_out = torch.cat([encoder_out, decoder_out], dim=1)

        enrichment = self.static_context_enrichment(static)
        enriched = self.static_enrichment(
            lstm_out, enrichment.unsqueeze(1).expand(batch, length + horizon, -1)
        )
        query = enriched[:, length:]
        attended, attention = self.attention(
            q=query, k=enriched, v=enriched, mask=self._attention_mask(encoder_mask, horizon)
        )
        attended = self.post_attention_gate_norm(attended, query)
        output = self.positionwise(attended)
        output = self.pre_output_gate_norm(output, lstm_out[:, length:])
        quantiles, cumulative = self.heads(output)
        return {
            "quantiles": quantiles,
            "cumulative": cumulative,
            "static_weights": static_weights.squeeze(1),
            "encoder_weights": encoder_weights.squeeze(2),
            "decoder_weights": decoder_weights.squeeze(2),
            "attention": attention,  # (B, H, heads, L + H)
        }

    @staticmethod
    def _attention_mask(encoder_mask: torch.Tensor, horizon: int) -> torch.Tensor:
        """True where a decoder step may not look: unobserved history and future steps."""
        batch, length = encoder_mask.shape
        device = encoder_mask.device
        steps = torch.arange(horizon, device=device)
        future = steps[None, :] > steps[:, None]  # (H, H): step h sees decoder steps <= h
        padding = encoder_mask <= 0  # (B, L)
        return torch.cat(
            [
                padding[:, None, :].expand(batch, horizon, length),
                future[None].expand(batch, horizon, horizon),
            ],
            dim=2,
        )
