"""recsvc: recommendations for online shops, served from Redis."""

import logging
import os

from flask import Flask

from recsvc.read.answers import VIEWED_SHARE, Answers
from recsvc.read.exploration import SHARE as EXPLORATION_SHARE
from recsvc.read.exploration import exploration_share
from recsvc.store.model import ModelStore

__version__ = "0.1.0"

PLAIN_STRINGS = ("API_KEYS", "TOKEN_SECRET", "CORS_ORIGINS", "LOG_FORMAT", "TRACKING_SECRET")
"""Settings read from the environment exactly as written, never parsed as JSON."""


def create_app(config: dict | None = None, store: ModelStore | None = None) -> Flask:
    """The service: config from ``RECSVC_*`` and ``REDIS_URL`` environment variables, then ``config``."""
    from recsvc import collector, logs
    from recsvc.budget import REQUEST_BUDGET_S
    from recsvc.http import (
        access,
        admission,
        api,
        attribution,
        caching,
        catalog,
        errors,
        events,
        health,
        metrics,
        openapi,
        routing,
        sessions,
        steering,
    )
    from recsvc.http import dashboard as operator_dashboard
    from recsvc.http import retention as retention_api
    from recsvc.http import tracking as browser_tracking
    from recsvc.http import widget as site_widget
    from recsvc.http.jsonbody import JSONProvider
    from recsvc.read import steering as steering_state
    from recsvc.store.breaker import PROBE_S
    from recsvc.store.connect import SERVICE_TIMEOUT_S, connect
    from recsvc.store.versions import VersionRecords
    from recsvc.store.wire import Wire

    app = Flask(__name__)
    app.json = JSONProvider(app)
    app.config.from_mapping(
        REDIS_URL=None,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        API_KEYS="",
        CORS_ORIGINS="*",
        EVENTS_MAXLEN=None,
        METRICS=True,
        VIEWED_SHARE=VIEWED_SHARE,  # the share of picks that may re-offer viewed items
        EXPLORATION_SHARE=EXPLORATION_SHARE,  # the share of picks and popular lists for new items (0: none)
        REDIS_TIMEOUT_S=SERVICE_TIMEOUT_S,
        BREAKER_PROBE_S=PROBE_S,  # seconds between probes of a Redis that timed out (recsvc.store.breaker)
        MAX_IN_FLIGHT=0,  # requests a process works on at once, the excess gets a 503 (0: no bound; admission)
        ADMISSION_WAIT_S=0.05,  # seconds a request beyond MAX_IN_FLIGHT may wait for a slot before its 503
        MAX_HEAVY_IN_FLIGHT=0,  # of them, batches and trigger pages (0: no bound of their own)
        REQUEST_BUDGET_S=REQUEST_BUDGET_S,  # seconds a request may run (0: no budget)
        TOKEN_SECRET="",
        REQUIRE_USER_TOKEN=False,
        CACHE_MAX_AGE=60,  # seconds browsers and CDNs may keep the lists that are the same for everyone
        ACCESS_LOG=False,  # one record per request on the recsvc.access logger
        LOG_FORMAT="",  # json or text: configure the root logger (empty: leave logging to the server)
        GC_YOUNG_THRESHOLD=collector.YOUNG_THRESHOLD,  # 0: Python's own garbage collector settings
        PROXY_HOPS=0,  # reverse proxies in front whose X-Forwarded-For and X-Forwarded-Proto are trusted
    )
    app.config.from_prefixed_env("RECSVC")
    for name in PLAIN_STRINGS:  # from_prefixed_env parses values as JSON: RECSVC_API_KEYS=1e3 would be 1000.0
        if f"RECSVC_{name}" in os.environ:
            app.config[name] = os.environ[f"RECSVC_{name}"]
    app.config.from_mapping(config or {})
    app.json.sort_keys = False
    if app.config["LOG_FORMAT"]:
        logs.configure(app.config["LOG_FORMAT"])
    if store is None:
        client = connect(app.config["REDIS_URL"], timeout_s=float(app.config["REDIS_TIMEOUT_S"]))
        wire = Wire(client, probe_s=float(app.config["BREAKER_PROBE_S"]))
        VersionRecords(wire).upgrade_layout()
        store = ModelStore(wire, steering_state.decode)
    app.extensions["recsvc"] = Answers(
        store,
        viewed_share=float(app.config["VIEWED_SHARE"]),
        exploration_share=exploration_share(app.config["EXPLORATION_SHARE"]),
    )
    access.init_app(app)
    attribution.init_app(app)
    caching.init_app(app)
    errors.register(app)
    routing.register(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(sessions.bp)
    app.register_blueprint(events.bp)
    app.register_blueprint(steering.bp)
    app.register_blueprint(catalog.bp)
    retention_api.register(app)
    browser_tracking.register(app)
    app.register_blueprint(site_widget.bp)
    operator_dashboard.register(app)
    if app.config["METRICS"]:
        metrics.init_app(app)
    admission.init_app(app)  # after the timing starts, so a refused request is counted too
    _allow_cross_origin_reads(app)
    app.register_blueprint(openapi.bp)
    collector.tune(int(app.config["GC_YOUNG_THRESHOLD"]))
    _trust_proxies(app, int(app.config["PROXY_HOPS"]))
    logging.getLogger(__name__).debug("recsvc app created")
    return app


def _trust_proxies(app: Flask, hops: int) -> None:
    """Read the client's address and scheme from the last ``hops`` proxies' X-Forwarded-For and X-Forwarded-Proto
    (``RECSVC_PROXY_HOPS``), so rate limits count each browser and cookies are Secure behind a TLS proxy. With 0,
    those headers are ignored: a client could write them."""
    if hops < 0:
        raise ValueError(f"RECSVC_PROXY_HOPS must be 0 or more, got {hops}")
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _allow_cross_origin_reads(app: Flask) -> None:
    """Let the shop's pages call the reading endpoints from the browser (``RECSVC_CORS_ORIGINS``,
    comma-separated; empty turns it off). Writes are for the shop's servers, so they get no CORS headers."""
    origins = app.config["CORS_ORIGINS"]
    if isinstance(origins, str):
        origins = [o.strip() for o in origins.split(",") if o.strip()]
    if not origins:
        return
    from flask_cors import CORS

    # events are written and trigger lists read by the shop's servers with a key: no browser access
    # the Authorization header carries a user token (profile, buy-again) from the shop's pages
    CORS(
        app,
        resources={r"/v1/(?!events|triggers).*": {"origins": origins, "methods": ["GET", "POST"]}},
        allow_headers=["Authorization", "Content-Type"],
    )
