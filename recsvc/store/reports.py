"""The browser's impressions and clicks in Redis: bounds on how often one may report, and counts per list.

Two round trips a report at most: one to count it against its address's rate window and its rec_id,
one to add it to the hourly counts the dashboard reads.
"""

import time

from recsvc.contract import keys
from recsvc.contract.units import DAY, HOUR
from recsvc.store.wire import Wire, guarded

KINDS = ("impression", "click")
RATE_WINDOW_S = 60
"""Seconds of one rate window."""
DEFAULT_RATE = 120
"""Reports one client address may make per rate window (``RECSVC_TRACK_RATE``)."""
MAX_REPORTS = {"impression": 1, "click": 10}
"""Reports of each kind counted per rec_id and viewer: a list is seen once, and a few of its items clicked."""
COUNTS_TTL_S = 2 * DAY
"""Seconds the hourly counts are kept: the dashboard shows the last 24 hours."""


class BrowserReports:
    """Admits and counts the reports of one service's pages."""

    def __init__(self, wire: Wire):
        self._wire = wire

    @guarded
    def refusal(
        self, client: str, rec_id: str, viewer: str, kind: str, rate: int, ttl_s: int, now: float | None = None
    ) -> str:
        """Count the report against its limits: "" when it may be counted, else why not ("rate" or "repeated").

        ``viewer`` (a user or visitor id, or empty) has its own allowance on the rec_id: a list cached by a
        CDN reaches many visitors with one rec_id."""
        moment = time.time() if now is None else now
        window = int(moment) // RATE_WINDOW_S * RATE_WINDOW_S
        pipe = self._wire.pipeline()
        pipe.incr(keys.tracking_rate(window, client))
        pipe.expire(keys.tracking_rate(window, client), 2 * RATE_WINDOW_S)
        pipe.incr(keys.tracking_reports(rec_id, viewer, kind))
        pipe.expire(keys.tracking_reports(rec_id, viewer, kind), ttl_s)
        from_client, _, on_rec_id, _ = pipe.execute()
        if from_client > rate:  # a report refused for the rate leaves its rec_id's allowance as it was
            self._wire.client.decr(keys.tracking_reports(rec_id, viewer, kind))
            return "rate"
        if on_rec_id > MAX_REPORTS[kind]:
            return "repeated"
        return ""

    @guarded
    def count(self, endpoint: str, kind: str, now: float | None = None) -> None:
        """Add one report to the counts of its hour."""
        hour = int(time.time() if now is None else now) // HOUR
        pipe = self._wire.pipeline()
        pipe.hincrby(keys.tracking_counts(hour), f"{endpoint}:{kind}", 1)
        pipe.expire(keys.tracking_counts(hour), COUNTS_TTL_S)
        pipe.execute()

    @guarded
    def counts(self, hours: int = 24, now: float | None = None) -> dict[str, dict[str, int]]:
        """{endpoint: {"impression": n, "click": n}} over the last ``hours`` hours, this one included."""
        hour = int(time.time() if now is None else now) // HOUR
        pipe = self._wire.pipeline()
        for h in range(hour - hours + 1, hour + 1):
            pipe.hgetall(keys.tracking_counts(h))
        hourly = pipe.execute()
        totals: dict[str, dict[str, int]] = {}
        for counts in hourly:
            for field, value in counts.items():
                endpoint, _, kind = field.decode().rpartition(":")
                if kind in KINDS:
                    totals.setdefault(endpoint, dict.fromkeys(KINDS, 0))[kind] += int(value)
        return totals
