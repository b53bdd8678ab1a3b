"""The Numba core of :mod:`kernels.simulation`: day-by-day inventory, batched over rows.

One row is one (item, location). Each simulated day ``t`` of a row:

1. **receive** the orders due that morning (an order placed at the end of day ``t`` with a lead
   time of ``L`` whole days is on the shelf at the start of day ``t + L + 1``, so ``L = 0`` means
   the next morning and the position ordered at the end of day ``t`` covers exactly the demand
   of days ``t + 1 .. t + L`` before it arrives -- the lead-time demand the plan protects);
2. **serve** the day's demand from on hand: the unserved part is lost (``lost_sales``) or
   backordered (net stock goes negative and later receipts fill it first);
3. **review** at the end of the day -- every day for continuous review, on days ``t % R == 0``
   for periodic review -- and order by the row's rule from the inventory position
   ``net stock + on order`` (net stock = on hand - backorders), with :func:`order_quantity`.

:func:`order_quantity` is the scalar form of the (r, Q) / (s, S) / (R, S) rule of
:func:`kernels.policies.order_quantities` (same arithmetic, same tolerance; the tests check that
the two agree). The weeks-of-supply rule is the (R, S) rule with a target that changes by day:
``order_up_to[i] * target_rate[i, t]`` (days of supply times the trailing average demand).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .config import RULE_RQ, RULE_RS

# Columns of the per-row totals the kernel returns.
TOTALS = (
    "demand",
    "served",
    "on_hand_days",  # sum over days of the end-of-day on hand
    "stockout_days",  # days with demand not served from stock
    "empty_days",  # days that end with nothing on hand
    "orders",
    "units_ordered",
    "units_received",
    "ending_on_hand",
    "ending_on_order",
    "ending_backorders",
)
N_TOTALS = len(TOTALS)

# Trajectories recorded per row and day when asked for (their index in the ``paths`` array).
PATHS = ("on_hand", "on_order", "served", "ordered", "received", "backorders")
N_PATHS = len(PATHS)


@njit(cache=True)
def order_quantity(rule, reorder_point, order_up_to, lot, position, case_pack, moq):
    """One row's order under ``rule`` (a code of :data:`kernels.config.ORDER_RULES`).

    The arithmetic of :func:`kernels.policies.order_quantities`: (r, Q) orders the smallest
    multiple of Q lifting the position above r; (s, S) at or below s and (R, S) below S order up
    to S, at least the MOQ, rounded up to whole case packs.
    """
    if rule == RULE_RQ:
        # Float residue in the position: 3.0000000000000004 for a true 3 (on hand 0.1 + on order
        # 2.2 - backorders 0.3 is 2.0000000000000004) skipped the order due at r = 3 (and 3 lots
        # below r ordered 3 lots, not 4): a position within that residue (1e-9, or 1e-12 of its
        # size) of r - k Q is on it.
        k = np.rint((reorder_point - position) / lot)
        gap = abs(reorder_point - k * lot - position)
        tol = 1e-9 + 1e-12 * max(abs(position), abs(reorder_point))
        if k >= 0.0 and gap <= tol < 0.25 * lot:
            return (k + 1.0) * lot
        if position > reorder_point:
            return 0.0
        n = math.floor((reorder_point - position) / lot) + 1.0
        while position + n * lot <= reorder_point:
            n += 1.0
        while n > 1.0 and position + (n - 1.0) * lot > reorder_point:
            n -= 1.0
        return n * lot
    trigger = position < order_up_to if rule == RULE_RS else position <= reorder_point
    # Under S by less than the 1e-9 of a pack that the rounding below takes away is at S: an
    # (R, S) position of 0.29999999999999993 (0.7 - 0.4) under S = 0.3 ordered a lone MOQ.
    if not trigger or (rule == RULE_RS and order_up_to - 1e-9 * case_pack <= position):
        return 0.0
    need = max(order_up_to - position, moq, 0.0)
    if need <= 0.0:
        return 0.0
    # np.ceil stays in float64 (math.ceil is an int64 in Numba: 2**63 packs wrapped negative).
    packs = np.ceil(need / case_pack - 1e-9)
    return packs * case_pack if packs > 0.0 else 0.0  # not -0.0 for a need within the 1e-9


@njit(cache=True)
def _simulate_row(
    i,
    rule,
    reorder_point,
    order_up_to,
    lot,
    review,
    case_pack,
    moq,
    daily_target,
    target_rate,
    demand,
    lead,
    on_hand0,
    on_order0,
    lost_sales,
    record,
    totals,
    paths,
):
    # One row of simulate_rows (a function of its own: the parallel loop stays small to compile).
    days = demand.shape[1]
    arrivals = np.zeros(days)
    net = on_hand0[i]
    pipeline = on_order0[i]
    if pipeline > 0.0 and lead[i, 0] < days:
        arrivals[lead[i, 0]] += pipeline
    demanded = 0.0
    served_total = 0.0
    on_hand_days = 0.0
    stockout_days = 0.0
    empty_days = 0.0
    orders = 0.0
    units_ordered = 0.0
    units_received = 0.0
    period = review[i]
    for t in range(days):
        got = arrivals[t]
        net += got
        pipeline -= got
        d = demand[i, t]
        # Sums of fractional units carry float residue: 0.7 on hand less 0.4 sold left
        # 0.29999999999999993, and selling the last 0.3 counted a stockout day (and 6e-17
        # unmet) though every unit was served; the other way a day ended "not empty" on 4e-17.
        # On hand within 1e-9 of the day's demand is that demand exactly.
        if net > 0.0 and abs(net - d) <= 1e-9 * max(d, 1.0):
            net = d
        served = min(d, net) if net > 0.0 else 0.0
        if lost_sales:
            net -= served
        else:
            net -= d
        q = 0.0
        if t % period == 0:
            up_to = order_up_to[i] * target_rate[i, t] if daily_target else order_up_to[i]
            # The same float residue in the position (3.0000000000000004 for a true 3):
            # order_quantity reads a position within it of r - k Q, or of S, as on it.
            pos = net + pipeline
            q = order_quantity(rule[i], reorder_point[i], up_to, lot[i], pos, case_pack[i], moq[i])
            if q > 0.0:
                arrive = t + lead[i, t + 1] + 1
                if arrive < days:
                    arrivals[arrive] += q
                pipeline += q
        on_hand = net if net > 0.0 else 0.0
        demanded += d
        served_total += served
        on_hand_days += on_hand
        if served < d:
            stockout_days += 1.0
        if on_hand <= 0.0:
            empty_days += 1.0
        if q > 0.0:
            orders += 1.0
            units_ordered += q
        units_received += got
        if record:
            paths[0, i, t] = on_hand
            paths[1, i, t] = pipeline
            paths[2, i, t] = served
            paths[3, i, t] = q
            paths[4, i, t] = got
            paths[5, i, t] = -net if net < 0.0 else 0.0
    totals[i, 0] = demanded
    totals[i, 1] = served_total
    totals[i, 2] = on_hand_days
    totals[i, 3] = stockout_days
    totals[i, 4] = empty_days
    totals[i, 5] = orders
    totals[i, 6] = units_ordered
    totals[i, 7] = units_received
    totals[i, 8] = net if net > 0.0 else 0.0
    totals[i, 9] = pipeline
    totals[i, 10] = -net if net < 0.0 else 0.0


@njit(parallel=True, cache=True)
def simulate_rows(
    rule,
    reorder_point,
    order_up_to,
    lot,
    review,
    case_pack,
    moq,
    daily_target,
    target_rate,
    demand,
    lead,
    on_hand0,
    on_order0,
    lost_sales,
    record,
    totals,
    paths,
):
    """Simulate every row over ``demand.shape[1]`` days; fill ``totals`` (and ``paths``).

    ``rule`` (int8), ``reorder_point``, ``order_up_to``, ``lot``, ``review`` (int64 days, 1 for
    continuous review), ``case_pack``, ``moq``, ``on_hand0``, ``on_order0``: per row.
    ``daily_target``: when true the order-up-to level on day t is
    ``order_up_to[i] * target_rate[i, t]`` (otherwise ``target_rate`` is not read).
    ``demand`` (n, T); ``lead`` (n, T + 1) int64: column 0 is the lead time of the initial
    ``on_order0`` (placed the day before day 0), column t + 1 that of an order placed on day t.
    ``totals`` (n, N_TOTALS) is overwritten; ``paths`` (N_PATHS, n, T) is written when ``record``.
    """
    for i in prange(demand.shape[0]):
        _simulate_row(
            i,
            rule,
            reorder_point,
            order_up_to,
            lot,
            review,
            case_pack,
            moq,
            daily_target,
            target_rate,
            demand,
            lead,
            on_hand0,
            on_order0,
            lost_sales,
            record,
            totals,
            paths,
        )
