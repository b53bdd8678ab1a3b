"""Forecasts from an ``auto`` run's package: the run itself, forecast by PyTorch in-process.

An ``auto`` run forecasts each series with the model its demand class (or segment) chose:
a network, the gradient-boosted trees, a baseline or an average of several. The trees and the
baselines have no ONNX graph, and the routing reads each series' own history, so the package
holds the run's folder as it was saved (the networks' weights, the trees in LightGBM's text
format, the choices) and forecasts with :meth:`forecasting.Forecaster.predict`: the same
numbers as the run, by construction. Weights are read with ``weights_only=True``, every file's
sha256 is checked (the package's manifest and the run's own), and torch is imported only when
such a package is opened: ONNX packages never load it.

The request's table is validated and its notes (levels unseen in training, series that stopped
selling) are made by the same torch-free code as :class:`~serving.runtime.ForecastPackage`'s.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd

from forecasting.grid import build_grid, ended_early
from forecasting.io import read_panel
from forecasting.spec import PanelSpec
from kernels.io import FileError, read_json, sha256_file
from kernels.runfolder import MANIFEST
from serving.package import read_package
from serving.runtime.forecast import (
    ForecastPackage,
    PackagedForecast,
    read_request,
    unseen_note,
)

RUN_FOLDER = "run"
"""The run's own folder inside the package."""

RUNTIME = "pytorch"
"""``manifest["model"]["runtime"]`` of such a package (ONNX packages have none)."""


class RunForecastPackage(PackagedForecast):
    """An ``auto`` run's package, opened for prediction (the interface of
    :class:`~serving.runtime.ForecastPackage`'s ``predict``, plus :meth:`answer` for the service).

    ``requested``: onnxruntime provider names, read as the device: without
    ``CUDAExecutionProvider`` in it the run forecasts on the CPU; by default on CUDA when there
    is one. ``threads``: torch's intra-op threads (the process's setting: torch has no other).
    """

    in_process = True  # the service runs it in a worker thread, not through a batched session

    def __init__(
        self,
        folder: str | Path,
        *,
        requested: list[str] | None = None,
        threads: int | None = None,
    ):
        self.folder = Path(folder)
        self.manifest = read_package(self.folder, task="forecast")
        where = self.folder / "manifest.json"
        try:
            self.pre = self.manifest["preprocessing"]
            PanelSpec.from_dict(self.pre["spec"])  # the run's (see the spec property)
            missing = [k for k in ("horizon", "quantiles", "vocab") if k not in self.pre]
            if missing:
                raise KeyError(f"preprocessing.{missing[0]}")
        except (KeyError, TypeError, ValueError) as exc:
            raise FileError(
                f"{where}: not a forecast package ({type(exc).__name__}: {exc})"
            ) from None
        run = self.folder / RUN_FOLDER
        # The package's hashes leave manifests out; the run's manifest holds the run's hashes.
        if not (run / MANIFEST).is_file():
            raise FileError(f"{run / MANIFEST}: missing (the package holds no run)")
        if sha256_file(run / MANIFEST) != self.manifest["model"].get("sha256"):
            raise FileError(f"{run / MANIFEST}: changed since the package was exported")
        import torch

        from forecasting import Forecaster

        if threads:
            torch.set_num_threads(int(threads))
        self.forecaster = Forecaster.load(run)
        cuda = requested is None or "CUDAExecutionProvider" in requested
        device = "cuda" if cuda and torch.cuda.is_available() else "cpu"
        # The networks share the run's training settings: one device for all of them.
        self.forecaster.train.accelerator = device
        self._provider = f"torch ({device})"
        # Forecasting moves a network to the device and back: one request at a time.
        self._lock = threading.Lock()

    @property
    def spec(self) -> PanelSpec:
        """How a table is read: the run's spec, which both validates the table and forecasts
        it. Set, it is the run's too (``forecast predict --package --gaps zero``): a package
        that kept its own validated a gappy table filled and had the run refuse it, saying to
        give the --gaps zero it was given."""
        return self.forecaster.spec

    @spec.setter
    def spec(self, value: PanelSpec) -> None:
        self.forecaster.spec = value

    @property
    def provider(self) -> str:
        """Where the run forecasts, ``torch (<device>)``, in place of an onnxruntime provider."""
        return self._provider

    def predict(
        self,
        data: pd.DataFrame | str | Path,
        cumulative: int | None = None,
        batch_size: int = 1024,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Forecast the horizon after each series' last observed period, as the run does
        (``batch_size`` and ``progress`` are the ONNX package's; the run batches itself)."""
        return self.answer(data, cumulative)[0]

    def answer(
        self,
        data: pd.DataFrame | str | Path,
        cumulative: int | None = None,
        max_cells: int | None = None,
    ) -> tuple[pd.DataFrame, list[str]]:
        """The forecast table of ``data`` and the notes a client reads with it; ``max_cells``
        bounds the table's grid as :meth:`ForecastPackage.prepare` does."""
        frame = read_panel(data, self.spec) if isinstance(data, str | Path) else data
        clean = read_request(frame, self.spec, self.horizon, cumulative, max_cells)
        grid = build_grid(clean, self.spec, extra_periods=self.horizon)
        # The run's predict warns of these itself (a warnings filter set here would be the
        # whole process's, other threads' requests included).
        unseen = unseen_note(grid, self.pre, warn=False)
        ended = ended_early(grid.keys, grid.dates, grid.end, grid.first_row, cumulative=cumulative)
        notes = [unseen, ended]
        with self._lock:
            table = self.forecaster.predict(frame, cumulative=cumulative)
        return table, [note for note in notes if note]


def is_run_package(manifest: dict) -> bool:
    """Whether a package's manifest is an ``auto`` run's (see the module docstring)."""
    model = manifest.get("model")
    return isinstance(model, dict) and model.get("runtime") == RUNTIME


def open_forecast_package(
    folder: str | Path, *, requested: list[str] | None = None, threads: int | None = None
):
    """A forecast package opened for prediction: :class:`RunForecastPackage` for an ``auto``
    run's, else :class:`~serving.runtime.ForecastPackage` (an ONNX graph)."""
    try:
        manifest = read_json(Path(folder) / MANIFEST)
    except FileError:  # named by the package's own check below
        manifest = {}
    if isinstance(manifest, dict) and is_run_package(manifest):
        return RunForecastPackage(folder, requested=requested, threads=threads)
    return ForecastPackage(folder, requested=requested, threads=threads)
