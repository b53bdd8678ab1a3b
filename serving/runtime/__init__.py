"""Inference from model packages through onnxruntime: NumPy and pandas, never torch.

* :mod:`serving.runtime.session` -- one session factory (CUDA then CPU, the provider in use);
* :mod:`serving.runtime.forecast` -- :class:`ForecastPackage`, forecast tables from a package;
* :mod:`serving.runtime.inspection` -- :class:`InspectionPackage`, inspection tables and
  per-item verdicts from a package.
"""

from serving.runtime.forecast import ForecastPackage
from serving.runtime.inspection import InspectionPackage
from serving.runtime.session import OnnxModel, open_model

__all__ = ["ForecastPackage", "InspectionPackage", "OnnxModel", "open_model"]
