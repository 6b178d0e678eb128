"""The one rule of event times, for the trainer's readers and ``POST /v1/events`` alike.

An event's time is unix seconds, unix milliseconds or ISO-8601 (UTC unless it says otherwise). A number above
``MILLISECONDS_FROM`` is milliseconds. A time is accepted from ``EARLIEST_TIME`` up to ``FUTURE_TOLERANCE_S``
after the clock of whoever checks it; anything else is a bad row for the trainer, so the service refuses it too.
"""

import math
from datetime import datetime, timezone

EARLIEST_TIME = 631_152_000
"""Unix seconds of 1990-01-01 UTC: an event before it is refused (a zero, a day count, a typo)."""
FUTURE_TOLERANCE_S = 86_400
"""Seconds after the checker's clock an event may carry (clock skew, time zones); later ones are refused."""
MILLISECONDS_FROM = 1e11
"""Numeric timestamps above this are milliseconds: seconds would be after the year 5138 (milliseconds from 1973 on
are above it)."""


def number_seconds(value: float) -> float:
    """Unix seconds (floored) of a numeric timestamp in seconds or milliseconds."""
    return math.floor(value / 1000 if value > MILLISECONDS_FROM else value)


def iso_seconds(text: str) -> float:
    """Unix seconds of an ISO-8601 time (UTC unless it says otherwise), NaN if unreadable."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return math.nan
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return float(int(moment.timestamp()))
    except (OverflowError, ValueError):  # year 1 with a time zone, etc.
        return math.nan


def latest_time(now: float) -> float:
    """The latest time accepted by a checker whose clock reads ``now``."""
    return now + FUTURE_TOLERANCE_S


def in_window(seconds: float, now: float) -> bool:
    """Whether unix ``seconds`` is an acceptable event time for a checker whose clock reads ``now``."""
    return EARLIEST_TIME <= seconds <= latest_time(now)


def window_rule(now: float) -> str:
    """Why a readable time is refused, in words."""
    first = datetime.fromtimestamp(EARLIEST_TIME, timezone.utc).date().isoformat()
    last = datetime.fromtimestamp(latest_time(now), timezone.utc).isoformat(timespec="seconds")
    return f"is outside {first} .. {last} (before 1990 or more than a day after the time of reading)"
