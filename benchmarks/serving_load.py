"""Load on the live service: 2,000 requests at 32 concurrent, with and without dynamic batching,
for ``/v1/forecast`` and ``/v1/inspect``.

    python benchmarks/serving_load.py                # writes results/serving_load.json
    python benchmarks/serving_load.py --requests 200 # a quick look

``/v1/forecast`` requests carry one series each (its encoder history and the horizon's future
rows) for a small LSTM package; ``/v1/inspect`` requests carry one item's six 128 px PNG views
for an inspection package with the ``mobilenet_v3_small`` backbone (the station's choice for
speed, see ``vision_speed.py``), both trained briefly on synthetic data: the figures are about
the service, not the models' accuracy.

The service runs in its own process (``stockcast serve`` on 127.0.0.1, a free port) so its peak
RSS is its own; an asyncio client sends a fixed number of requests with a fixed concurrency
(bounded: the run stops by itself) and records each latency. Per endpoint and configuration:
throughput (requests/s), p50 / p99 latency, errors (anything but 200) and the server's peak
RSS. The configurations alternate over ``--rounds``; medians are reported. The overload case
(a queue of 2 requests, no batching, 64 concurrent clients) shows that a full queue answers
503 with Retry-After, never a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _harness as harness  # benchmarks/ is on sys.path when run as a script
import numpy as np

ROOT = harness.ROOT
RESULTS = ROOT / "benchmarks" / "results" / "serving_load.json"
CONFIGS = {
    "batching": ["--max-batch", "64", "--batch-wait-ms", "5"],
    "no_batching": ["--max-batch", "1", "--batch-wait-ms", "0"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_repo(work: Path) -> tuple[Path, list[dict]]:
    """A small LSTM package on the synthetic network, and one request body per series."""
    from forecasting import Forecaster
    from forecasting.synthetic import generate_network
    from serving.export import export_run
    from training import TrainConfig

    network = generate_network(n_items=40, n_locations=4, n_days=200, seed=3, future_days=14)
    frame = network.to_frame()
    train = TrainConfig(max_epochs=1, batches_per_epoch=10, progress_bar=False)
    forecaster = Forecaster("lstm", 14, spec=network.spec, train=train, hidden_size=32)
    forecaster.fit(frame, run_dir=work / "run")
    export_run(work / "run", work / "repo", "demand")
    frame = frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d"))
    length = forecaster.model_.encoder_length
    bodies = []
    for _, rows in frame.groupby(["item_id", "location_id"]):
        recent = rows.tail(length + 14)  # the encoder's history and the horizon's future rows
        bodies.append({"rows": json.loads(recent.to_json(orient="records"))})
    return work / "repo", bodies


def build_inspection(work: Path, repo: Path) -> list[dict[str, bytes]]:
    """A small inspection package in ``repo`` and one multipart body (view -> PNG) per item."""
    from serving.export import export_run
    from training import ImageTrainConfig
    from vision import Inspector
    from vision.synthetic import write_synthetic_dataset

    tunnel = write_synthetic_dataset(
        work / "tunnel", 48, seed=5, image_size=128, defect_rate=0.3, progress=False
    )
    good = write_synthetic_dataset(
        work / "good", 24, seed=6, image_size=128, defect_rate=0.0, progress=False
    )
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, progress_bar=False)
    # One pass per view, as the recorded figures were measured (tunnels now mirror a second).
    inspector = Inspector(
        backbone="mobilenet_v3_small", image_size=128, tta="none", target_frr=0.2, train=fast
    )
    inspector.fit(tunnel, run_dir=work / "inspect_run").calibrate(good, progress=False)
    export_run(work / "inspect_run", repo, "inspect")
    items = sorted((tunnel / "items").iterdir())
    return [{png.stem: png.read_bytes() for png in sorted(item.glob("*.png"))} for item in items]


class Server:
    """``stockcast serve`` in a subprocess; its peak RSS sampled by a thread."""

    def __init__(self, repo: Path, flags: list[str]):
        import psutil

        self.port = free_port()
        command = [sys.executable, "-m", "serving.cli", "serve", "--repo", str(repo),
                   "--port", str(self.port), *flags]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        self.peak = 0.0
        self._stop = threading.Event()
        self._ps = psutil.Process(self.proc.pid)
        threading.Thread(target=self._sample, daemon=True).start()
        self._wait_ready()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.peak = max(self.peak, self._ps.memory_info().rss / 2**20)
            except Exception:
                return

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the service did not become ready")

    def close(self) -> None:
        self._stop.set()
        self.proc.terminate()
        self.proc.wait(timeout=30)


async def load(
    url: str, bodies: list[dict], requests: int, concurrency: int, endpoint: str = "forecast"
) -> dict:
    """``requests`` POSTs to ``/v1/<endpoint>`` from ``concurrency`` clients: JSON bodies for
    ``forecast``, multipart view images for ``inspect``."""
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    retry_after = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for k in range(requests):
        queue.put_nowait(k)

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal retry_after
        while True:
            try:
                k = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            start = time.perf_counter()
            try:
                body = bodies[k % len(bodies)]
                if endpoint == "inspect":
                    files = [(v, (f"{v}.png", png, "image/png")) for v, png in body.items()]
                    response = await http.post(f"{url}/v1/inspect", files=files)
                else:
                    response = await http.post(f"{url}/v1/forecast", json=body)
                status = response.status_code
                retry_after += status == 503 and response.headers.get("retry-after") == "1"
            except httpx.HTTPError:
                status = -1  # a failure: no answer at all
            latencies.append(time.perf_counter() - start)
            statuses[status] = statuses.get(status, 0) + 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return {
        "requests": requests,
        "concurrency": concurrency,
        "throughput_rps": requests / wall,
        "p50_ms": 1000 * float(np.percentile(latencies, 50)),
        "p99_ms": 1000 * float(np.percentile(latencies, 99)),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": sum(v for k, v in statuses.items() if k != 200),
        "failures": sum(v for k, v in statuses.items() if k == -1 or (k >= 500 and k != 503)),
        "retry_after_503": retry_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per config")
    parser.add_argument("--endpoints", default="forecast,inspect", help="comma-separated")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="serving-load-"))
    repo, bodies = build_repo(work)
    payloads = {"forecast": bodies, "inspect": build_inspection(work, repo)}
    endpoints = args.endpoints.split(",")
    runs: dict[str, list[dict]] = {f"{e}/{c}": [] for e in endpoints for c in CONFIGS}
    for _ in range(args.rounds):
        for name, flags in CONFIGS.items():
            server = Server(repo, flags)
            try:
                for endpoint in endpoints:
                    result = asyncio.run(
                        load(server.url, payloads[endpoint], args.requests, args.concurrency,
                             endpoint)
                    )  # fmt: skip
                    result["peak_rss_mb"] = server.peak  # so far: both models loaded
                    runs[f"{endpoint}/{name}"].append(result)
                    print(f"/v1/{endpoint} {name}: {result['throughput_rps']:.1f} req/s, "
                          f"{result['errors']} errors", flush=True)  # fmt: skip
            finally:
                server.close()
    summary = {}
    for name, results in runs.items():
        summary[name] = {
            key: statistics.median(r[key] for r in results)
            for key in ("throughput_rps", "p50_ms", "p99_ms", "peak_rss_mb")
        }
        summary[name]["errors"] = sum(r["errors"] for r in results)
    overload_flags = ["--max-batch", "1", "--batch-wait-ms", "0", "--queue-size", "2"]
    server = Server(repo, overload_flags)
    try:
        overload = asyncio.run(load(server.url, bodies, min(args.requests, 500), 64))
    finally:
        server.close()
    overload["peak_rss_mb"] = server.peak
    results = {
        "endpoints": {
            "forecast": "/v1/forecast, one series per request (LSTM package)",
            "inspect": "/v1/inspect, one item of 6 PNG views per request (mobilenet_v3_small)",
        },
        "summary": summary,
        "runs": runs,
        "overload": overload,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "cpus": len(os.sched_getaffinity(0)),
    }
    harness.write_json(results, args.out)
    print("\n| endpoint / config | req/s | p50 ms | p99 ms | errors | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, s in summary.items():
        print(f"| {name.replace('_', ' ')} | {s['throughput_rps']:.1f} | {s['p50_ms']:.1f} | "
              f"{s['p99_ms']:.1f} | {s['errors']} | {s['peak_rss_mb']:.0f} |")  # fmt: skip
    print(f"\noverload (queue 2, 64 clients): statuses {overload['statuses']}, "
          f"failures {overload['failures']}")  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
