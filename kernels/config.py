"""Planning settings and the names the kernels share, defined once.

Light on purpose: only the standard library and :mod:`kernels.settings` (no NumPy, Numba, SciPy,
pandas or torch), so ``stockcast plan --help`` and a YAML loader can read the settings without
loading a kernel. The Numba kernels import their codes (``CYCLE``, ``NORMAL``, ``RULE_RQ``, ...)
from here, the table API and the command line the names and :class:`Policy`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

from .settings import check_settings, setting

# Service targets an inventory row may ask for (its ``service_type`` column). A newsvendor row
# is planned at the cycle service level given by its critical ratio.
SERVICE_TYPE_NAMES = ("cycle", "fill_rate", "newsvendor")
# Service-type codes of the kernels.
CYCLE = 0
FILL_RATE = 1

# Distributions fitted by moments to parametric demand; a name's kernel code is its position.
SHAPE_NAMES = ("normal", "gamma", "negbin")
SHAPES: dict[str, int] = {name: code for code, name in enumerate(SHAPE_NAMES)}
NORMAL, GAMMA, NEGBIN = (SHAPES[name] for name in SHAPE_NAMES)

# Order rules (see kernels.policies.orders.order_quantities); a rule's kernel code is its position.
ORDER_RULE_NAMES = ("rQ", "sS", "RS")
ORDER_RULES: dict[str, int] = {name: code for code, name in enumerate(ORDER_RULE_NAMES)}
RULE_RQ, RULE_SS, RULE_RS = (ORDER_RULES[name] for name in ORDER_RULE_NAMES)


@dataclass(frozen=True)
class Policy:
    """How :func:`kernels.plan` sets targets where the inventory table does not.

    The one source of the planning settings: ``stockcast plan`` derives its flags, their help
    defaults and choices from these fields (``segment_service_levels`` has a hand-written
    ``--segment-levels SEG=LEVEL,...`` flag). Values outside a field's bounds or choices are a
    ``ValueError`` naming ``Policy.<field>``.

    >>> Policy(service_level=0.98, segment_service_levels={"A": 0.99}).shape
    'normal'
    >>> Policy(service_level=1.0)
    Traceback (most recent call last):
    ...
    ValueError: Policy.service_level: expected < 1, got 1.0
    """

    service_level: float = setting(
        0.95,
        "cycle service or fill rate target where neither the row nor its segment sets one",
        min=0.0,
        max=1.0,
        open_min=True,
        open_max=True,
    )
    service_type: str = setting(
        "cycle",
        "service target where the inventory has no service_type column",
        choices=SERVICE_TYPE_NAMES,
    )
    segment_service_levels: Mapping[str, float] = setting(
        default_factory=dict,
        help="target by the inventory's segment (e.g. {'A': 0.98, 'B': 0.95, 'C': 0.9}), used "
        "where a row has no service_level of its own",
        cli=False,
    )
    shape: str = setting(
        "normal", "distribution fitted to parametric forecasts", choices=SHAPE_NAMES
    )
    default_cycle_days: float = setting(
        7.0,
        "lot size of continuous-review rows without lot_size, in days of mean demand",
        min=0.0,
        open_min=True,
        flag="cycle_days",
    )
    seed: int = setting(0, "seed of the lead-time draws for sample paths", min=0)
    horizon_tolerance: float = setting(
        1e-3,
        "largest lead-time probability allowed beyond the forecast's horizon",
        min=0.0,
        max=1.0,
    )
    step_days: float = setting(
        1.0,
        "days per forecast step (7 for a weekly forecast, 30.4375 for a monthly one): the "
        "inventory's lead times and review periods are in days, the forecast's horizons and "
        "steps (and per-step demand_mean / demand_std) in steps",
        min=0.0,
        open_min=True,
        # A step is at most a year: plans cut each step into days, and 1e7 asked a 3-row
        # forecast for gigabytes.
        max=366.0,
    )

    def __post_init__(self) -> None:
        try:  # types too: a Policy from JSON or YAML holds numbers, not "0.9"
            check_settings(self)
        except ValueError as exc:
            raise ValueError(f"Policy.{exc}") from None
        if not isinstance(self.segment_service_levels, Mapping):
            raise ValueError(
                "Policy.segment_service_levels: expected a mapping of segment to level, got "
                f"{type(self.segment_service_levels).__name__}"
            )
        for segment, level in self.segment_service_levels.items():
            # Segments are named by text or numbers (matched as the inventory's segment text,
            # 1.0 naming "1"), levels by numbers as every setting is ("0.9" is not a number).
            if isinstance(segment, bool) or not isinstance(segment, str | numbers.Real):
                raise ValueError(
                    f"Policy.segment_service_levels: expected segment names as text or numbers, "
                    f"got {segment!r}"
                )
            number = isinstance(level, numbers.Real) and not isinstance(level, bool)
            value = float(level) if number else math.nan
            if not 0.0 < value < 1.0:
                raise ValueError(
                    f"Policy.segment_service_levels[{segment!r}]: expected a level strictly "
                    f"between 0 and 1, got {level!r}"
                )
