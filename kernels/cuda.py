"""``numba.cuda`` versions of the batched kernels: safety stock from samples, per-SKU allocation.

They share their scalar logic with the CPU kernels (``register_jitable`` helpers), so the two
agree up to the order of floating-point sums. One GPU thread handles one row (safety stock) or
one SKU (allocation), which suits millions of rows and thousands of SKUs. Order statistics are
found by rank counting (O(n_samples^2) comparisons per row, no scratch memory), which is cheap on
a GPU for the ~100 samples a row carries.

Import this module only where a GPU (or the CUDA simulator, ``NUMBA_ENABLE_CUDASIM=1`` set before
numba is imported) is wanted; ``kernels`` itself never imports it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from . import validate as v
from .allocation import allocate_one, expected_sales, prepare_allocation_inputs
from .samples import lerp, quantile_index

_THREADS = 128


@cuda.jit
def _ss_samples_kernel(samples, service_level, ss, rop):
    i = cuda.grid(1)
    if i >= samples.shape[0]:
        return
    n = samples.shape[1]
    total = 0.0
    for j in range(n):
        # float(): accumulate in float64 whatever the sample dtype (and the simulator's NumPy
        # scalar rules).
        total += float(samples[i, j])
    mean = total / n
    if n == 1:
        level = float(samples[i, 0])
    else:
        k, frac = quantile_index(n, service_level[i])
        xk = 0.0
        xk1 = 0.0
        for j in range(n):
            x = samples[i, j]
            below = 0
            at_or_below = 0
            for t in range(n):
                w = samples[i, t]
                if w < x:
                    below += 1
                if w <= x:
                    at_or_below += 1
            # x occupies ranks below .. at_or_below - 1 in sorted order.
            if below <= k < at_or_below:
                xk = x
            if below <= k + 1 < at_or_below:
                xk1 = x
        level = lerp(float(xk), float(xk1), frac)
    rop[i] = level
    ss[i] = level - mean


def _require_cuda():
    if not cuda.is_available():
        raise RuntimeError(
            "no CUDA device: run on a GPU, or set NUMBA_ENABLE_CUDASIM=1 before importing numba"
        )


def safety_stock_from_samples_cuda(samples, service_level) -> tuple[np.ndarray, np.ndarray]:
    """GPU version of :func:`kernels.policies.safety_stock_from_samples` (same inputs, outputs)."""
    _require_cuda()
    x = np.asarray(samples)
    if x.dtype not in (np.float32, np.float64):
        x = v.as_float_array("samples", x)
    x = np.ascontiguousarray(x)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"samples: expected shape (n_rows, n_samples), got {x.shape}")
    v.check_nonnegative("samples", x)
    n = x.shape[0]
    sl = v.broadcast_rows("service_level", service_level, n)
    v.check_open_unit("service_level", sl)
    d_ss = cuda.device_array(n, dtype=np.float64)
    d_rop = cuda.device_array(n, dtype=np.float64)
    blocks = max(1, math.ceil(n / _THREADS))
    _ss_samples_kernel[blocks, _THREADS](cuda.to_device(x), cuda.to_device(sl), d_ss, d_rop)
    return d_ss.copy_to_host(), d_rop.copy_to_host()


@cuda.jit
def _allocate_kernel(
    samples, stock, cap, value, budget, reserve_value, x, iscratch, fscratch, sales
):
    k = cuda.grid(1)
    if k >= samples.shape[0]:
        return
    allocate_one(
        samples[k],
        stock[k],
        cap[k],
        value[k],
        budget[k],
        reserve_value[k],
        x[k],
        iscratch[k],
        fscratch[k],
    )
    for j in range(samples.shape[1]):
        sales[k, j] = expected_sales(samples[k, j], stock[k, j] + x[k, j])


def allocate_samples_cuda(
    samples, stock, supply, *, caps=None, value=None, reserve=0, reserve_value=0.0
) -> dict[str, np.ndarray]:
    """GPU version of :func:`kernels.allocation.allocate_samples` (same inputs and outputs)."""
    _require_cuda()
    x, st, cp, val, budget, rv = prepare_allocation_inputs(
        samples, stock, supply, caps, value, reserve, reserve_value
    )
    n_skus, n_fcs, _ = x.shape
    alloc = np.zeros((n_skus, n_fcs), dtype=np.int64)
    sales = np.zeros((n_skus, n_fcs))
    if n_skus and n_fcs:
        d_alloc = cuda.to_device(alloc)
        d_sales = cuda.to_device(sales)
        blocks = max(1, math.ceil(n_skus / _THREADS))
        _allocate_kernel[blocks, _THREADS](
            cuda.to_device(x),
            cuda.to_device(st),
            cuda.to_device(cp),
            cuda.to_device(val),
            cuda.to_device(budget),
            cuda.to_device(rv),
            d_alloc,
            cuda.device_array((n_skus, n_fcs, 3), dtype=np.int64),
            cuda.device_array((n_skus, n_fcs, 4), dtype=np.float64),
            d_sales,
        )
        alloc = d_alloc.copy_to_host()
        sales = d_sales.copy_to_host()
    sup = v.broadcast_rows("supply", supply, n_skus)
    return {
        "allocation": alloc,
        "expected_sales": sales,
        "objective": (val * sales).sum(axis=1),
        "held_back": sup.astype(np.int64) - alloc.sum(axis=1),
    }
