"""Inventory math for stockcast: NumPy + Numba only (never torch), so planning runs without models.

The table API is exported here and loaded on first use, so ``import kernels.io`` or
``kernels.settings`` (which every package uses) loads neither Numba nor SciPy:

* :func:`plan` -- safety stock, reorder point, order-up-to level and order quantity per
  (item, location) from a forecast table and an inventory table, under a :class:`Policy`;
* :func:`allocate` -- scarce supply split across locations to maximize expected sales or margin;
* :func:`position` -- safety stock placed at a DC and its FCs (guaranteed-service model);
* :class:`Policy` -- the planning settings (also the flags of ``stockcast plan``).

>>> import pandas as pd
>>> from kernels import Policy, plan
>>> forecast = pd.DataFrame({"item_id": ["sku1", "sku2"], "location_id": "FC1",
...                          "demand_mean": [10.0, 4.0], "demand_std": [3.0, 2.0]})
>>> inventory = forecast[["item_id", "location_id"]].assign(on_hand=[20.0, 60.0],
...                                                         lead_time_mean=4.0)
>>> result = plan(forecast, inventory, Policy(service_level=0.95))
>>> result[["item_id", "safety_stock", "reorder_point", "order_qty"]].round(1)
  item_id  safety_stock  reorder_point  order_qty
0    sku1           9.9           49.9       70.0
1    sku2           6.6           22.6        0.0

Modules:

* :mod:`kernels.config` -- :class:`Policy` and the names the kernels share (service types,
  distributions, order rules); torch-, Numba- and pandas-free.
* :mod:`kernels.policies` -- safety stock and reorder points: :mod:`~kernels.policies.cycle`
  (cycle service level from demand samples or cumulative-demand quantiles, the batched hot
  paths), :mod:`~kernels.policies.general` (cycle service or fill rate, continuous (r, Q) or
  periodic (R, S) review, from samples, quantile tables mixed over random lead times, or
  moment-fitted normal/gamma/negative-binomial demand, :mod:`~kernels.policies.shapes`) and
  :mod:`~kernels.policies.orders` (newsvendor quantities; order quantities under the (r, Q),
  (s, S) or (R, S) rule with case packs and MOQ).
* :mod:`kernels.leadtime` -- protection-interval demand from parameters, sample paths with random
  lead times, or mixtures of cumulative quantile tables.
* :mod:`kernels.allocation` -- scarce supply across FCs by water-filling on the Lagrange
  multiplier, batched over SKUs.
* :mod:`kernels.echelon` -- two-echelon (DC + FCs) guaranteed-service safety stock.
* :mod:`kernels.cuda` -- ``numba.cuda`` versions of the batched sample and allocation kernels.
* :mod:`kernels.reference` -- plain NumPy/SciPy references of every kernel (tests, benchmarks).
* :mod:`kernels.tables` -- the pandas layer behind :func:`plan`, :func:`allocate` and
  :func:`position`.
* :mod:`kernels.simulation` -- a plan, and a weeks-of-supply rule holding the same average
  inventory, replayed day by day against realized demand (``simulate``, ``compare``; Numba
  core in ``kernels._simulate``).
* :mod:`kernels.io`, :mod:`kernels.settings`, :mod:`kernels.runfolder` -- files, settings
  dataclasses and run folders for every stockcast package.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernels._jitcache import drop_stale_caches

# Before any kernel is compiled or loaded from Numba's cache (see kernels._jitcache).
drop_stale_caches(Path(__file__).parent)

if TYPE_CHECKING:
    from kernels.config import Policy
    from kernels.simulation import compare, simulate
    from kernels.tables import abc_segments, allocate, plan, position

# Name -> module that defines it; imported on first access (PEP 562).
_EXPORTS = {
    "Policy": "kernels.config",
    "plan": "kernels.tables",
    "simulate": "kernels.simulation",
    "compare": "kernels.simulation",
    "allocate": "kernels.tables",
    "position": "kernels.tables",
    "abc_segments": "kernels.tables",
}

__all__ = ["Policy", "abc_segments", "allocate", "compare", "plan", "position", "simulate"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kernels' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
