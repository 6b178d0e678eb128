"""Prometheus metrics: requests and latency per endpoint, answers by source, events, the model's age.

With several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` names an empty folder set before the
workers start: every worker writes its counters there and ``/metrics`` adds them up. ``recsvc serve
--production`` sets one up itself; under gunicorn, set it by hand (and call
``prometheus_client.multiprocess.mark_process_dead`` from gunicorn's ``child_exit`` hook). Without
it, counts are per process.
"""

import functools
import os
import re
import time
from collections.abc import Iterator
from datetime import datetime

from flask import Blueprint, Flask, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from recsvc.store.model import ModelStore

CONVERTER = re.compile(r"<[^:<>]+:")
"""The converter part of a rule's variable (``<id:``), left out of the endpoint label."""
REQUESTS = Counter(
    "recsvc_http_requests", "HTTP requests by endpoint, method and status", ["endpoint", "method", "status"]
)
LATENCY = Histogram(
    "recsvc_http_request_duration_seconds",
    "Time to answer, by endpoint",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
ANSWERS = Counter(
    "recsvc_answers",
    "Lists served (impressions) by endpoint and source; source popular is a fall back",
    ["endpoint", "source"],
)
ATTRIBUTED = Counter(
    "recsvc_attributed_events",
    "Events carrying a rec_id, by the endpoint that served it and the event (a view is a click)",
    ["endpoint", "event"],
)
TRACKED = Counter(
    "recsvc_tracked",
    "Impressions and clicks the browser reported (POST /v1/track), by the endpoint that served the list",
    ["endpoint", "kind"],
)
EVENTS_RECEIVED = Counter("recsvc_events", "Events posted, by outcome (accepted or rejected)", ["outcome"])

bp = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    """Time every request and serve ``/metrics``."""
    app.before_request(_start)
    app.after_request(_finish)
    app.register_blueprint(bp)


def _start() -> None:
    g.recsvc_started = time.perf_counter()


def _finish(response: Response) -> Response:
    started = g.get("recsvc_started")
    if started is not None:
        if request.url_rule is not None:  # a matched rule allows a few methods: its series are looked up once
            latency, requests = _series(request.url_rule.rule, request.method)
        else:
            latency, requests = _series.__wrapped__(None, request.method)
        latency.observe(time.perf_counter() - started)
        requests(response.status_code).inc()
    return response


@functools.cache
def _series(rule: str | None, method: str):
    """The latency histogram and the request counter (by status) of a rule, looked up once per rule and method."""
    # the rule without its converters: /v1/items/<item_id>/similar, whatever converter reads the id
    endpoint = CONVERTER.sub("<", rule) if rule is not None else "unmatched"
    return LATENCY.labels(endpoint), functools.cache(lambda status: REQUESTS.labels(endpoint, method, str(status)))


@functools.cache
def answered(endpoint: str, source: str):
    """The counter of the lists one endpoint served from one source, looked up once (every answer counts)."""
    return ANSWERS.labels(endpoint, source)


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """The metrics in Prometheus' text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry
    served = CollectorRegistry()
    served.register(_ModelAge(current_app.extensions["recsvc"].store))
    return Response(generate_latest(registry) + generate_latest(served), mimetype=CONTENT_TYPE_LATEST)


class _ModelAge:
    """The served model's age, read when scraped (the same in every worker)."""

    def __init__(self, store: ModelStore):
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The one gauge, as prometheus_client asks a collector for it."""
        age = GaugeMetricFamily(
            "recsvc_model_age_seconds",
            "Seconds since the served model was trained (absent while no model is published or Redis is down)",
        )
        try:
            trained_at = self.store.meta(self.store.version()).get("trained_at")
        except Exception:  # noqa: BLE001 - a scrape must not fail because Redis or the model is missing
            trained_at = None
        if trained_at:
            age.add_metric([], time.time() - datetime.fromisoformat(trained_at).timestamp())
        yield age
