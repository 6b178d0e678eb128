"""Bounded work per process: at most ``RECSVC_MAX_IN_FLIGHT`` requests are worked on at once, and each within
its time budget (``RECSVC_REQUEST_BUDGET_S``).

A request beyond the bound gets a 503 with ``Retry-After`` at once instead of queueing behind the others,
so an overload is shed and the server's threads stay free to answer. The probes (``/healthz``,
``/readyz``) and ``/metrics`` are never refused. ``recsvc serve --production`` runs one thread more
per worker than it admits requests, so a probe always finds a thread.
"""

import threading

from flask import Flask, Response, g, request
from flask.typing import ResponseReturnValue

from recsvc import budget
from recsvc.http.errors import RETRY_AFTER_S, error_response

EXEMPT = frozenset({"health.healthz", "health.readyz", "metrics.metrics"})
"""Endpoints answered whatever the load: the probes and the metrics."""


def init_app(app: Flask) -> None:
    """Bound the requests in flight (0: no bound) and give each its time budget (0: none)."""
    limit = int(app.config["MAX_IN_FLIGHT"] or 0)
    seconds = float(app.config["REQUEST_BUDGET_S"] or 0)
    slots = threading.BoundedSemaphore(limit) if limit > 0 else None

    def admit() -> ResponseReturnValue | None:
        if request.endpoint in EXEMPT:
            return None
        if slots is not None:
            if not slots.acquire(blocking=False):
                return _overloaded()
            g.recsvc_slot = slots
        budget.start(seconds)
        return None

    def release(_error: BaseException | None) -> None:
        budget.clear()
        slot = g.pop("recsvc_slot", None)
        if slot is not None:
            slot.release()

    app.before_request(admit)
    app.teardown_request(release)


def _overloaded() -> Response:
    response, _ = error_response(503, "unavailable", "the service is busy; retry shortly")
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response
