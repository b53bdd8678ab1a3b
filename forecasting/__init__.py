"""Demand forecasting per item x location: panel contract, store, networks, metrics, backtests.

The public API::

    from forecasting import Forecaster, PanelSpec
    forecaster = Forecaster("tft", horizon=28, spec=PanelSpec(known_reals=("price",)))
    forecaster.fit("sales.parquet", run_dir="runs/tft")
    forecast = forecaster.predict("sales.parquet")        # quantiles per item, location, day

``PanelSpec`` and the settings (:mod:`forecasting.config`) load without torch. ``Forecaster``
fits through the Lightning assembly of ``training``, which builds on this package; it is
exported lazily (on first use) so that importing ``forecasting`` loads neither Lightning nor a
cycle, and imports still point one way when the package loads.
"""

from forecasting.config import (
    BASELINE_NAMES,
    MODEL_NAMES,
    NETWORK_NAMES,
    BacktestConfig,
    ForecastConfig,
    MonitorConfig,
)
from forecasting.spec import DEFAULT_QUANTILES, PanelSpec, quantile_column

__all__ = [
    "BASELINE_NAMES",
    "DEFAULT_QUANTILES",
    "MODEL_NAMES",
    "NETWORK_NAMES",
    "BacktestConfig",
    "ForecastConfig",
    "Forecaster",
    "MonitorConfig",
    "PanelSpec",
    "quantile_column",
]


def __getattr__(name: str):
    if name == "Forecaster":
        from training.forecaster import Forecaster

        return Forecaster
    raise AttributeError(f"module 'forecasting' has no attribute {name!r}")
