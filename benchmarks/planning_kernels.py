"""Inventory kernels: Numba vs the NumPy/SciPy reference and HiGHS, side by side in one run.

(a) Safety stock + reorder point for ``--rows`` rows (default 10,000,000) from 100 float32
    lead-time-demand samples each and from 7 float32 cumulative quantiles each: the Numba kernel
    (all cores) vs the vectorized NumPy/SciPy reference (one core, run in row chunks so that its
    sorted copy stays small), with the kernel's effective bandwidth (input read + output written,
    per second) next to this machine's measured memory-copy bandwidth (read + write, the best of
    ``np.copyto`` and a parallel Numba copy of a 1 GiB buffer).
(b) Allocation of scarce supply for ``--skus`` SKUs x ``--fcs`` FCs x ``--alloc-samples``
    integer demand samples (default 1,000 x 3,000 x 100) by the Numba water-filling kernel vs
    HiGHS (``scipy.optimize.linprog``) on the sample-average LP of ONE SKU. The objectives of
    that SKU are compared; ``speedup`` is the per-SKU throughput ratio
    ``n_skus * highs_s / numba_s`` (HiGHS would need n_skus times its time for all SKUs).

Prints a table and writes ``benchmarks/results/kernels.json``. Timings are the best of
``--repeats`` runs after a warm-up (compilation excluded). The machine may be shared: compare the
ratios, not the absolute times. Quick smoke run:
``python benchmarks/planning_kernels.py --rows 200000 --skus 20 --fcs 300``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import get_num_threads, njit, prange, set_num_threads

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kernels import policies, reference  # noqa: E402
from kernels.allocation import allocate_samples  # noqa: E402

LEVELS = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])
SEGMENT_LEVELS = np.array([0.98, 0.95, 0.90])  # A, B, C
SEGMENT_SHARES = np.array([0.2, 0.3, 0.5])
CHUNK = 1 << 18


def interleaved_best(fns: dict, repeats: int) -> tuple[dict, dict]:
    """Best time of each function, running them in turn so that load changes hit all alike."""
    best = {k: np.inf for k in fns}
    outs = {}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            outs[k] = fn()
            best[k] = min(best[k], time.perf_counter() - t)
    return best, outs


def one_thread(fn):
    """Run fn with Numba limited to one thread (per-core comparison with the reference)."""

    def run():
        old = get_num_threads()
        set_num_threads(1)
        try:
            return fn()
        finally:
            set_num_threads(old)

    return run


def best_of(fn, repeats):
    best = np.inf
    out = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


@njit(parallel=True, cache=True)
def _parallel_copy(src, dst):
    n = src.shape[0]
    step = 1 << 20
    for c in prange((n + step - 1) // step):
        lo = c * step
        hi = min(n, lo + step)
        dst[lo:hi] = src[lo:hi]


def memcopy_gbps(repeats: int) -> tuple[float, dict]:
    """Best memory-copy bandwidth, counting the bytes read plus the bytes written."""
    src = np.ones(1 << 28, dtype=np.float32)  # 1 GiB
    dst = np.zeros_like(src)  # touched, so page faults do not count
    _parallel_copy(src[:1024], dst[:1024])
    t_np, _ = best_of(lambda: np.copyto(dst, src), repeats)
    t_nb, _ = best_of(lambda: _parallel_copy(src, dst), repeats)
    detail = {
        "np_copyto_gbps": 2 * src.nbytes / t_np / 1e9,
        "numba_parallel_copy_gbps": 2 * src.nbytes / t_nb / 1e9,
    }
    return max(detail.values()), detail


def service_levels(rng, n):
    return SEGMENT_LEVELS[rng.choice(3, size=n, p=SEGMENT_SHARES)]


def make_samples(rng, rows, n_samples):
    """Gamma lead-time demand (shape 1..8 per row, so CV 0.35..1), float32, filled in chunks."""
    x = np.empty((rows, n_samples), dtype=np.float32)
    for lo in range(0, rows, CHUNK):
        part = x[lo : lo + CHUNK]
        shape = rng.uniform(1.0, 8.0, size=(part.shape[0], 1)).astype(np.float32)
        rng.standard_gamma(np.broadcast_to(shape, part.shape), dtype=np.float32, out=part)
        part *= rng.uniform(1.0, 20.0, size=(part.shape[0], 1)).astype(np.float32)
    return x


def make_quantiles(rng, rows):
    """Right-skewed cumulative-demand quantiles, float32, with a few crossing forecasts."""
    q = np.empty((rows, LEVELS.shape[0]), dtype=np.float32)
    z = np.array([-1.645, -1.2816, -0.6745, 0.0, 0.6745, 1.2816, 1.645])
    skewed = z + 0.15 * z**2
    for lo in range(0, rows, CHUNK):
        part = q[lo : lo + CHUNK]
        m = part.shape[0]
        mean = rng.gamma(2.0, 30.0, size=(m, 1))
        sd = mean * rng.uniform(0.2, 0.8, size=(m, 1))
        noise = rng.normal(0.0, 0.02, size=(m, LEVELS.shape[0])) * sd
        part[:] = np.maximum(mean + sd * skewed + noise, 0.0)
    return q


def _compare(kernel, ref, nbytes_in, repeats):
    best, outs = interleaved_best(
        {"numba": kernel, "numba_1t": one_thread(kernel), "numpy": ref}, repeats
    )
    (ss, rop), (ss_ref, rop_ref) = outs["numba"], outs["numpy"]
    nbytes = nbytes_in + ss.nbytes + rop.nbytes
    return {
        "numba_s": best["numba"],
        "numpy_s": best["numpy"],
        "speedup": best["numpy"] / best["numba"],
        "gbps": nbytes / best["numba"] / 1e9,
        "numba_1thread_s": best["numba_1t"],
        "speedup_1thread": best["numpy"] / best["numba_1t"],
        "bytes": nbytes,
        "max_abs_diff_reorder_point": float(np.abs(rop - rop_ref).max()),
        "max_abs_diff_safety_stock": float(np.abs(ss - ss_ref).max()),
    }


def bench_samples(rows, n_samples, repeats, rng):
    x = make_samples(rng, rows, n_samples)
    sl = service_levels(rng, rows)
    policies.safety_stock_from_samples(x[:1000], sl[:1000])  # compile
    out = _compare(
        lambda: policies.safety_stock_from_samples(x, sl),
        lambda: reference.safety_stock_from_samples(x, sl),
        x.nbytes + sl.nbytes,
        repeats,
    )
    out.update(
        rows=rows,
        samples_per_row=n_samples,
        reference="np.sort per 65,536-row chunk + linear interpolation (one core)",
    )
    return out


def bench_quantiles(rows, repeats, rng):
    q = make_quantiles(rng, rows)
    sl = service_levels(rng, rows)
    policies.safety_stock_from_quantiles(q[:1000], LEVELS, sl[:1000])  # compile
    out = _compare(
        lambda: policies.safety_stock_from_quantiles(q, LEVELS, sl),
        lambda: reference.safety_stock_from_quantiles(q, LEVELS, sl),
        q.nbytes + sl.nbytes,
        repeats,
    )
    out.update(
        rows=rows,
        quantiles_per_row=int(LEVELS.shape[0]),
        reference="np.sort + scipy.special ndtri/ndtr per 1,048,576-row chunk (one core)",
    )
    return out


def make_allocation(rng, n_skus, n_fcs, n_samples):
    """Integer (Poisson) demand with FC-specific rates, stock, caps, margins and a scarce supply."""
    samples = np.empty((n_skus, n_fcs, n_samples), dtype=np.float32)
    for k in range(n_skus):
        lam = rng.gamma(2.0, 3.0, size=(n_fcs, 1))
        samples[k] = rng.poisson(np.broadcast_to(lam, (n_fcs, n_samples)))
    stock = rng.integers(0, 6, size=(n_skus, n_fcs)).astype(np.float64)
    caps = rng.integers(5, 40, size=(n_skus, n_fcs))
    value = rng.choice([1.0, 1.5, 2.0, 2.5, 3.0], size=(n_skus, n_fcs))
    shortfall = np.maximum(samples.mean(axis=2, dtype=np.float64) - stock, 0.0).sum(axis=1)
    supply = np.floor(shortfall * rng.uniform(0.3, 0.7, size=n_skus)).astype(np.int64)
    return samples, stock, caps, value, supply


def bench_allocation(n_skus, n_fcs, n_samples, repeats, rng):
    samples, stock, caps, value, supply = make_allocation(rng, n_skus, n_fcs, n_samples)
    allocate_samples(samples[:2], stock[:2], supply[:2], caps=caps[:2], value=value[:2])
    t_nb, out = best_of(
        lambda: allocate_samples(samples, stock, supply, caps=caps, value=value), repeats
    )
    tight = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
    t0 = time.perf_counter()
    lp_obj, _, res = reference.allocation_lp(
        samples[0], stock[0], supply[0], caps[0], value[0], options=tight
    )
    t_highs = time.perf_counter() - t0
    numba_obj = float(out["objective"][0])
    return {
        "numba_s": t_nb,
        "highs_s": t_highs,
        "speedup": n_skus * t_highs / t_nb,
        "objective_rel_diff": abs(numba_obj - lp_obj) / abs(lp_obj),
        "wall_ratio_highs_one_sku_over_numba_all_skus": t_highs / t_nb,
        "skus": n_skus,
        "fcs": n_fcs,
        "samples_per_fc": n_samples,
        "numba_objective_sku0": numba_obj,
        "highs_objective_sku0": lp_obj,
        "highs_status": res.message,
        "lp_size_sku0": {"variables": int(res.x.shape[0]), "constraints": n_fcs * n_samples + 1},
    }


def write_json(result, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def print_table(r):
    mem = r["memcopy_gbps"]
    print()
    load = ", ".join(f"{v:.1f}" for v in r["config"]["load_average"])
    print(
        f"threads: {r['config']['numba_threads']} of {r['config']['cpu_count']} cores (load "
        f"average {load})   memory copy: {mem:.1f} GB/s (read + write)"
    )
    print()
    head = (
        f"{'benchmark':<34}{'numba s':>10}{'1 thread':>10}{'ref s':>10}{'speedup':>10}"
        f"{'per core':>10}{'GB/s':>8}{'% copy':>8}"
    )
    print(head)
    print("-" * len(head))
    for key, label in (
        ("safety_stock_samples", f"SS+ROP, {r['safety_stock_samples']['rows']:,} x 100 samples"),
        (
            "safety_stock_quantiles",
            f"SS+ROP, {r['safety_stock_quantiles']['rows']:,} x 7 quantiles",
        ),
    ):
        b = r[key]
        print(
            f"{label:<34}{b['numba_s']:>10.3f}{b['numba_1thread_s']:>10.3f}{b['numpy_s']:>10.3f}"
            f"{b['speedup']:>9.1f}x{b['speedup_1thread']:>9.1f}x{b['gbps']:>8.2f}"
            f"{100 * b['gbps'] / mem:>7.1f}%"
        )
    a = r["allocation"]
    label = f"allocation {a['skus']:,} x {a['fcs']:,} x {a['samples_per_fc']}"
    print(f"{label:<34}{a['numba_s']:>10.3f}{'':>10}{a['highs_s']:>10.3f}{a['speedup']:>9.0f}x")
    print()
    print(
        "reference: NumPy/SciPy on one core; Numba on all cores, and on one ('per core' ="
        " ref / 1 thread). GB/s = input read + output written, by the all-core run."
    )
    print(
        f"allocation: Numba allocates all {a['skus']:,} SKUs in {a['numba_s']:.3f} s; HiGHS "
        f"solves ONE SKU's sample-average LP in {a['highs_s']:.3f} s. speedup = "
        f"{a['skus']:,} x HiGHS / Numba (per SKU); wall ratio HiGHS(1 SKU) / Numba(all) = "
        f"{a['wall_ratio_highs_one_sku_over_numba_all_skus']:.2f}."
    )
    print(
        f"objective of SKU 0: Numba {a['numba_objective_sku0']:.6f}, HiGHS "
        f"{a['highs_objective_sku0']:.6f} (relative difference {a['objective_rel_diff']:.1e})"
    )
    print(
        "max |numba - reference|: samples "
        f"{r['safety_stock_samples']['max_abs_diff_reorder_point']:.1e}, quantiles "
        f"{r['safety_stock_quantiles']['max_abs_diff_reorder_point']:.1e} (reorder point)"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000, help="rows for (a) [10,000,000]")
    p.add_argument("--samples", type=int, default=100, help="samples per row for (a) [100]")
    p.add_argument("--skus", type=int, default=1000, help="SKUs for (b) [1000]")
    p.add_argument("--fcs", type=int, default=3000, help="FCs per SKU for (b) [3000]")
    p.add_argument("--alloc-samples", type=int, default=100, help="samples per FC for (b) [100]")
    p.add_argument("--repeats", type=int, default=5, help="timed runs, best kept [5]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "kernels.json")
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    mem, mem_detail = memcopy_gbps(args.repeats)
    print(f"memory copy: {mem:.1f} GB/s", flush=True)
    samples = bench_samples(args.rows, args.samples, args.repeats, rng)
    print(
        f"samples done: numba {samples['numba_s']:.3f}s numpy {samples['numpy_s']:.3f}s", flush=True
    )
    quantiles = bench_quantiles(args.rows, args.repeats, rng)
    print(
        f"quantiles done: numba {quantiles['numba_s']:.3f}s numpy {quantiles['numpy_s']:.3f}s",
        flush=True,
    )
    alloc = bench_allocation(args.skus, args.fcs, args.alloc_samples, args.repeats, rng)
    result = {
        "memcopy_gbps": mem,
        "safety_stock_samples": samples,
        "safety_stock_quantiles": quantiles,
        "allocation": alloc,
        "memcopy_detail": mem_detail,
        "config": {
            "numba_threads": get_num_threads(),
            "cpu_count": os.cpu_count(),
            # Other jobs share this machine: the 1/5/15-minute load averages at the end of the run.
            "load_average": list(os.getloadavg()),
            "repeats": args.repeats,
            "seed": args.seed,
            "command": "python benchmarks/planning_kernels.py " + " ".join(argv or sys.argv[1:]),
        },
    }
    write_json(result, args.out)
    print_table(result)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
