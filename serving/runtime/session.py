"""One way to open an ONNX model: providers CUDA first then CPU, the one in use reported.

onnxruntime falls back to the CPU without an error when the CUDA provider cannot load (a
missing cuDNN, a driver mismatch): :func:`open_model` reads ``get_providers()`` after creating
the session, reports the provider actually in use, and warns when CUDA was asked for and is
available but did not load. Some CUDA failures onnxruntime does not fall back from (a GPU out
of memory while the session initializes raises its ``Fail``, not a ``RuntimeError``; a failed
warm-up run): :func:`open_model` then warns and opens the graph on the CPU. onnxruntime may also
move a session to the CPU later, on a provider failure in ``run`` (``EPFail``): ``provider``
reads the session each time, so what is reported is what runs.
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
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]

    @property
    def provider(self) -> str:
        """The provider the session runs on now. Read live, not stored: onnxruntime's
        ``run`` moves a session to the CPU on a provider failure (``EPFail``), and a name kept
        from creation went on reporting CUDA for a session running on the CPU."""
        return self.session.get_providers()[0]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the graph on ``feeds`` (input name -> array); every output, by name."""
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
    try:
        model = _open(path, options, chosen, warm_up)
    except Exception as exc:
        if chosen == ["CPUExecutionProvider"]:
            raise
        # CUDA first, the CPU as fallback: a provider that fails while the session is created or
        # warmed up (onnxruntime retries only on a RuntimeError at creation; a GPU out of memory
        # raised its Fail, and the package was refused, not served on the CPU).
        warnings.warn(
            f"{path}: {chosen[0]} failed ({type(exc).__name__}: {exc}); running on "
            "CPUExecutionProvider",
            RuntimeWarning,
            stacklevel=2,
        )
        return _open(path, options, ["CPUExecutionProvider"], warm_up)
    in_use = model.provider  # after the warm-up, which may have moved the session
    if chosen[0] == "CUDAExecutionProvider" and in_use != chosen[0]:
        warnings.warn(
            f"{path}: the CUDA provider is installed but did not load; running on {in_use}",
            RuntimeWarning,
            stacklevel=2,
        )
    return model


def _open(
    path: str | Path,
    options: ort.SessionOptions,
    chosen: list[str],
    warm_up: dict[str, np.ndarray] | None,
) -> OnnxModel:
    """A session on ``chosen``, warmed up once."""
    session = ort.InferenceSession(str(path), options, providers=chosen)
    model = OnnxModel(
        session,
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
