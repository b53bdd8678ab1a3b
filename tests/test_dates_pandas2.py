"""Zoned dates under pandas 2.x, the newest pandas that Python 3.10 installs (2.3.3; pandas 3
needs 3.11, and ``requires-python`` is ``>=3.10``, ``pandas>=2.2``). Here pandas 2 is
simulated under pandas 3: ``pd.to_datetime`` returns dates whose UTC offset changes across
daylight saving as objects (pandas 3 raises ValueError), and an Arrow column's
``tz_localize(None)`` is its UTC time. The readers took the first for times of day (the whole
panel refused, "times of day found") and the second read New York midnights as 05:00."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from forecasting import PanelSpec
from forecasting.validate import validate_panel
from kernels.io import local_datetimes, wall_times


@pytest.fixture()
def pandas2(monkeypatch):
    to_datetime = pd.to_datetime

    def old_to_datetime(arg, *args, **kwargs):
        try:
            return to_datetime(arg, *args, **kwargs)
        except ValueError:  # mixed offsets: pandas 2 warns and returns the objects
            warnings.warn("mixed time zones will raise an error", FutureWarning, stacklevel=2)
            return pd.Series([pd.Timestamp(v) for v in arg], index=arg.index, dtype=object)

    def old_tz_localize(self, tz, *args, **kwargs):
        if tz is not None:
            return localize(self, tz, *args, **kwargs)
        unit = self._pa_array.type.unit
        return type(self)(self._pa_array.cast(pa.timestamp(unit)))  # the UTC wall time

    localize = pd.arrays.ArrowExtensionArray._dt_tz_localize
    monkeypatch.setattr(pd, "to_datetime", old_to_datetime)
    monkeypatch.setattr(pd.arrays.ArrowExtensionArray, "_dt_tz_localize", old_tz_localize)


def test_text_dates_across_daylight_saving_are_local_days(pandas2):
    text = pd.Series(["2024-03-09T00:00:00-05:00", "2024-03-10T00:00:00-05:00",
                      "2024-03-11T00:00:00-04:00"])  # fmt: skip
    got = local_datetimes(text)
    assert got.dtype.kind == "M"
    assert got.dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2024-03-09 00:00", "2024-03-10 00:00", "2024-03-11 00:00"
    ]  # fmt: skip


def test_zoned_arrow_dates_are_local_days(pandas2):
    days = pd.Series(pd.date_range("2024-03-04", periods=14, tz="America/New_York"))
    arrow = days.astype("timestamp[ns, tz=America/New_York][pyarrow]")
    assert arrow.dt.tz_localize(None).dt.hour.iloc[0] == 5  # the simulation holds
    assert wall_times(arrow).tolist() == days.dt.tz_localize(None).tolist()  # midnights
    plain = pd.DataFrame({"item_id": "A", "location_id": "FC1", "date": days.dt.tz_localize(None),
                          "demand": np.arange(14.0)})  # fmt: skip
    expected, _ = validate_panel(plain, PanelSpec())
    got, _ = validate_panel(plain.assign(date=arrow), PanelSpec())
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("zone", ["+0530", "-0330", "+05:30"])
def test_zoned_arrow_dates_at_a_fixed_offset_with_minutes_are_local_days(zone):
    """Arrow writes a fixed offset as +HH:MM or +HHMM; pandas read "datetime64[ns, +0530]" as
    UTC+05:00, and India's local midnights came back as 23:30 the day before."""
    utc = pd.date_range("2024-03-04", periods=5, tz="UTC")
    minutes = (-1 if zone[0] == "-" else 1) * (int(zone[1:3]) * 60 + int(zone[-2:]))
    instants = (utc - pd.Timedelta(minutes=minutes)).as_unit("ns").asi8  # local midnights
    arrow = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(instants, pa.timestamp("ns", zone))))
    assert wall_times(arrow).tolist() == utc.tz_localize(None).tolist()
