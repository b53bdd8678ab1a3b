"""Files for every stockcast package: tables, JSON and atomic writes.

It lives in ``kernels``, the torch-free package every other one builds on, so that planning,
forecasting, inspection and serving read and write files one way: a missing, empty, corrupt or
misnamed file is a :class:`FileError` that names the path, and every output is written to a
temporary file beside its target and renamed into place, so a crash or Ctrl-C never leaves a
partial file behind.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


class FileError(ValueError):
    """A file a user named cannot be used as asked; the message starts with its path."""


def table_kind(path: str | Path) -> str:
    """``csv`` or ``parquet`` by suffix (``.csv``, ``.csv.gz``, ``.parquet``, ``.pq``)."""
    name = str(path).lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise FileError(f"{path}: unsupported table type; use .csv or .parquet")


def _existing_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileError(f"{path}: no such file")
    if path.is_dir():
        raise FileError(f"{path}: is a folder, expected a file")
    if path.stat().st_size == 0:
        raise FileError(f"{path}: the file is empty")
    return path


def read_table(
    path: str | Path, columns: list[str] | None = None, text: Iterable[str] = (), **csv: Any
) -> pd.DataFrame:
    """Read the CSV or parquet table at ``path`` (by suffix), only ``columns`` if given (default:
    all); ``csv`` holds extra ``pandas.read_csv`` options.

    ``text`` names key columns read from a CSV as text, as a parquet file keeps them: an id
    such as ``0007`` or ``01`` is not the number 7 or 1, and ``NA``, ``None`` or ``null`` is
    that text, not a missing value (North America, a promotion named None); an empty cell
    stays missing. The other columns read pandas' missing-value words as missing.

    Raises :class:`FileError` naming the file when it is missing, a folder, empty, of another
    type or unreadable (truncated parquet, malformed CSV).
    """
    path = _existing_file(path)
    kind = table_kind(path)
    try:
        if kind == "csv":
            names = _check_header(path, csv)  # before the whole file is parsed
            if text:
                csv["dtype"] = {**{c: str for c in text}, **(csv.get("dtype") or {})}
                if "na_values" not in csv and "keep_default_na" not in csv:
                    csv.update(_text_missing(path, text, csv))
            frame = pd.read_csv(path, usecols=columns, **csv)
            if not isinstance(frame.index, pd.RangeIndex) and "index_col" not in csv:
                frame = _without_row_names(path, frame, columns, csv)
            if columns is None and "index_col" not in csv:
                _check_unnamed(path, frame, names)
            return frame
        frame = pd.read_parquet(path, columns=columns)
        if not isinstance(frame.index, pd.RangeIndex):
            frame = _index_as_columns(frame, columns)
        return frame
    except UnicodeDecodeError as exc:
        raise FileError(f"{path}: not a readable CSV file ({_not_utf8(path, exc)})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FileError(f"{path}: not a readable CSV file ({_first_line(exc)})") from None
    except (OSError, ValueError) as exc:
        if isinstance(exc, FileError):
            raise
        what = "parquet" if kind == "parquet" else "CSV"
        raise FileError(f"{path}: not a readable {what} file ({_first_line(exc)})") from None


#: ``pandas.read_csv``'s default missing-value words (its documented ``na_values`` list).
PANDAS_MISSING_WORDS = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip


def _arrow_zone(tz: str) -> Any:
    """An Arrow time zone name as pandas reads it. A fixed offset is Arrow's ``+HH:MM`` or
    ``+HHMM``; pandas reads ``+0530`` as ``UTC+05:00`` (the minutes dropped), so India's
    midnights came back as 23:30 the day before: an offset is given as a ``timezone``."""
    offset = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", tz)
    if offset is None:
        return tz
    sign = -1 if offset[1] == "-" else 1
    return timezone(sign * timedelta(hours=int(offset[2]), minutes=int(offset[3])))


def wall_times(raw: pd.Series) -> pd.Series:
    """Datetime objects (``datetime``, ``Timestamp``) as their local wall time. Objects whose
    UTC offset changes across daylight saving (a database driver's fixed offsets, timestamps
    parsed one by one) are not one time zone to pandas, which read the rows after the change as
    missing; as text they are read as their local days already.

    Dates held by pandas' pyarrow backend (``dtype_backend="pyarrow"``) are taken as numpy
    datetimes, a zoned column at its local wall time: the readers localize only numpy's zoned
    dates, and a zoned Arrow column failed comparing with naive dates (a panel), merging with
    them (monitor actuals) or counted the 23-hour day as no day (a simulation). Periods
    (``pd.Period``) are the day they start."""
    if isinstance(raw.dtype, pd.PeriodDtype):
        # A period (``to_period("M")``, a monthly report's months) is the day it starts:
        # to_datetime reads periods as missing, and the whole column was refused.
        return raw.dt.to_timestamp(how="start")
    if isinstance(raw.dtype, pd.ArrowDtype) and raw.dtype.kind == "M":
        tz = getattr(raw.dtype.pyarrow_dtype, "tz", None)
        if tz is not None:
            # Through numpy's zoned dtype: pandas 2.x (the newest that Python 3.10 installs)
            # takes an Arrow column's tz_localize(None) to its UTC time (05:00 in New York).
            return raw.astype(pd.DatetimeTZDtype("ns", _arrow_zone(tz))).dt.tz_localize(None)
        return raw.astype("datetime64[ns]")
    present = raw.dropna()
    # A text column (dates read from a CSV) is left alone: mapping every cell costs time.
    if raw.dtype != object or len(present) == 0 or not isinstance(present.iloc[0], datetime):
        return raw
    return raw.map(lambda v: v.replace(tzinfo=None) if isinstance(v, datetime) else v)


def local_datetimes(raw: pd.Series) -> pd.Series:
    """``pd.to_datetime`` of text or objects, unreadable values NaT; dates whose UTC offsets
    differ between rows (daylight saving), which pandas refuses to mix, are read as their local
    times (a date with a time zone is its local calendar day)."""
    try:
        with warnings.catch_warnings():  # pandas 2.x: "mixed time zones will raise an error"
            warnings.simplefilter("ignore", FutureWarning)
            parsed = pd.to_datetime(raw, errors="coerce")
    except ValueError:  # pandas 3 refuses mixed offsets
        parsed = None
    # pandas 2.x (the newest that Python 3.10 installs) returns them as objects instead: the
    # rows were refused as times of day, or the .dt accessor failed.
    if parsed is not None and parsed.dtype != object:
        return parsed
    local = raw.astype("string").str.replace(r"(?:Z|[+-]\d{2}:?\d{2})$", "", regex=True)
    return pd.to_datetime(local, errors="coerce")


#: ``fail(problem, rows)``: raise the caller's error for a date column's rows (a bool mask).
DateFail = Callable[[str, Any], NoReturn]


def _date_error(problem: str, rows: Any) -> NoReturn:
    raise ValueError(f"date: {problem}")


def read_dates(raw: pd.Series, fail: DateFail | None = None) -> pd.Series:
    """A demand table's dates as a panel reads them, for every package that reads one (the
    forecasting panel and monitor, the simulation): strings, datetimes, or integers written
    YYYYMMDD (pandas would read an integer as nanoseconds after 1970), and dates of two numbers
    and a year (05.01.2024) in the order the column as a whole tells (:func:`_day_month_as_iso`).
    Unreadable cells are NaT; a column these rules refuse calls ``fail(problem, rows)``
    (default: a ``ValueError`` naming the ``date`` column). Dates with a time zone are returned
    zoned or as their local times, as :func:`local_datetimes` reads them.

    One implementation: the simulation read its dates with bare pandas, so a dd/mm/yyyy table
    the panel read was "not a date" there, and a YYYYMMDD one "not a whole day"."""
    fail = _date_error if fail is None else fail
    if isinstance(raw.dtype, np.dtype) and raw.dtype.kind == "M":
        return raw  # already dates (time zone free): nothing to parse
    if pd.api.types.is_integer_dtype(raw) or pd.api.types.is_float_dtype(raw):
        # As numpy floats (exact for 8 digits): an Arrow-backed column (dtype_backend="pyarrow")
        # has no modulo, and YYYYMMDD numbers raised NotImplementedError instead of reading.
        numbers = pd.Series(
            pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan),
            index=raw.index,
        )
        looks = numbers.between(1_000_01_01, 9_999_12_31) & (numbers % 1 == 0)
        if not looks.all():
            fail("numeric dates must be written YYYYMMDD (e.g. 20240131)", (~looks).to_numpy())
        text = numbers.astype("int64").astype(str)
        return pd.to_datetime(text, format="%Y%m%d", errors="coerce")
    return local_datetimes(_day_month_as_iso(wall_times(raw), fail))


# A date of two numbers and a year (05.01.2024, 1/5/24): which number is the day is the table's
# convention, not the text's. pandas guesses it from the first row alone (month first unless the
# first day is above 12), so 05.01.2024 read as 1 May and a file read day first for one table
# read month first for the next.
DAY_MONTH = re.compile(r"^\s*(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})((?:[ T].*)?)$", re.S)


def _day_month_as_iso(raw: pd.Series, fail: DateFail) -> pd.Series:
    """Dates written day and month in either order as ISO text (YYYY-MM-DD), the order taken
    from the column as a whole: day first where a first number is above 12, month first where
    a second one is. A column where no number tells (every day <= 12) is refused, as is one
    that mixes the orders or this form with others. Other columns are returned as they are."""
    present = raw.dropna()
    if len(present) == 0 or not isinstance(present.iloc[0], str):
        return raw
    if not DAY_MONTH.match(present.iloc[0]):
        return raw  # pandas infers the form of the first date and refuses other forms
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    texts = [u if isinstance(u, str) else None for u in uniques]
    found = [DAY_MONTH.match(t) if t is not None else None for t in texts]
    other = np.array([m is None for m in found])
    if other.any():
        examples = [str(u) for u in uniques[other][:3]]
        fail(
            f"dates written in more than one form, e.g. {examples} beside {present.iloc[0]!r}; "
            "write every date as YYYY-MM-DD",
            np.isin(codes, np.flatnonzero(other)),
        )
    matched = [m for m in found if m is not None]  # every one, after the check above
    first = np.array([int(m.group(1)) for m in matched])
    second = np.array([int(m.group(3)) for m in matched])
    day_first, month_first = first > 12, second > 12
    if day_first.any() and month_first.any():
        fewer = month_first if day_first.sum() > month_first.sum() else day_first
        fail(
            "dates written day first and month first in one column, e.g. "
            f"{uniques[day_first][0]!r} and {uniques[month_first][0]!r}; write them YYYY-MM-DD",
            np.isin(codes, np.flatnonzero(fewer)),
        )
    if not day_first.any() and not month_first.any() and (first != second).any():
        example = uniques[np.flatnonzero(first != second)[0]]
        fail(
            f"ambiguous dates: {example!r} may be day/month or month/day and no date has a "
            "number above 12 to tell; write them YYYY-MM-DD",
            np.isin(codes, np.flatnonzero(first != second)),
        )
    if day_first.any() and all(len(m.group(4)) == 2 for m in matched):
        years = np.array([int(m.group(4)) for m in matched])
        _year_first_check(uniques, codes, first, second, years, fail)
    day, month = (first, second) if day_first.any() else (second, first)
    iso = []
    for m, d, mo in zip(matched, day, month, strict=True):
        year = int(m.group(4))
        if len(m.group(4)) == 2:
            year += 2000 if year < 69 else 1900  # strptime's %y
        iso.append(f"{year:04d}-{mo:02d}-{d:02d}{m.group(5)}")
    return pd.Series(np.array([*iso, None], dtype=object)[codes], index=raw.index)


def _year_first_check(uniques, codes, first, second, years, fail: DateFail) -> None:
    """Two-digit-year dates read day first (a first number above 12) that are as well read year
    first (YY/MM/DD, the short form of Sweden or East Asia): 24/01/01 ... 24/12/01, a monthly
    2024, was read as 24 January ... 24 December 2001 without a word. The year is taken as
    last unless the column says otherwise: a day-first column's days vary more than its years
    (13/01/24, 14/01/24), so it is refused only where its first numbers take no more values
    than its last ones and the two readings differ."""
    third = years
    try:
        for y, mo, d in zip(first, second, third, strict=True):
            datetime(2000 + int(y), int(mo), int(d))
    except ValueError:
        return  # not every date reads year first: the column is day first
    if len(set(first)) > len(set(third)) or (first == third).all():
        return
    example = uniques[np.flatnonzero(first != third)[0]]
    fail(
        f"ambiguous dates: {example!r} may be day/month/year or year/month/day and no date "
        "tells; write them YYYY-MM-DD",
        np.isin(codes, np.flatnonzero(first != third)),
    )


def _text_missing(path: Path, text: Iterable[str], csv: dict[str, Any]) -> dict[str, Any]:
    """``read_csv`` options under which only an empty cell of the ``text`` columns is missing
    and every other column keeps pandas' default missing-value words."""
    options = {k: v for k, v in csv.items() if k in ("sep", "delimiter", "encoding", "header")}
    header = pd.read_csv(path, nrows=0, **options).columns
    keep = set(text)
    words = list(PANDAS_MISSING_WORDS)
    na_values = {c: [""] if c in keep else words for c in header}
    return {"keep_default_na": False, "na_values": na_values}


def _without_row_names(
    path: Path, frame: pd.DataFrame, columns: list[str] | None, csv: dict[str, Any]
) -> pd.DataFrame:
    """A CSV whose first row has more fields than the header, which pandas reads as row
    names: every column took a right neighbour's values (item_id the location, a date the
    demand). Fields past the header that are all empty (a delimiter at the end of each line,
    as spreadsheets and ERP exports write them) are dropped; any other is refused, since which
    column is one too many the file does not say (an unquoted ``1,5`` or ``1,234``)."""
    extra = frame.index.nlevels  # fields past the header: pandas names rows by as many
    past = frame.iloc[:, -extra:].astype("string").fillna("")  # "" where read as text
    if len(frame.columns) >= extra and past.apply(lambda c: c.str.strip() == "").all(axis=None):
        with warnings.catch_warnings():  # the fields it warns of losing are empty
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            return pd.read_csv(path, usecols=columns, index_col=False, **csv)
    raise FileError(
        f"{path}: rows have more fields than the header's {len(frame.columns)} names (an "
        "unquoted decimal comma or thousands separator, e.g. 1,5 or 1,234?); write numbers "
        "without commas (1.5, 1234): quoted, they are read as text, not numbers"
    )


def _index_as_columns(frame: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    """A parquet file's pandas index as the columns it was: pandas restores the index a frame
    was saved with, which no reader looks at. A named one (``set_index("date")``) hid that
    column ("date: column not found"), and an unnamed one repeating its labels (a table put
    together with ``pd.concat``) failed a reader that aligns on them ("cannot reindex on an
    axis with duplicate labels", ``inspect rejected --scores``). Named levels become columns,
    unless a column has that name or ``columns`` leaves them out; unnamed ones, row numbers,
    are dropped."""
    names = [
        n
        for n in frame.index.names
        if n is not None and n not in frame.columns and (columns is None or n in columns)
    ]
    if names:
        drop = [level for level, n in enumerate(frame.index.names) if n not in names]
        frame = frame.reset_index(level=drop, drop=True) if drop else frame
        return frame.reset_index()
    return frame.reset_index(drop=True)


def _check_header(path: Path, csv: dict[str, Any]) -> list[str] | None:
    """A CSV header that names a column twice is refused, as a parquet file is: pandas renames
    the second ``units`` to ``units.1`` and a reader took the first without a word. Returns the
    header's names (``None`` without a header).

    Empty names (a header ending in delimiters, as spreadsheets save unused columns) may
    repeat: pandas names each ``Unnamed: N`` by its position, and no reader takes one for
    another (``'' appears more than once`` refused an export with two empty columns)."""
    if csv.get("header", "infer") is None:
        return None
    options = {k: v for k, v in csv.items() if k in ("sep", "delimiter", "encoding")}
    names = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False, **options)
    if names.shape[1] == 1 and not options.keys() & {"sep", "delimiter"}:
        # A spreadsheet saved with semicolons (a decimal-comma locale) or tabs is one column
        # to a comma reader: every reader then said its columns were missing.
        for separator, word in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if separator in str(names.iloc[0, 0]):
                raise FileError(
                    f"{path}: the header is one column, {names.iloc[0, 0]!r}: its names are "
                    f"separated by {word}, and a CSV file is read by commas; save it "
                    "comma-separated (with a point as the decimal mark)"
                )
    seen: set[str] = set()
    header = [str(name) for name in names.iloc[0]] if len(names) else []
    for name in header:
        if name in seen and name.strip():
            raise FileError(f"{path}: column {name!r} appears more than once in the header")
        seen.add(name)
    return header


def _check_unnamed(path: Path, frame: pd.DataFrame, names: list[str] | None) -> None:
    """A column with no name in the header (``Unnamed: N``), other than the first, holds no
    values. A header ending in a delimiter (a spreadsheet's empty last column) gives a row an
    extra field to fill: an unquoted ``1,5`` or ``1,234`` moved the row's later fields one to
    the right, and the last one into the unnamed column, which no reader reads (a demand of
    1,5 read as 1, an on_hand of 1,234 as 1 and 234 days of lead time), without a word. The
    first column may hold values: it is the row numbers ``DataFrame.to_csv`` writes."""
    if not names or len(names) != frame.shape[1]:
        return
    for position, name in enumerate(names):
        if position == 0 or name.strip():
            continue
        values = frame.iloc[:, position]
        filled = values.notna().to_numpy() & (values.astype("string").str.strip() != "").to_numpy(
            dtype=bool, na_value=False
        )
        if filled.any():
            row = int(np.flatnonzero(filled)[0])
            raise FileError(
                f"{path}: column {position + 1} has no name in the header but holds values "
                f"({filled.sum()} rows, e.g. {str(values.iloc[row])!r} on line {row + 2}): an "
                "unquoted decimal comma or thousands separator (1,5 or 1,234) moves a row's "
                "fields one to the right; write numbers without commas (1.5, 1234), or name "
                "the column in the header"
            )


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> str:
    """What a CSV that is not UTF-8 is, and how to save it: the codec's own words ("'utf-8'
    codec can't decode byte 0xff in position 0") named neither Excel's "Unicode Text" (UTF-16)
    nor a Latin-1 / Windows-1252 export, nor what to do."""
    with open(path, "rb") as handle:
        start = handle.read(2)
    if start in (b"\xff\xfe", b"\xfe\xff"):
        what = "UTF-16 text, as Excel saves 'Unicode Text'"
    else:
        byte = exc.object[exc.start : exc.start + 1].hex()
        what = f"not UTF-8 text: byte 0x{byte} at {exc.start} (Latin-1 or Windows-1252?)"
    return f"{what}; save it as 'CSV UTF-8 (comma delimited)'"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    if not text:
        return type(exc).__name__
    # pyarrow names the file it was handed, a buffer: "Could not open Parquet input source
    # '<Buffer>': Parquet magic bytes not found..." (the path is already at the front).
    line = re.sub(r"Could not open Parquet input source '<[^>]*>': ", "", text[0])
    return line.replace(" '<Buffer>'", "")


def level_text(uniques: pd.Index) -> pd.Index:
    """Distinct key or level values as the text every table holds them by. A float column
    whose values are all whole numbers is an integer column that a missing cell made float
    (JSON rows with a null, a CSV's blank cell): its values are written as the integers they
    are, ``1.0`` as ``"1"``, the level the integer column gives (and a model learnt).

    The floats of a column of mixed objects (JSON rows with ``1.0`` beside ``"1"`` or ``1``)
    follow the same rule: pandas keeps whichever of ``1`` and ``1.0`` comes first as their one
    value, so their text (and whether ``1.0`` was the key ``"1"``) depended on the row order,
    and one series read as two."""
    if uniques.dtype == object:
        values = uniques.to_numpy()
        floats = np.fromiter(
            (isinstance(v, float | np.floating) for v in values), bool, len(values)
        )
        if floats.any() and _whole(values[floats].astype(np.float64)):
            text = np.asarray(uniques.astype(str), dtype=object)
            text[floats] = values[floats].astype(np.float64).astype(np.int64).astype(str)
            return pd.Index(text).astype(str)
    if uniques.dtype.kind != "f":
        return uniques.astype(str)
    values = uniques.to_numpy(dtype=np.float64)
    if not _whole(values):
        return uniques.astype(str)
    return pd.Index(values.astype(np.int64)).astype(str)


def _whole(values: np.ndarray) -> bool:
    """Whether every float is a whole number that int64 holds exactly."""
    return bool(
        np.isfinite(values).all()
        and (values == np.round(values)).all()
        and (np.abs(values) < 2**53).all()
    )


def key_text(values: pd.Series) -> np.ndarray:
    """Key values as the text forecast tables key series by (``forecast predict`` writes item 7
    as ``"7"``): ``7``, ``"7"`` and ``7.0`` are one key (:func:`level_text`), whatever the dtype
    each table was read with; a missing value stays missing (None)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = level_text(pd.Index(np.asarray(uniques)))
    return np.array([*text, None], dtype=object)[codes]


def check_writable(path: str | Path, *, folder: bool = False) -> Path:
    """Fail early, naming ``path``, if an output could not be written there.

    Checks that ``path`` is not an existing folder (or, with ``folder``, not an existing file),
    and that its nearest existing parent is a writable folder. Nothing is created.
    """
    path = Path(path)
    if not folder:
        if path.is_dir():
            raise FileError(f"{path}: is a folder, expected a file name")
    elif path.exists() and not path.is_dir():
        raise FileError(f"{path}: is a file, expected a folder")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise FileError(f"{path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FileError(f"{path}: cannot write in {parent} (permission denied)")
    return path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` when the block succeeds and
    is removed when it fails (Ctrl-C included). Missing parent folders are created."""
    path = Path(path)
    check_writable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    # mkstemp creates the file owner-only; the output gets the permissions of a normal file.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)``, then rename onto ``path``: readers never see a partial file."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as CSV or parquet (by suffix), atomically, without the index."""
    return atomic_write(path, lambda tmp: write_table_as(frame, tmp, like=path))


def write_table_as(frame: pd.DataFrame, path: str | Path, like: str | Path) -> Path:
    """Write a DataFrame to ``path`` in the format ``like``'s suffix names (CSV, gzipped CSV or
    parquet), without the index. Not atomic by itself: ``path`` is the temporary file of
    :func:`atomic_path` when a caller publishes several files together."""
    if table_kind(like) == "csv":
        # The temporary name hides the suffix pandas would infer the compression from.
        compression = "gzip" if str(like).lower().endswith(".gz") else None
        frame.to_csv(path, index=False, compression=compression)
    else:
        frame.to_parquet(path, index=False)
    return Path(path)


def save_weights(state: dict, path: str | Path) -> Path:
    """Write the state dict ``state`` to ``path`` atomically. torch writes through an open file:
    given a path, it names the archive's records after the file, here the random temporary
    name, and two runs of one seed wrote the same weights as different bytes (and checksums)."""
    import torch

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            torch.save(state, handle)

    return atomic_write(path, write)


def load_weights(net: Any, path: str | Path) -> None:
    """Load the state dict in ``path`` into the torch module ``net`` (``weights_only``: no
    code runs); torch is imported here, so this module stays importable without it.

    A file that is not a state dict of this network (truncated, random bytes, another model)
    is a :class:`FileError` naming it. The weights-only unpickler fails on garbage with many
    exception types (IndexError, KeyError, struct.error, UnicodeDecodeError...) and warnings,
    and its own message advises ``weights_only=False``, which must never be suggested for a
    file of unknown origin: only the type is reported.
    """
    import warnings

    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise TypeError(f"holds a {type(state).__name__}, not a state dict")
        net.load_state_dict(state)
    except Exception as exc:
        if isinstance(exc, FileNotFoundError):
            raise FileError(f"{path}: no such file") from None
        raise FileError(f"{path}: not weights of this model ({type(exc).__name__})") from None


def write_json(obj: Any, path: str | Path) -> Path:
    """Write JSON atomically; NaN and infinities become null, NumPy scalars plain numbers."""
    text = json.dumps(_finite(obj), indent=2, default=_json_default, allow_nan=False)
    return atomic_write(path, lambda p: p.write_text(text + "\n"))


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; a missing or malformed one is a :class:`FileError` naming it."""
    path = _existing_file(path)
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileError(f"{path}: not valid JSON ({_first_line(exc)})") from None


# YAML 1.1 (PyYAML) reads a number written with an exponent but no dot or exponent sign as text
# (``1e-3``, ``5e2``, ``1.0e3``); YAML 1.2 and every user read it as a number.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


def _yaml_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            # PyYAML keeps the last of a repeated key: a second ``train:`` section (or a
            # ``horizon:`` given twice) would drop the first without a word.
            seen = set()
            for key, _ in node.value if isinstance(node, yaml.MappingNode) else ():
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in seen:
                        raise yaml.constructor.ConstructorError(
                            None,
                            None,
                            f"key {key.value!r} given twice (line {key.start_mark.line + 1})",
                            key.start_mark,
                        )
                    seen.add((key.tag, key.value))
            return super().construct_mapping(node, deep=deep)

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))
    return Loader


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML mapping (``yaml.safe_load``, with ``1e-3`` read as a number); errors name
    the file."""
    import yaml

    path = _existing_file(path)
    try:
        values = yaml.load(path.read_text(), Loader=_yaml_loader())  # a SafeLoader subclass
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FileError(f"{path}: not valid YAML ({_first_line(exc)})") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise FileError(f"{path}: expected a mapping of keys to values at the top level")
    return values


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return _finite(value.tolist())
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
