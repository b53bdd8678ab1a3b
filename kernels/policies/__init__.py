"""Safety stock, reorder points and order-up-to levels, batched over SKU x location rows.

Every policy here picks a *reorder level* ``s`` for the demand over a protection interval and
reports the safety stock ``s - E[demand]``. Two service targets are supported per row:

* **cycle service** (type 1): ``P(A <= s) >= alpha``, i.e. ``s`` is the alpha-quantile of A;
* **fill rate** (type 2): the expected fraction of demand served from stock is ``beta``. The loss
  function ``G(s) = E[(X - s)+]`` gives the expected shortage per replenishment cycle
  ``G_A(s) - G_B(s + c)``, which is inverted numerically (bisection) for
  ``G_A(s) - G_B(s + c) = (1 - beta) * m`` with ``m = E[A] - E[B] + c`` the demand per cycle.

The pair (A, B) and the shift c select the policy:

* continuous review (r, Q): A = B = lead-time demand D_L, c = Q. Exact for continuous demand (or
  unit demands) with backorders and a fixed lead time: between two arrivals the backlog grows from
  (D_L - r - Q)+ to (D_L' - r)+. The rule is a true (r, Q) rule (see :func:`order_quantities`):
  at or below r, order the smallest multiple of Q that lifts the position above r, so it lands
  in (r, r + Q]. Ordering up to r + Q instead is an (s, S) rule, which these formulas do not
  describe once demand can undershoot r.
* periodic review (R, S): A = D_{L+R}, B = D_L, c = 0, m = E[D_{L+R}] - E[D_L] = mean demand per
  review period; exact for backorders and a fixed lead time.

A fill rate needs demand per cycle, ``m > 0``. A row with no demand at all (``E[A] = E[B] = 0``,
``c = 0``) gets level 0 and fill rate 1. Any other row with ``m <= 0`` (e.g. B given with a
larger mean than A) has no defined fill rate: a fill-rate row is an error
(:class:`NoCycleDemandError`, naming the B field -- or ``shift`` when B = A -- and the rows),
a cycle-service row gets its level and ``fill_rate`` NaN.

Levels are floored at zero (demand is non-negative, so a negative level never raises service).
Three representations of A and B share this logic: parametric shapes (normal, gamma, negative
binomial, fitted by moments), quantile tables of cumulative demand (see :mod:`kernels.quantiles`,
optionally mixed over random lead times) and samples (see :mod:`kernels.samples`).

Layout: :mod:`~kernels.policies.cycle` (cycle service from samples or quantiles, the lean batched
kernels), :mod:`~kernels.policies.general` (cycle service or fill rate, continuous or periodic
review, from samples, quantile mixtures or moment-fitted shapes), :mod:`~kernels.policies.shapes`
(the moment-fitted distributions) and :mod:`~kernels.policies.orders` (critical ratio, newsvendor,
lot sizes and order quantities). The codes (``CYCLE``, ``FILL_RATE``, ``NORMAL``, ...) are defined
in :mod:`kernels.config`.
"""

from ..config import CYCLE, FILL_RATE, GAMMA, NEGBIN, NORMAL, ORDER_RULES, SHAPES
from .cycle import mean_from_quantiles, safety_stock_from_quantiles, safety_stock_from_samples
from .general import (
    NoCycleDemandError,
    policy_from_quantiles,
    policy_from_samples,
    policy_parametric,
)
from .orders import critical_ratio, newsvendor_quantity, order_quantities, round_lot_size
from .shapes import dist_cdf, dist_loss, dist_ppf

__all__ = [
    "CYCLE",
    "FILL_RATE",
    "GAMMA",
    "NEGBIN",
    "NORMAL",
    "ORDER_RULES",
    "SHAPES",
    "NoCycleDemandError",
    "critical_ratio",
    "dist_cdf",
    "dist_loss",
    "dist_ppf",
    "mean_from_quantiles",
    "newsvendor_quantity",
    "order_quantities",
    "policy_from_quantiles",
    "policy_from_samples",
    "policy_parametric",
    "round_lot_size",
    "safety_stock_from_quantiles",
    "safety_stock_from_samples",
]
