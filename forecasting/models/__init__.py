"""Forecasting networks (LSTM, TFT) and statistical baselines."""

from forecasting.models.baselines import MovingAverage, SeasonalNaive
from forecasting.models.inputs import InputDims
from forecasting.models.lstm import QuantileLSTM
from forecasting.models.tft import TemporalFusionTransformer

__all__ = [
    "NETWORKS",
    "InputDims",
    "MovingAverage",
    "QuantileLSTM",
    "SeasonalNaive",
    "TemporalFusionTransformer",
    "build_network",
]

NETWORKS = {"lstm": QuantileLSTM, "tft": TemporalFusionTransformer}
"""Network classes by the name the CLI and configs use."""


def build_network(name: str, dims: InputDims, horizon: int, quantiles, **params):
    """Instantiate the network ``name`` for inputs ``dims``."""
    if name not in NETWORKS:
        raise ValueError(f"model: expected one of {sorted(NETWORKS)}, got {name!r}")
    import inspect

    accepted = inspect.signature(NETWORKS[name]).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        known = [k for k in accepted if k not in ("dims", "horizon", "quantiles")]
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(
                f"model_params: {name} has no argument {unknown}; its arguments: {known}"
            )
    return NETWORKS[name](dims, horizon, quantiles, **params)
