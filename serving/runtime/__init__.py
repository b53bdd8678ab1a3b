"""Inference from model packages through onnxruntime: NumPy and pandas, never torch (but for
an ``auto`` run's package, below).

* :mod:`serving.runtime.session` -- one session factory (CUDA then CPU, the provider in use);
* :mod:`serving.runtime.forecast` -- :class:`ForecastPackage`, forecast tables from a package;
* :mod:`serving.runtime.pytorch` -- :class:`RunForecastPackage`, an ``auto`` run's package (its
  trees and baselines have no graph: forecast by PyTorch, imported only then), and
  :func:`open_forecast_package`, which opens either kind;
* :mod:`serving.runtime.inspection` -- :class:`InspectionPackage`, inspection tables and
  per-item verdicts from a package.
"""

from serving.runtime.forecast import ForecastPackage
from serving.runtime.inspection import InspectionPackage
from serving.runtime.pytorch import RunForecastPackage, open_forecast_package
from serving.runtime.session import OnnxModel, open_model

__all__ = [
    "ForecastPackage",
    "InspectionPackage",
    "OnnxModel",
    "RunForecastPackage",
    "open_forecast_package",
    "open_model",
]
