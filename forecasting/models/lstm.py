"""A multi-horizon quantile LSTM, an encoder-decoder in the spirit of MQ-RNN (Wen et al., 2017).

* the encoder LSTM reads the history: scaled demand, its observed mask, known and observed
  covariates and a static context (item / FC / category embeddings, log of the series' scale);
* the decoder LSTM, started from the encoder's state, reads the known-future covariates (prices,
  promotions, events, calendar) of every forecast step at once: no autoregression, so all
  horizons come out of one pass and errors do not compound;
* a shared head maps each decoder step, the encoder summary and a horizon embedding (MQ-RNN's
  horizon-specific context) to non-crossing quantiles of each step and of the cumulative demand
  (:class:`forecasting.models.heads.QuantileHeads`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from forecasting.models.dropout import Dropout
from forecasting.models.heads import ForecastNetwork, make_heads
from forecasting.models.inputs import (
    CategoricalTables,
    InputDims,
    embedding_size,
    seasonal_inputs,
)
from forecasting.models.recurrent import StackedLSTM


class QuantileLSTM(ForecastNetwork):
    """Quantiles (B, H, Q) of the scaled demand of each of the next ``horizon`` periods, and of
    the demand summed over steps 1..h."""

    def __init__(
        self,
        dims: InputDims,
        horizon: int,
        quantiles: Sequence[float],
        hidden_size: int = 64,
        num_layers: int = 2,
        dropout: float = 0.1,
        target_transform: str = "none",
        distribution: str = "quantile",
    ):
        super().__init__()
        self.dims = dims
        self.horizon = horizon
        self.quantiles = tuple(quantiles)
        # Each group's embeddings side by side: one lookup gives a row's columns concatenated.
        static_sizes = [embedding_size(c) for c in dims.static_cat_cards]
        known_sizes = [embedding_size(c) for c in dims.known_cat_cards]
        self.static_embeddings = CategoricalTables(dims.static_cat_cards, static_sizes)
        self.known_embeddings = CategoricalTables(dims.known_cat_cards, known_sizes)
        self.static_context = nn.Sequential(
            nn.Linear(sum(static_sizes) + dims.n_static_real, hidden_size), nn.ELU()
        )
        known_size = len(dims.seasonal_names) + dims.n_known_real + sum(known_sizes)
        encoder_size = 2 + known_size + dims.n_observed_real + hidden_size
        self.encoder = StackedLSTM(encoder_size, hidden_size, num_layers, dropout)
        self.decoder = StackedLSTM(known_size + hidden_size, hidden_size, num_layers, dropout)
        self.horizon_embedding = nn.Embedding(horizon, 8)
        self.head = nn.Sequential(
            nn.Linear(2 * hidden_size + 8, hidden_size), nn.ELU(), Dropout(dropout)
        )
        self.heads = make_heads(hidden_size, self.quantiles, target_transform, distribution)

    def features(
        self,
        encoder_target: torch.Tensor,  # (B, L)
        encoder_mask: torch.Tensor,  # (B, L)
        encoder_real: torch.Tensor,  # (B, L, known + observed reals)
        encoder_cat: torch.Tensor,  # (B, L, known categoricals)
        decoder_real: torch.Tensor,  # (B, H, known reals)
        decoder_cat: torch.Tensor,  # (B, H, known categoricals)
        static_cat: torch.Tensor,  # (B, static categoricals)
        static_real: torch.Tensor,  # (B, static reals + 1)
    ) -> torch.Tensor:
        """What the heads read: (B, H, hidden) per forecast step."""
        batch, length = encoder_target.shape
        static = self.static_context(
            torch.cat([self.static_embeddings.embed(static_cat), static_real], dim=-1)
        )
        if self.dims.season:
            encoder_lag, decoder_lag = seasonal_inputs(
                encoder_target,
                encoder_mask,
                self.horizon,
                self.dims.season,
                self.dims.lag_before_season,
            )
            encoder_real = torch.cat([encoder_lag, encoder_real], dim=-1)
            decoder_real = torch.cat([decoder_lag, decoder_real], dim=-1)
        # The known categoricals of encoder and decoder in one lookup.
        known = self.known_embeddings.embed(torch.cat([encoder_cat, decoder_cat], dim=1))
        encoder_input = torch.cat(
            [
                encoder_target.unsqueeze(-1),
                encoder_mask.unsqueeze(-1),
                encoder_real,
                known[:, :length],
                static.unsqueeze(1).expand(batch, length, static.shape[-1]),
            ],
            dim=-1,
        )
        _, (hidden, cell) = self.encoder(encoder_input)
        decoder_input = torch.cat(
            [
                decoder_real,
                known[:, length:],
                static.unsqueeze(1).expand(batch, self.horizon, static.shape[-1]),
            ],
            dim=-1,
        )
        decoded, _ = self.decoder(decoder_input, (hidden, cell))
        summary = hidden[-1].unsqueeze(1).expand(batch, self.horizon, hidden.shape[-1])
        steps = self.horizon_embedding.weight.unsqueeze(0).expand(batch, -1, -1)
        return self.head(torch.cat([decoded, summary, steps], dim=-1))
