"""Device and precision choices, made once per run.

GPU first, CPU always: ``auto`` picks CUDA when it is present; bf16 mixed precision is used on GPUs
that support it (Ampere and newer), fp16 mixed on older GPUs, full fp32 on CPU where mixed precision
only slows things down.
"""

from __future__ import annotations

import os

import torch

from training.config import ACCELERATORS, PRECISIONS


def resolve_accelerator(accelerator: str = "auto") -> str:
    """Return ``"cuda"`` or ``"cpu"`` for a requested accelerator name."""
    if accelerator not in ACCELERATORS:
        raise ValueError(f"accelerator: expected one of {ACCELERATORS}, got {accelerator!r}")
    if accelerator == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if accelerator in ("cuda", "gpu"):
        if not torch.cuda.is_available():
            raise ValueError("accelerator: 'cuda' was requested but no CUDA device is available")
        return "cuda"
    return "cpu"


def select_device(accelerator: str = "auto", index: int = 0) -> torch.device:
    """The torch device for single-process work such as prediction and backtests."""
    kind = resolve_accelerator(accelerator)
    return torch.device(f"cuda:{index}") if kind == "cuda" else torch.device("cpu")


def resolve_precision(precision: str, accelerator: str) -> str:
    """Map ``auto`` to the fastest numerically safe precision for the accelerator."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {PRECISIONS}, got {precision!r}")
    kind = resolve_accelerator(accelerator)
    if precision == "auto":
        if kind == "cuda":
            # Without ``including_emulation=False`` torch answers True on pre-Ampere GPUs (V100,
            # T4), where bfloat16 is emulated: those get fp16 mixed precision.
            native = torch.cuda.is_bf16_supported(including_emulation=False)
            return "bf16-mixed" if native else "16-mixed"
        return "32-true"
    if kind == "cpu" and precision == "16-mixed":
        raise ValueError("precision: '16-mixed' needs a CUDA device; use '32-true' or 'bf16-mixed'")
    return precision


def distributed_backend(accelerator: str) -> str:
    """NCCL between GPUs, gloo between CPU processes."""
    return "nccl" if resolve_accelerator(accelerator) == "cuda" else "gloo"


def enable_deterministic_cuda() -> None:
    """cuBLAS needs a fixed workspace for deterministic GEMMs (set before the first CUDA call)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
