"""One way to open an ONNX model: providers CUDA first then CPU, the one in use reported.

onnxruntime falls back to the CPU without an error when the CUDA provider cannot load (a
missing cuDNN, a driver mismatch): :func:`open_model` reads ``get_providers()`` after creating
the session, reports the provider actually in use, and warns when CUDA was asked for and is
available but did not load.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

PREFERRED = ("CUDAExecutionProvider", "CPUExecutionProvider")
# Every tensor type numpy holds: the warm-up of a graph with a double, int32 or float16 input
# sent float32 zeros, which onnxruntime refuses, so such a model could not be opened at all.
_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint64)": np.uint64,
    "tensor(uint32)": np.uint32,
    "tensor(uint16)": np.uint16,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
    "tensor(string)": object,
}


@dataclass
class OnnxModel:
    """An open session and what it runs on."""

    session: ort.InferenceSession
    provider: str
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self.session.run(list(self.output_names), feeds)
        return dict(zip(self.output_names, outputs, strict=True))


def providers(requested: Sequence[str] | None = None) -> list[str]:
    """``requested`` (default CUDA then CPU) filtered by what this onnxruntime build has."""
    available = set(ort.get_available_providers())
    chosen = [p for p in (requested or PREFERRED) if p in available]
    return chosen or ["CPUExecutionProvider"]


def open_model(
    path: str | Path,
    *,
    requested: Sequence[str] | None = None,
    threads: int | None = None,
    warm_up: dict[str, np.ndarray] | None = None,
) -> OnnxModel:
    """Create a session with all graph optimizations, ``threads`` intra-op threads (default:
    the CPUs this process may use), the best available provider, and one warm-up run (on
    ``warm_up`` or on the smallest inputs the graph accepts)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
    options.log_severity_level = 3  # errors only: no provider-assignment chatter
    chosen = providers(requested)
    session = ort.InferenceSession(str(path), options, providers=chosen)
    in_use = session.get_providers()[0]
    if chosen[0] == "CUDAExecutionProvider" and in_use != chosen[0]:
        warnings.warn(
            f"{path}: the CUDA provider is installed but did not load; running on {in_use}",
            RuntimeWarning,
            stacklevel=2,
        )
    model = OnnxModel(
        session,
        in_use,
        tuple(i.name for i in session.get_inputs()),
        tuple(o.name for o in session.get_outputs()),
    )
    model.run(warm_up if warm_up is not None else smallest_inputs(session))
    return model


def smallest_inputs(session: ort.InferenceSession) -> dict[str, Any]:
    """Zeros (empty strings) of every input with dynamic axes set to 1."""
    feeds: dict[str, Any] = {}
    for arg in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in arg.shape]
        dtype = _DTYPES.get(arg.type, np.float32)
        feeds[arg.name] = np.full(shape, "" if dtype is object else 0, dtype=dtype)
    return feeds
