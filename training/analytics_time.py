"""Unix times in the shop's time zone: hour of day, day of week and calendar month, vectorized.

The offset from UTC is looked up once per quarter-hour that occurs in the data (every time zone's
offset is a whole number of quarter-hours and changes only on one), so the cost is one pass over
the times plus a few thousand ``zoneinfo`` look-ups.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

QUARTER_HOUR_S = 900
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday
MAX_TABLE = 4_000_000  # quarter-hours a direct look-up table may span (over a century); beyond it, np.unique


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Berlin``, ``UTC``); ValueError with a one-line reason if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone {name!r} is not an IANA time zone name such as Europe/Berlin or UTC") from None


def local_seconds(ts: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """Unix seconds shifted by the zone's UTC offset at each moment (int64)."""
    ts = np.asarray(ts, dtype=np.int64)
    if not len(ts):
        return ts.copy()
    q = ts // QUARTER_HOUR_S
    low, span = int(q.min()), int(q.max() - q.min()) + 1
    if span <= MAX_TABLE:
        present = np.zeros(span, dtype=bool)
        present[q - low] = True
        occurring = np.flatnonzero(present)
        offsets = np.zeros(span, dtype=np.int64)
        offsets[occurring] = _offsets((occurring + low) * QUARTER_HOUR_S, tz)
        return ts + offsets[q - low]
    unique, inverse = np.unique(q, return_inverse=True)
    return ts + _offsets(unique * QUARTER_HOUR_S, tz)[inverse]


def _offsets(moments: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """The zone's UTC offset in seconds at each moment."""
    out = [datetime.fromtimestamp(int(t), tz).utcoffset() for t in moments.tolist()]
    return np.array([o.total_seconds() if o is not None else 0 for o in out], dtype=np.int64)


def hour_of_day(local: np.ndarray) -> np.ndarray:
    """0..23 from ``local_seconds``."""
    return (local // 3600 % 24).astype(np.int64)


def weekday(local: np.ndarray) -> np.ndarray:
    """0 (Monday) .. 6 (Sunday) from ``local_seconds``."""
    return ((local // 86_400 + EPOCH_WEEKDAY) % 7).astype(np.int64)


def month_index(local: np.ndarray) -> np.ndarray:
    """Months since 1970-01 from ``local_seconds`` (so 2017-11 is 575)."""
    return (local // 86_400).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_name(index: int) -> str:
    """``2017-11`` for ``month_index`` 575."""
    return str(np.datetime64(int(index), "M"))


def month_start(index: int, tz: ZoneInfo) -> int:
    """The unix time at which a local month begins."""
    year, month = divmod(int(index), 12)
    return int(datetime(1970 + year, month + 1, 1, tzinfo=tz).timestamp())


@dataclass
class ContactTimes:
    """Per user: the hour and weekday they usually shop at, and whether it is their own or the shop's peak."""

    hour: np.ndarray  # int8 per user
    weekday: np.ndarray  # int8 per user
    own: np.ndarray  # bool per user: from their own events (else the shop's peak)
    shop_hour: int
    shop_weekday: int


def contact_times(user: np.ndarray, ts: np.ndarray, n_users: int, tz: ZoneInfo, min_events: int) -> ContactTimes:
    """The most frequent local hour and weekday of each user's events (the earliest on a tie).

    Users with fewer than ``min_events`` events get the shop's peak hour and weekday over all events.
    """
    local = local_seconds(ts, tz)
    hours, days = hour_of_day(local), weekday(local)
    shop_hour = int(np.bincount(hours, minlength=24).argmax()) if len(hours) else 0
    shop_weekday = int(np.bincount(days, minlength=7).argmax()) if len(days) else 0
    own = np.bincount(user, minlength=n_users) >= min_events
    of_own = own[user]  # most visitors have a few events: only the others are counted
    hour = np.full(n_users, shop_hour, dtype=np.int8)
    day = np.full(n_users, shop_weekday, dtype=np.int8)
    own_users = np.flatnonzero(own)
    dense = np.searchsorted(own_users, user[of_own])  # 0 .. len(own_users) - 1
    hour[own_users] = _most_frequent(dense, hours[of_own], len(own_users), 24)
    day[own_users] = _most_frequent(dense, days[of_own], len(own_users), 7)
    return ContactTimes(hour, day, own, shop_hour, shop_weekday)


def _most_frequent(row: np.ndarray, value: np.ndarray, rows: int, n_values: int) -> np.ndarray:
    """Per row, its most frequent value (the smallest on a tie)."""
    counts = np.bincount(row * n_values + value, minlength=rows * n_values).reshape(rows, n_values)
    return counts.argmax(axis=1)
