"""A circuit breaker in front of Redis, one per wire (``recsvc.store.wire``) and so one per process.

Closed, every call goes to Redis. The first timeout or connection error opens it: from then on every
call fails at once (the store's ``RedisStalled``, a 503 with ``Retry-After``) instead of waiting out its own
timeout, so a stalled Redis costs a worker one timeout, not one per request queued behind it. While
it is open, one background thread probes Redis every ``probe_s`` seconds; the first probe answered
closes it. No request ever waits on a probe.
"""

import logging
import threading
import time
import weakref
from collections.abc import Callable

log = logging.getLogger(__name__)

PROBE_S = 0.25
"""Seconds between two probes of Redis while the breaker is open (``RECSVC_BREAKER_PROBE_S``)."""


class Breaker:
    """Opens on a failed call to Redis, fails calls fast while open, closes on the first answered probe."""

    def __init__(self, probe: Callable[[], object], probe_s: float = PROBE_S):
        self._probe, self.probe_s = probe, probe_s
        self._lock = threading.Lock()
        self.is_open = False  # read without the lock on every call: a bool is read whole
        self.opened_at = 0.0
        self.openings = 0

    def failed(self, error: BaseException) -> None:
        """A call to Redis timed out or could not connect: open, and start probing."""
        with self._lock:
            if self.is_open:
                return
            self.is_open, self.opened_at = True, time.monotonic()
            self.openings += 1
        log.warning("Redis failed (%s): answering 503 until a probe every %.2f s succeeds", error, self.probe_s)
        threading.Thread(target=_probe_until_answered, args=(weakref.ref(self),), daemon=True).start()

    def _try_probe(self) -> bool:
        """Ping Redis once; close on an answer. Whether the breaker is closed now."""
        try:
            self._probe()
        except Exception as e:  # noqa: BLE001 - any failure of the ping keeps the breaker open
            log.debug("Redis probe failed: %s", e)
            return False
        with self._lock:
            self.is_open = False
        log.warning("Redis answers again after %.1f s: the breaker is closed", time.monotonic() - self.opened_at)
        return True


def _probe_until_answered(ref: "weakref.ref[Breaker]") -> None:
    """The probing thread: ends when a probe is answered, or when the breaker's store is gone."""
    while True:
        breaker = ref()
        if breaker is None:
            return
        probe_s = breaker.probe_s
        del breaker
        time.sleep(probe_s)
        breaker = ref()
        if breaker is None or breaker._try_probe():
            return
        del breaker
