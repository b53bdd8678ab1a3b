"""Order rules and single-period quantities: critical ratio, newsvendor, lot sizes, orders.

:func:`order_quantities` turns reorder levels into orders under the (r, Q), (s, S) or (R, S)
rule (codes in :mod:`kernels.config`), in whole case packs and at least the MOQ;
:func:`round_lot_size` makes a lot size fit for (r, Q) ordering; :func:`newsvendor_quantity`
orders F^-1(cu / (cu + co)) for one period.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import validate as v
from .._simulate import order_quantity
from ..config import ORDER_RULES, RULE_RQ, RULE_RS, RULE_SS
from .general import _sample_matrix, policy_from_samples, policy_parametric


def critical_ratio(underage_cost, overage_cost) -> np.ndarray:
    """Newsvendor critical ratio cu / (cu + co): the cost-optimal cycle service level.

    For replenishment, cu is the margin lost on a stock-out and co the cost of carrying one unit
    left over for a review cycle (holding cost per period x review period). Scalars or 1-d
    arrays of one common length (a scalar applies to every row); costs finite and >= 0, not both 0.
    """
    cu = np.atleast_1d(v.as_float_array("underage_cost", underage_cost))
    co = np.atleast_1d(v.as_float_array("overage_cost", overage_cost))
    for field, arr in (("underage_cost", cu), ("overage_cost", co)):
        if arr.ndim != 1:
            raise ValueError(f"{field}: expected a scalar or 1-d array, got shape {arr.shape}")
    n = max(cu.shape[0], co.shape[0])
    if cu.shape[0] == 1:
        cu = np.full(n, cu[0])
    if co.shape[0] == 1:
        co = np.full(n, co[0])
    v.check_length("underage_cost", cu, n)
    v.check_length("overage_cost", co, n)
    v.check_nonnegative("underage_cost", cu)
    v.check_nonnegative("overage_cost", co)
    total = cu + co
    bad = total <= 0
    if bad.any():
        v.fail("underage_cost", "underage + overage cost must be > 0", bad)
    return cu / total


def newsvendor_quantity(
    samples=None, *, mean=None, std=None, underage_cost, overage_cost, shape="normal"
):
    """Single-period order quantity F^-1(cu / (cu + co)) from samples or a moment-fitted shape.

    ``samples`` (n_rows, n_samples), or ``mean`` (n_rows,) and ``std`` (scalar or n_rows);
    ``underage_cost``/``overage_cost`` scalars or n_rows. A row without underage cost orders
    nothing (ratio 0); a row whose overage cost is 0 (or negligible next to its underage cost,
    so the ratio rounds to 1) has no finite optimum and is an error naming ``overage_cost``.
    """
    if samples is not None:
        # Checked here, on every row, so that errors name ``samples`` and the caller's rows.
        x = _sample_matrix("samples", samples)
        n = x.shape[0]
    elif mean is None or std is None:
        raise ValueError("newsvendor_quantity: give samples, or mean and std")
    else:
        mean = v.as_float_array("mean", np.atleast_1d(mean), ndim=1)
        n = mean.shape[0]
        std = v.broadcast_rows("std", std, n)
        v.check_nonnegative("mean", mean)
        v.check_nonnegative("std", std)
    ratio = critical_ratio(
        v.broadcast_rows("underage_cost", underage_cost, n),
        v.broadcast_rows("overage_cost", overage_cost, n),
    )
    bad = ratio >= 1.0
    if bad.any():
        v.fail("overage_cost", "0 or negligible: the critical ratio is 1, no finite quantity", bad)
    some = ratio > 0.0  # ratio 0: no underage cost, order nothing
    q = np.zeros(n)
    if samples is not None:
        # policy_from_samples, not the plain linear quantile: on whole-unit samples it takes the
        # smallest sample value whose CDF reaches the ratio, the cost-minimizing order (the linear
        # quantile ordered 19.525 of 1..20 at a ratio of 0.975, costlier than 20), as plan's
        # newsvendor rows do; on other samples both give np.quantile's linear quantile.
        q[some] = policy_from_samples(x[some], service_level=ratio[some])["level"]
    else:
        q[some] = policy_parametric(mean[some], std[some], service_level=ratio[some], shape=shape)[
            "level"
        ]
    return q


def round_lot_size(lot_size, case_pack=1.0, moq=0.0) -> np.ndarray:
    """A lot size Q fit for (r, Q) ordering: at least the MOQ, rounded up to whole case packs.

    Every (r, Q) order is a multiple of Q, so rounding Q (not each order) is what keeps every
    order a whole number of case packs and at least the MOQ. Returns float64, at least one pack.
    """
    q = v.as_float_array("lot_size", np.atleast_1d(lot_size))
    n = q.shape[0]
    pack = v.broadcast_rows("case_pack", case_pack, n)
    mo = v.broadcast_rows("moq", moq, n)
    v.check_nonnegative("lot_size", q)
    v.check_positive("case_pack", pack)
    v.check_nonnegative("moq", mo)
    q = np.maximum(q, mo)
    # The tolerance keeps an exact multiple (up to float noise) from rounding up a pack.
    return np.maximum(np.ceil(q / pack - 1e-9) * pack, pack)


@njit(parallel=True, cache=True)
def _order_kernel(rule, reorder_point, order_up_to, lot, position, case_pack, moq, qty):
    # One rule for plan and simulate (kernels._simulate.order_quantity): each copy had its own
    # reading of a position off a level by float residue only, and they disagreed.
    for i in prange(rule.shape[0]):
        qty[i] = order_quantity(
            rule[i], reorder_point[i], order_up_to[i], lot[i], position[i], case_pack[i], moq[i]
        )


def _rule_codes(rule, n) -> np.ndarray:
    arr = np.asarray(rule)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
        raise ValueError(f"rule: expected a scalar or {n} values, got shape {arr.shape}")
    arr = np.broadcast_to(arr, (n,))
    if arr.dtype.kind in "iu":
        codes = arr.astype(np.int64)
        bad = ~np.isin(codes, list(ORDER_RULES.values()))
    else:
        names, inverse = np.unique(arr.astype(str), return_inverse=True)
        table = np.array([ORDER_RULES.get(x, -1) for x in names], dtype=np.int64)
        codes = table[inverse] if n else np.zeros(0, dtype=np.int64)
        bad = codes < 0
    if bad.any():
        v.fail("rule", f"must be one of {', '.join(ORDER_RULES)}", bad)
    return np.ascontiguousarray(codes, dtype=np.int8)


def order_quantities(
    inventory_position,
    *,
    rule,
    reorder_point=None,
    order_up_to=None,
    lot_size=None,
    case_pack=1.0,
    moq=0.0,
) -> np.ndarray:
    """Order quantity per row from the inventory position (on hand + on order - backorders).

    ``rule`` (a name or one per row) says how a row orders:

    * ``"rQ"`` -- continuous review (r, Q), the rule the fill-rate and cycle-service formulas of
      this module assume: when the position is at or below ``reorder_point`` r, order the
      smallest multiple n Q of ``lot_size`` Q that lifts it above r, so it lands in (r, r + Q].
      Q must be a whole number of ``case_pack`` and at least ``moq`` (see
      :func:`round_lot_size`), so every order is too; a Q that is not is an error.
    * ``"sS"`` -- continuous review (s, S): at or below ``reorder_point`` s, order up to
      ``order_up_to`` S (at least ``moq``, rounded up to whole case packs).
    * ``"RS"`` -- periodic review (R, S), at a review: below ``order_up_to`` S, order up to S
      (at least ``moq``, rounded up to whole case packs).

    A position off a level by float residue only (on hand 0.1 + on order 2.2 - backorders 0.3
    is 2.0000000000000004) is read as on it, as :func:`kernels.simulation.simulate` reads it: an
    (r, Q) position within 1e-9 (or 1e-12 of its size) of r - k Q orders k + 1 lots, an (R, S)
    position under S by less than 1e-9 of a case pack orders nothing.

    Each row needs only its rule's levels (NaN or ``None`` elsewhere). Returns float64
    quantities (0 where no order is due); errors name the field and the rows.
    """
    ip = v.as_float_array("inventory_position", np.atleast_1d(inventory_position), ndim=1)
    n = ip.shape[0]
    code = _rule_codes(rule, n)
    nan = np.nan

    def levels(field, values):
        return v.broadcast_rows(field, nan if values is None else values, n)

    r = levels("reorder_point", reorder_point)
    s = levels("order_up_to", order_up_to)
    q = levels("lot_size", lot_size)
    pack = v.broadcast_rows("case_pack", case_pack, n)
    mo = v.broadcast_rows("moq", moq, n)
    v.check_finite("inventory_position", ip)
    v.check_positive("case_pack", pack)
    v.check_nonnegative("moq", mo)
    rq, ss, rs = code == RULE_RQ, code == RULE_SS, code == RULE_RS
    v.check_finite("reorder_point", np.where(rq | ss, r, 0.0))
    v.check_finite("order_up_to", np.where(ss | rs, s, 0.0))
    v.check_positive("lot_size", np.where(rq, q, 1.0))
    packs = q / pack
    # The MOQ in packs with round_lot_size's tolerance: its lot for a case pack of 0.3 and an MOQ
    # of 0.9 is 3 * 0.3 = 0.8999999999999999.
    short_of_moq = packs < mo / pack - 1e-9
    bad = rq & ((np.abs(packs - np.round(packs)) > 1e-9 * np.maximum(packs, 1.0)) | short_of_moq)
    if bad.any():
        v.fail(
            "lot_size",
            "an (r, Q) lot size must be a whole number of case packs and at least the MOQ "
            "(see round_lot_size)",
            bad,
        )
    bad = ss & (s < r)
    if bad.any():
        v.fail("order_up_to", "below the reorder point", bad)
    # The kernel counts lots in float64: beyond 2**52 lots n + 1 == n and its loops never end.
    with np.errstate(invalid="ignore", divide="ignore"):
        bad = rq & (ip <= r) & ((r - ip) / np.where(rq, q, 1.0) >= 2.0**52)
    if bad.any():
        v.fail("reorder_point", "more than 2**52 lots above the inventory position", bad)
    qty = np.empty(n)
    _order_kernel(code, r, s, q, ip, pack, mo, qty)
    return qty
