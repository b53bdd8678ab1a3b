"""Inventory math for stockcast: NumPy + Numba only (never torch), so planning runs without models.

Modules (import what you need; this package imports nothing at load time):

* :mod:`kernels.policies` -- safety stock and reorder points at a cycle service level from
  demand samples or cumulative-demand quantiles (the batched hot paths), and general policies
  (cycle service or fill rate, continuous (r, Q) or periodic (R, S) review) from samples, quantile
  tables mixed over random lead times, or moment-fitted normal/gamma/negative-binomial demand;
  newsvendor quantities; order quantities under the (r, Q), (s, S) or (R, S) rule with
  case packs and MOQ.
* :mod:`kernels.leadtime` -- protection-interval demand from parameters, sample paths with random
  lead times, or mixtures of cumulative quantile tables.
* :mod:`kernels.allocation` -- scarce supply across FCs by water-filling on the Lagrange
  multiplier, batched over SKUs.
* :mod:`kernels.echelon` -- two-echelon (DC + FCs) guaranteed-service safety stock.
* :mod:`kernels.cuda` -- ``numba.cuda`` versions of the batched sample and allocation kernels.
* :mod:`kernels.reference` -- plain NumPy/SciPy references of every kernel (tests, benchmarks).
* :mod:`kernels.tables` -- the pandas API: ``plan(forecast, inventory, policy)``,
  ``allocate(demand, stock, supply)``, ``position(fc, dc)``; used by ``stockcast plan``.
"""
