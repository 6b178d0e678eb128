"""Bounded work per process: at most ``RECSVC_MAX_IN_FLIGHT`` requests are worked on at once, of them at most
``RECSVC_MAX_HEAVY_IN_FLIGHT`` batches or trigger pages, and each within its time budget
(``RECSVC_REQUEST_BUDGET_S``).

A request beyond the bound waits at most ``RECSVC_ADMISSION_WAIT_S`` (50 ms: a burst passes) for a
slot, then gets a 503 with ``Retry-After`` instead of queueing behind the others, so an overload is
shed and the server's threads stay free to answer. The probes (``/healthz``, ``/readyz``) and
``/metrics`` are never refused. Heavy requests (hundreds of users each) have a bound of their own:
under the GIL, each batch running at once in a process slows the others and every request beside
them. ``recsvc serve --production`` runs as many threads again per worker as it admits requests, so
a probe finds a thread within that wait at most.
"""

import threading

from flask import Flask, Response, g, request
from flask.typing import ResponseReturnValue

from recsvc import budget
from recsvc.http.errors import RETRY_AFTER_S, error_response

EXEMPT = frozenset({"health.healthz", "health.readyz", "metrics.metrics"})
"""Endpoints answered whatever the load: the probes and the metrics."""
HEAVY = frozenset({"v1.batch", "retention.trigger_list"})
"""Endpoints that answer for up to 1,000 users a call."""


def init_app(app: Flask) -> None:
    """Bound the requests in flight and the heavy ones among them (0: no bound); give each its time budget
    (0: none)."""
    slots, heavy = _slots(app.config["MAX_IN_FLIGHT"]), _slots(app.config["MAX_HEAVY_IN_FLIGHT"])
    seconds = float(app.config["REQUEST_BUDGET_S"] or 0)
    wait_s = float(app.config["ADMISSION_WAIT_S"] or 0)

    def admit() -> ResponseReturnValue | None:
        if request.endpoint in EXEMPT:
            return None
        taken = g.recsvc_slots = []
        for bound in (heavy if request.endpoint in HEAVY else None, slots):
            if bound is not None:
                if not bound.acquire(timeout=wait_s):  # a moment's wait: a burst is answered, not refused
                    return _overloaded()
                taken.append(bound)
        budget.start(seconds)
        return None

    def release(_error: BaseException | None) -> None:
        budget.clear()
        for bound in reversed(g.pop("recsvc_slots", ())):
            bound.release()

    app.before_request(admit)
    app.teardown_request(release)


def _slots(setting: object) -> threading.BoundedSemaphore | None:
    """The slots of a bound, None for no bound (0)."""
    limit = int(setting or 0)  # type: ignore[call-overload]
    return threading.BoundedSemaphore(limit) if limit > 0 else None


def _overloaded() -> Response:
    response, _ = error_response(503, "unavailable", "the service is busy; retry shortly")
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response
