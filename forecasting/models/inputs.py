"""What a network needs to know about its inputs, derived from a store and saved with a run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from forecasting.store import PanelStore


@dataclass(frozen=True)
class InputDims:
    """Sizes of the batch tensors of :data:`forecasting.windows.BATCH_KEYS`."""

    static_cat_cards: tuple[int, ...]
    known_cat_cards: tuple[int, ...]
    n_known_real: int
    n_observed_real: int
    n_static_real: int  # includes log1p(scale), appended by the window cutter
    static_cat_names: tuple[str, ...] = ()
    known_cat_names: tuple[str, ...] = ()
    known_real_names: tuple[str, ...] = ()
    observed_real_names: tuple[str, ...] = ()
    static_real_names: tuple[str, ...] = ()

    @classmethod
    def from_store(cls, store: PanelStore) -> InputDims:
        spec = store.spec
        return cls(
            static_cat_cards=tuple(store.cardinalities[n] for n in store.static_cat_names),
            known_cat_cards=tuple(store.cardinalities[n] for n in store.known_cat_names),
            n_known_real=store.n_known_real,
            n_observed_real=store.n_observed_real,
            n_static_real=store.static_real.shape[1] + 1,
            static_cat_names=store.static_cat_names,
            known_cat_names=store.known_cat_names,
            known_real_names=tuple(n for b in store.known_real for n in b.names),
            observed_real_names=tuple(n for b in store.observed_real for n in b.names),
            static_real_names=(*spec.static_reals, "log_scale"),
        )

    def to_dict(self) -> dict:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, values: dict) -> InputDims:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def embedding_size(cardinality: int) -> int:
    """A common rule of thumb (fast.ai): grows sub-linearly with the number of levels."""
    return max(2, min(32, round(1.6 * cardinality**0.56)))


class CategoricalEmbeddings(nn.Module):
    """One embedding per categorical column of (..., C) integer codes, concatenated."""

    def __init__(self, cardinalities: tuple[int, ...]):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(c, embedding_size(c)) for c in cardinalities)
        self.output_size = sum(e.embedding_dim for e in self.embeddings)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        if not self.embeddings:
            return codes.new_zeros((*codes.shape[:-1], 0), dtype=torch.float32)
        return torch.cat([e(codes[..., i]) for i, e in enumerate(self.embeddings)], dim=-1)
