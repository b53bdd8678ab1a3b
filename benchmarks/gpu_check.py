"""What a CUDA GPU confirms in one short run: each GPU path works and agrees with the CPU.

No GPU is on the development or CI machines, so the CUDA paths are written for the GPU and
tested on the CPU (DDP with gloo, numba's CUDA simulator). This script is what a machine with a
GPU runs once to check them for real. Each check is recorded as passed or failed with its
figures, and one failing check does not stop the others:

1. ``kernels``: the numba.cuda planning kernels on the device against the Numba CPU kernels and
   the NumPy reference (the script of ``tests/test_kernels_cuda.py``, simulator off), and the
   safety-stock kernel's rows/s against the parallel CPU kernel on a large input.
2. ``forecast_<model>``: the LSTM and the TFT fit on m5_tiny on the GPU (bf16-mixed), twice
   with one seed (are the forecasts the same?); the fitted weights predict on the GPU and on the
   CPU (the bf16 difference); the run exports to an ONNX package whose forecasts must equal the
   torch forecasts on the CPU within the export's tolerance.
3. ``inspection``: the inspector fits on a small synthetic tunnel on the GPU, twice with one
   seed, scores items on the GPU, and exports with its parity check.

Beside the checks: the onnxruntime providers installed and the order the runtime asks for them
in; the forecast checks fail where a package's session runs on another provider than the first
asked for (onnxruntime falls back to the CPU silently).

    python benchmarks/gpu_check.py --out gpu_check.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import _harness as harness  # benchmarks/ is on sys.path when run as a script
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
M5 = ROOT.parent / "shared" / "data" / "m5_tiny.parquet"
HORIZON = 28


def check_kernels(rows: int) -> dict:
    """numba.cuda kernels on the device: the test's comparison, then a timing."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_kernels_cuda import SCRIPT

    # NUMBA_ENABLE_CUDASIM=1 passes through the environment: a dry run on a CPU.
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=harness.env_with_root(),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    out = {"agreement": json.loads(line[len("RESULT ") :])}
    worst = max(
        max(out["agreement"][k]) for k in ("ss_float64", "ss_float32", "rop_float64", "rop_float32")
    )
    out["max_abs_difference_ss_rop"] = worst

    from kernels.cuda import safety_stock_from_samples_cuda
    from kernels.policies import safety_stock_from_samples

    rng = np.random.default_rng(0)
    samples = rng.gamma(2.0, 5.0, size=(rows, 100)).astype(np.float32)
    levels = rng.uniform(0.5, 0.99, size=rows)
    safety_stock_from_samples_cuda(samples[:1000], levels[:1000])  # compile
    safety_stock_from_samples(samples[:1000], levels[:1000])
    gpu, cpu = [], []
    for _ in range(3):  # alternate the sides; medians
        t = time.perf_counter()
        g = safety_stock_from_samples_cuda(samples, levels)
        gpu.append(time.perf_counter() - t)
        t = time.perf_counter()
        c = safety_stock_from_samples(samples, levels)
        cpu.append(time.perf_counter() - t)
    out["large_max_abs_difference"] = float(np.abs(g[0] - c[0]).max())
    out["rows"] = rows
    out["gpu_rows_per_s_with_transfers"] = rows / float(np.median(gpu))
    out["cpu_rows_per_s"] = rows / float(np.median(cpu))
    out["cpu_threads"] = os.cpu_count()
    out["passed"] = bool(worst < 1e-4 and out["agreement"]["alloc_int_equal"])
    return out


def _m5_tables():
    import pandas as pd

    from kernels.io import read_table

    raw = read_table(M5)
    dates = pd.to_datetime(raw["date"])
    origin = dates.max() - pd.Timedelta(days=HORIZON - 1)
    history = raw[dates < origin]
    future = raw.copy()
    future.loc[dates >= origin, "sales"] = np.nan
    return history, future


def check_forecast(model: str, work: Path, epochs: int, accelerator: str) -> dict:
    """Fit on the GPU twice with one seed; GPU vs CPU predictions; export and package parity."""

    from forecasting import Forecaster
    from forecasting.spec import M5_SPEC
    from serving.export import export_run
    from serving.runtime import ForecastPackage
    from serving.runtime.session import providers
    from training import TrainConfig
    from training.devices import resolve_precision

    history, future = _m5_tables()

    def fitted(run_dir):
        train = TrainConfig(
            max_epochs=epochs,
            batches_per_epoch=30,
            batch_size=256,
            accelerator=accelerator,
            seed=0,
            progress_bar=False,
        )
        forecaster = Forecaster(model, HORIZON, spec=M5_SPEC, train=train)
        start = time.perf_counter()
        forecaster.fit(history, run_dir=run_dir)
        return forecaster, time.perf_counter() - start

    first, first_s = fitted(work / f"{model}_a")
    again, again_s = fitted(work / f"{model}_b")
    table_gpu = first.predict(future)
    table_again = again.predict(future)
    quantiles = [c for c in table_gpu.columns if c.startswith("q")]
    same_seed_difference = float(
        np.abs(table_gpu[quantiles].to_numpy() - table_again[quantiles].to_numpy()).max()
    )
    first.model_.train.accelerator = "cpu"
    table_cpu = first.predict(future)
    scale = max(float(np.abs(table_cpu[quantiles].to_numpy()).max()), 1e-9)
    gpu_cpu = float(np.abs(table_gpu[quantiles].to_numpy() - table_cpu[quantiles].to_numpy()).max())
    package = export_run(work / f"{model}_a", work / "repo")
    runtime = ForecastPackage(package)
    table_onnx = runtime.predict(future)
    onnx_difference = float(
        np.abs(table_onnx[quantiles].to_numpy() - table_cpu[quantiles].to_numpy()).max()
    )
    manifest = json.loads((package / "manifest.json").read_text())
    return {
        "series": int(len(table_gpu[["item_id", "location_id"]].drop_duplicates())),
        "fit_seconds": [round(first_s, 2), round(again_s, 2)],
        "precision": resolve_precision(first.model_.train.precision, accelerator),
        "same_seed_max_abs_difference": same_seed_difference,
        "gpu_vs_cpu_max_abs_difference": gpu_cpu,
        "gpu_vs_cpu_relative_to_max": gpu_cpu / scale,
        "export_parity": manifest["parity"],
        "package_vs_torch_cpu_max_abs_difference": onnx_difference,
        "package_provider": runtime.provider,
        "provider_requested_first": providers()[0],
        "finite": bool(np.isfinite(table_gpu[quantiles].to_numpy()).all()),
        "passed": bool(
            np.isfinite(table_gpu[quantiles].to_numpy()).all()
            and same_seed_difference == 0.0
            and runtime.provider == providers()[0]  # no silent fallback to a later provider
            and onnx_difference <= 1e-4 * max(scale, 1.0)
            and gpu_cpu / scale < 0.05
        ),
    }


def check_inspection(work: Path, epochs: int, accelerator: str) -> dict:
    """Fit the inspector on the GPU twice with one seed, score, export."""
    from serving.export import export_run
    from training import ImageTrainConfig
    from vision import Inspector
    from vision.synthetic import write_synthetic_dataset

    tunnel = write_synthetic_dataset(
        work / "tunnel", 96, seed=21, image_size=64, defect_rate=0.3, progress=False
    )
    good = write_synthetic_dataset(
        work / "good", 32, seed=22, image_size=64, defect_rate=0.0, progress=False
    )

    def fitted(run_dir):
        train = ImageTrainConfig(
            max_epochs=epochs, batch_size=16, accelerator=accelerator, progress_bar=False, seed=0
        )
        inspector = Inspector(width=16, image_size=64, head_dim=32, train=train)
        start = time.perf_counter()
        inspector.fit(tunnel, run_dir=run_dir)
        return inspector, time.perf_counter() - start

    first, first_s = fitted(work / "inspect_a")
    again, again_s = fitted(work / "inspect_b")
    first.calibrate(good, progress=False)
    items, _ = first.score(tunnel, progress=False)
    again.calibrate(good, progress=False)
    items_again, _ = again.score(tunnel, progress=False)
    scores = [c for c in items.columns if c.startswith("score")]
    difference = float(
        np.abs(items[scores].to_numpy(float) - items_again[scores].to_numpy(float)).max()
    )
    package = export_run(work / "inspect_a", work / "repo")
    manifest = json.loads((package / "manifest.json").read_text())
    return {
        "fit_seconds": [round(first_s, 2), round(again_s, 2)],
        "score_columns": scores,
        "same_seed_max_abs_difference": difference,
        "finite": bool(np.isfinite(items[scores].to_numpy(float)).all()),
        "export_parity": manifest["parity"],
        "passed": bool(np.isfinite(items[scores].to_numpy(float)).all() and difference == 0.0),
    }


def onnxruntime_providers() -> dict:
    """The installed onnxruntime's providers and the order the runtime's factory asks for."""
    import onnxruntime as ort

    from serving.runtime.session import providers

    return {
        "version": ort.__version__,
        "available_providers": ort.get_available_providers(),
        "requested": providers(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", nargs="*", help="checks to run [all]")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--accelerator", default="cuda", help="cpu: a dry run of the script")
    parser.add_argument("--kernel-rows", type=int, default=2_000_000)
    args = parser.parse_args(argv)

    import torch

    result: dict = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "bf16": bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported()),
        "onnxruntime": onnxruntime_providers(),
        "checks": {},
    }
    from kernels.io import write_json

    with tempfile.TemporaryDirectory(prefix="gpu-check-") as folder:
        work = Path(folder)
        checks = {
            "kernels": lambda: check_kernels(args.kernel_rows),
            "forecast_lstm": lambda: check_forecast("lstm", work, args.epochs, args.accelerator),
            "forecast_tft": lambda: check_forecast("tft", work, args.epochs, args.accelerator),
            "inspection": lambda: check_inspection(work, args.epochs, args.accelerator),
        }
        for name, run in checks.items():
            if args.only and name not in args.only:
                continue
            start = time.perf_counter()
            try:
                outcome = run()
            except Exception:  # a failing check is a finding, not the end of the run
                outcome = {"passed": False, "error": traceback.format_exc()[-3000:]}
            outcome["seconds"] = round(time.perf_counter() - start, 1)
            result["checks"][name] = outcome
            status = "passed" if outcome["passed"] else "FAILED"
            print(f"{name}: {status} ({outcome['seconds']} s)", flush=True)
            if not outcome["passed"]:
                print(outcome.get("error", json.dumps(outcome, default=str)[:2000]))
            write_json(result, args.out)  # after every check: a cut-off run keeps what it did
    return 0 if all(c["passed"] for c in result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
