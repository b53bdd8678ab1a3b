"""The first plan after a deployment is answered as fast as the next: the service compiles the
planning kernels before it is ready. Compiled on the first request instead, they took 25-35 s
of a busy machine's cores, past the 30 s request limit: the first ``/v1/plan`` was a 504."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# A fresh process (compiled kernels stay compiled in this one): start the service, count the
# kernels' compiled signatures, send plan requests of every forecast form, count again.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numba
    from fastapi.testclient import TestClient
    from serving.service.app import create_app

    def compiled():
        import kernels.allocation, kernels.leadtime, kernels.policies.cycle
        import kernels.policies.general, kernels.policies.orders, kernels.policies.shapes
        modules = [m for name, m in sys.modules.items() if name.startswith("kernels.")]
        return {
            f"{m.__name__}.{k}": len(v.signatures)
            for m in modules for k, v in vars(m).items()
            if isinstance(v, numba.core.registry.CPUDispatcher)
        }

    key = {"item_id": "a", "location_id": "x"}
    inventory = [{**key, "on_hand": 12, "lead_time_mean": 4, "lead_time_std": 1}]
    cumulative = [{**key, "horizon": h, "q0.1": 2 * h, "q0.5": 5 * h, "q0.9": 9 * h}
                  for h in range(1, 10)]
    samples = [{**key, "sample": s, "step": k, "demand": (s + k) % 7}
               for s in range(30) for k in range(1, 10)]
    demand = [{**key, "location_id": f"l{j}", "sample": s, "demand": s % 4 + j}
              for j in range(3) for s in range(30)]
    bodies = [
        {"forecast": [{**key, "demand_mean": 5, "demand_std": 2}], "inventory": inventory},
        {"forecast": cumulative, "inventory": inventory},
        {"forecast": samples, "inventory": [{**key, "on_hand": 3, "lead_time_mean": 2}],
         "policy": {"service_type": "fill_rate"}},
        {"forecast": cumulative, "inventory": inventory,
         "allocation": {"demand": demand,
                        "stock": [{**key, "location_id": f"l{j}", "on_hand": 1} for j in range(3)],
                        "supply": [{"item_id": "a", "supply": 4}]}},
    ]
    with TestClient(create_app(sys.argv[1])) as client:
        ready = compiled()
        statuses = [client.post("/v1/plan", json=body).status_code for body in bodies]
        after = compiled()
    print(json.dumps({"statuses": statuses, "ready": ready, "after": after}))
    """
)


@pytest.mark.slow
def test_plan_requests_compile_nothing_once_the_service_is_up(tmp_path):
    (tmp_path / "repo").mkdir()  # no models: plans from forecast tables need none
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "repo")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["statuses"] == [200, 200, 200, 200]
    grown = {
        k: (n, result["after"][k]) for k, n in result["ready"].items() if result["after"][k] > n
    }
    assert not grown, f"kernels compiled by a request after startup: {grown}"
    assert sum(result["ready"].values()) > 0
