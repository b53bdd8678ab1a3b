"""``stockcast plan``: replenishment plan from a forecast and an inventory table.

Argument parsing only; :func:`kernels.plan` does the work. Every planning flag (its default,
help and choices) is derived from :class:`kernels.config.Policy`, which loads without NumPy or
Numba, so ``stockcast plan --help`` stays fast; pandas and the kernels are imported inside the
handler, and torch never is. Written by hand: the file flags, ``--segment-levels`` (a mapping)
and the inspection flags.

Bad input is exit status 2 with one line naming the flag and file, column or key, and nothing
written: the output location is checked before any work, tables are read through
:mod:`kernels.io`, and the plan is written to a temporary file beside ``--out`` (missing folders
are created) and renamed into place. An inventory with a header but no rows is such an error
here (an empty plan would read as "order nothing" downstream), while :func:`kernels.plan`
returns an empty plan for it.
"""

from __future__ import annotations

import argparse
import re

from kernels.config import Policy
from serving.cli import CliError
from serving.cli._options import add_settings, given, inputs_of, refuse_output_over_inputs

# The tables plan() takes, as it names them in errors; each is given by the flag of that name.
TABLES = ("forecast", "inventory", "lead_times", "rejected")


def _flag(table: str) -> str:
    return "--" + table.replace("_", "-")


def _segment_levels(text: str) -> dict[str, float]:
    levels: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"expected SEGMENT=LEVEL, got {part!r}")
        try:
            level = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r} in {part!r}") from None
        if not 0.0 < level < 1.0:
            raise argparse.ArgumentTypeError(
                f"segment {name!r}: level must be strictly between 0 and 1, got {value.strip()}"
            )
        if name in levels:
            raise argparse.ArgumentTypeError(f"segment {name!r} given twice")
        levels[name] = level
    return levels


def register(subparsers) -> None:
    """Add the ``plan`` subcommand."""
    p = subparsers.add_parser(
        "plan",
        help="safety stock, reorder points and order quantities from a forecast",
        description=(
            "Turn a demand forecast (cumulative quantiles with a 'horizon' column, sample paths "
            "'sample, step, demand', or 'demand_mean, demand_std') and an inventory table "
            "(on_hand, on_order, backorders, lead_time_mean/std, review_period, service_level, "
            "service_type, segment, case_pack, moq, ...) into a plan per item and location."
        ),
    )
    files = p.add_argument_group("tables (.parquet or .csv)")
    files.add_argument("--forecast", required=True, help="forecast table")
    files.add_argument("--inventory", required=True, help="inventory position table")
    files.add_argument(
        "--out", required=True, help="plan table to write (missing folders are created)"
    )
    files.add_argument(
        "--lead-times",
        help="supplier lead-time records (item_id, location_id, order_date, lead_time_days)",
    )
    files.add_argument(
        "--rejected",
        help="inspection counts per SKU (`stockcast inspect rejected`), or the items table of "
        "`stockcast inspect score` itself (item_id, verdict and the SKU column): rejected units "
        "leave on_hand before planning",
    )
    files.add_argument(
        "--sku-column",
        help="with an items table as --rejected: the column of the SKU each unit counts "
        "against, as `inspect rejected --sku-column` [product_id]",
    )
    files.add_argument(
        "--hold-review",
        action="store_true",
        help="with --rejected: units waiting for review are not sellable either (with "
        "--review-db they never are)",
    )
    files.add_argument(
        "--review-db",
        help="the review queue (`stockcast serve` pages): units a person rejected leave on_hand, "
        "units still waiting are held, passed ones count as stock again; with a --rejected "
        "counts table, its review counts are replaced by the queue's; with a --rejected items "
        "table, a unit both hold counts once, as the queue has it",
    )
    policy = p.add_argument_group("policy (where the inventory table does not set it)")
    add_settings(policy, Policy)
    policy.add_argument(
        "--segment-levels",
        dest="segment_service_levels",
        type=_segment_levels,
        metavar="SEG=LEVEL,...",
        help="service level per inventory segment, used where a row has no service_level of "
        "its own, e.g. A=0.98,B=0.95,C=0.9 [none]",
    )
    p.set_defaults(handler=run)


# Columns (and fields) plan() names at the start of an error, and the table each belongs to:
# "on_hand: negative value at key ..." was printed without the file it came from.
_FORECAST_FIELDS = ("demand_mean", "demand_std", "horizon", "sample", "step", "demand", "levels")
_TABLE_FIELDS = {
    "lead_time_days": "lead_times",
    "rejected_units": "rejected",
    "review_units": "rejected",
}


def _table_of(message: str) -> tuple[str | None, str]:
    """(table, message as shown after the file) of a plan() error: ``inventory: missing column
    x`` is the inventory's (``missing column x``), ``on_hand: negative value`` too, with its
    column kept, and ``forecast quantiles: ...`` the forecast's."""
    from kernels.tables import INVENTORY_COLUMNS, KEYS

    # The first word, and more words before the colon ("forecast quantiles", "rejected_units +
    # review_units"): such a message is shown whole.
    match = re.match(r"(\w+)((?: [+\w]+)*): ", message)
    if not match:
        return None, message
    field = match.group(1)
    if field in TABLES and not match.group(2):
        return field, message[match.end() :]
    if field == "forecast" or field in _FORECAST_FIELDS:
        return "forecast", message
    if field in _TABLE_FIELDS:
        return _TABLE_FIELDS[field], message
    if field in INVENTORY_COLUMNS and field not in KEYS:
        return "inventory", message
    return None, message


def _name_file(message: str, paths: dict[str, str]) -> str:
    """``inventory: missing column ...`` -> ``--inventory inv.csv: missing column ...``, and
    ``on_hand: negative value ...`` -> ``--inventory inv.csv: on_hand: negative value ...``."""
    table, rest = _table_of(message)
    if table in paths:
        return f"{_flag(table)} {paths[table]}: {rest}"
    return message


def _is_items_table(rejected) -> bool:
    """An items table of ``inspect score`` (one row per unit, with its verdict), not the
    per-SKU counts of ``inspect rejected``: the counts' SKU is their item_id, the items' a
    column of its own."""
    return "rejected_units" not in rejected.columns and "verdict" in rejected.columns


def _counted_items(items, args: argparse.Namespace):
    """(counts, hold_review) for plan() from an items table given as ``--rejected``: its units
    counted as ``inspect rejected`` counts them, and with ``--review-db`` each unit the
    database also holds counted once, by the database's state (the per-SKU counts carry no
    unit ids, so added together they took such a unit off twice)."""
    from serving.review import ReviewError, ReviewStore, inspection_holds
    from vision.tables import rejected_units

    given = {} if args.sku_column is None else {"sku_column": args.sku_column}
    name = f"--rejected {args.rejected}"
    if args.sku_column is None and "product_id" not in items.columns:
        raise CliError(
            f"{name}: missing column 'product_id', the SKU each unit counts against (an items "
            "table of `inspect score`); name another column with --sku-column"
        )
    try:
        if args.review_db is None:
            return rejected_units(items, **given, name=name), args.hold_review
        store = ReviewStore(args.review_db, create=False)
        held = inspection_holds(items, store, **given, hold_review=args.hold_review, name=name)
        return held, True
    except ReviewError as exc:  # the database's (a ValueError too: caught first)
        raise CliError(f"--review-db {exc}") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _with_review_queue(rejected, review_db: str, rejected_path: str | None = None):
    """Inspection holds with the review queue's decisions: automatic rejects from the scored
    table, plus the units a person rejected; held: the units still waiting for a person."""
    import numpy as np
    import pandas as pd

    from kernels.tables import _numbers, _text_keyed
    from serving.review import ReviewError, ReviewStore

    keys = ["item_id", "location_id"]
    try:
        queue = ReviewStore(review_db, create=False).stock_adjustments()
    except ReviewError as exc:
        raise CliError(f"--review-db {exc}") from None
    if rejected is None:
        return queue
    if "location_id" not in rejected.columns:
        raise CliError(
            "--rejected: with --review-db the rejected table needs a location_id column (the "
            "review queue counts units per SKU and location)"
        )
    if "rejected_units" not in rejected.columns:
        raise CliError(f"--rejected {rejected_path}: missing column(s) rejected_units")
    # Checked before the merge, as plan() checks the table without a queue: the merge's fill
    # of the queue-only keys read a blank count as 0 and text as an uncaught TypeError.
    units = _numbers(rejected["rejected_units"])
    bad = ~np.isfinite(units) | (units < 0)
    if bad.any():
        shown = ", ".join(
            f"({i}, {loc})" for i, loc in rejected.loc[bad, keys].head(5).itertuples(index=False)
        )
        raise CliError(
            f"--rejected {rejected_path}: rejected_units: missing, non-numeric or negative value "
            f"at key(s) {shown}"
        )
    # Keys as plan() matches them: a parquet's float id 7.0 is SKU "7", not a row "7.0" of its own
    scored = _text_keyed(rejected[keys].assign(rejected_units=units))
    merged = pd.merge(scored, _text_keyed(queue), on=keys, how="outer")
    merged = merged.fillna(0)
    merged["rejected_units"] = merged["rejected_units_x"] + merged["rejected_units_y"]
    return merged[[*keys, "rejected_units", "review_units"]]


def run(args: argparse.Namespace) -> int:
    """Check the output, read the tables, plan, write the plan atomically; print a summary."""
    from kernels.io import FileError, check_writable, read_table, table_kind, write_table

    try:
        table_kind(args.out)
        check_writable(args.out)
    except FileError as exc:
        raise CliError(f"--out {exc}") from None
    inputs = inputs_of(args, *TABLES, "review_db")
    refuse_output_over_inputs(args.out, inputs, what="the plan")
    if args.hold_review and not args.rejected and args.review_db is None:
        # The review queue's waiting units are held whatever the flag: it asks for nothing more.
        raise CliError("--hold-review needs --rejected or --review-db")
    if args.sku_column is not None and not args.rejected:
        raise CliError("--sku-column needs --rejected (an items table of `inspect score`)")
    if args.review_db is not None:
        from serving.review import database_path

        if not database_path(args.review_db).is_file():  # a path or a sqlite:/// URL, as serve's
            raise CliError(f"--review-db {args.review_db}: no such file")
    paths = {t: getattr(args, t) for t in TABLES if getattr(args, t) is not None}
    tables = {}
    for table, path in paths.items():
        try:
            # Keys as text, as every table stockcast writes holds them (SKU 0007 is not 7), and
            # segments as text, as --segment-levels names them (segment 01 is not 1).
            # The SKU column of an items table too (`inspect rejected` reads it so).
            sku = (args.sku_column or "product_id",) if table == "rejected" else ()
            tables[table] = read_table(path, text=("item_id", "location_id", "segment", *sku))
        except FileError as exc:
            raise CliError(f"{_flag(table)} {exc}") from None
    values = given(args, Policy)
    if args.segment_service_levels is not None:
        values["segment_service_levels"] = args.segment_service_levels
    if "step_days" not in values:
        # The forecast's own step (a weekly cumulative forecast says 7 days): the default of
        # 1 read its weeks as days, seven times the lead-time demand.
        from kernels.tables import forecast_step_days

        try:
            stated = forecast_step_days(tables["forecast"])
        except ValueError as exc:
            raise CliError(_name_file(str(exc), paths)) from None
        if stated is not None:
            values["step_days"] = stated
    policy = Policy(**values)
    if tables["inventory"].empty:
        raise CliError(
            f"--inventory {paths['inventory']}: no rows (only a header): nothing to plan"
        )

    from kernels import plan

    rejected, hold_review = tables.get("rejected"), args.hold_review
    if rejected is not None and _is_items_table(rejected):
        rejected, hold_review = _counted_items(rejected, args)
    elif rejected is not None and args.sku_column is not None:
        if "rejected_units" not in rejected.columns:
            # Neither kind: calling it a counts table sent the user looking for the wrong fault.
            raise CliError(
                f"--rejected {args.rejected}: no verdict column (an items table of `inspect "
                "score`, which --sku-column reads) and no rejected_units (a counts table)"
            )
        raise CliError(
            f"--sku-column: --rejected {args.rejected} is a counts table (rejected_units), whose "
            "item_id is the SKU; --sku-column names the SKU column of an items table"
        )
    elif args.review_db is not None:
        rejected, hold_review = _with_review_queue(rejected, args.review_db, args.rejected), True
    try:
        result = plan(
            tables["forecast"],
            tables["inventory"],
            policy,
            lead_times=tables.get("lead_times"),
            rejected=rejected,
            hold_review=hold_review,
        )
    except ValueError as exc:
        message = str(exc)
        owner, rest = _table_of(message)
        if args.review_db is not None and owner == "rejected":
            # The counts plan() read are the queue's merged with the --rejected table's: a key
            # only the queue holds (a unit queued at "fc01") was named as a row of the
            # --rejected file, or, without one, of a "rejected" table no flag gave.
            source = f"--review-db {args.review_db}"
            if args.rejected is not None:
                source = f"--rejected {args.rejected} with {source}"
            raise CliError(f"{source}: {rest}") from None
        raise CliError(_name_file(message, paths)) from None
    write_table(result, args.out)
    ordering = int((result["order_qty"] > 0).sum())
    print(
        f"planned {len(result)} item-locations, {ordering} with an order "
        f"({result['order_qty'].sum():.0f} units) -> {args.out}"
    )
    return 0
