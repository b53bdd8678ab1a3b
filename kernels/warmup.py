"""Compile the planning kernels before the first plan needs them.

Numba compiles a kernel on its first call (or loads it from its on-disk cache, when the
package's folder is writable and a run wrote it). Compiling the paths of one plan takes 9-11 s
of one core per forecast form (parametric, cumulative quantiles, sample paths), and more on a
busy machine, so the first ``/v1/plan`` after a deployment ran past the service's 30 s request
limit and was answered 504. :func:`compile_planning_kernels` plans a one-key table of each form
a plan request takes, with the default policy and each service type, and splits a supply, so
the service compiles them while it is not yet ready, not while a client waits.
"""

from __future__ import annotations

import pandas as pd

KEY = {"item_id": "warmup", "location_id": "warmup"}
STEPS = 14
_compiled = False  # once per process: compiled kernels stay compiled


def _forecasts() -> list[pd.DataFrame]:
    """One small forecast table of each form :func:`kernels.plan` reads."""
    parametric = pd.DataFrame([{**KEY, "demand_mean": 5.0, "demand_std": 2.0}])
    levels = {"q0.1": 2.0, "q0.5": 5.0, "q0.9": 9.0}
    cumulative = pd.DataFrame(
        [{**KEY, "horizon": h, **{k: v * h for k, v in levels.items()}} for h in range(1, STEPS)]
    )
    samples = pd.DataFrame(
        [
            {**KEY, "sample": s, "step": k, "demand": float((s * 7 + k) % 9)}
            for s in range(16)
            for k in range(1, STEPS)
        ]
    )
    return [parametric, cumulative, samples]


def compile_planning_kernels() -> None:
    """Plan each forecast form under fixed and random lead times and each service type, and
    allocate a supply once: every kernel those paths call is compiled (or loaded) after it.
    Once per process; later calls return at once."""
    global _compiled
    if _compiled:
        return
    from kernels import Policy, allocate, plan
    from kernels.config import SERVICE_TYPE_NAMES

    row = {**KEY, "on_hand": 12.0, "lead_time_mean": 4.0, "margin": 2.0, "holding_cost": 0.5}
    inventories = [pd.DataFrame([row]), pd.DataFrame([{**row, "lead_time_std": 1.0}])]
    for forecast in _forecasts():
        for inventory in inventories:
            for service_type in SERVICE_TYPE_NAMES:
                plan(forecast, inventory, policy=Policy(service_type=service_type))
    demand = pd.DataFrame(
        [
            {**KEY, "location_id": f"l{j}", "sample": s, "demand": float(s % 5 + j)}
            for j in range(2)
            for s in range(16)
        ]  # fmt: skip
    )
    stock = pd.DataFrame([{**KEY, "location_id": f"l{j}", "on_hand": 1.0} for j in range(2)])
    supply = pd.DataFrame([{"item_id": KEY["item_id"], "supply": 5.0}])
    for objective in ("sales", "margin"):
        allocate(demand, stock.assign(margin=1.0), supply, objective=objective)
    _compiled = True
