"""Liveness and readiness probes."""

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from recsvc.store.errors import NoModel, StoreUnavailable

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 while the process runs.
    ---
    get:
      summary: Liveness
      tags: [operations]
      responses:
        200: {description: The process runs}
    """
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """200 when Redis answers and a whole model is published (its meta and the keys of its manifest), else 503.
    ---
    get:
      summary: Readiness
      tags: [operations]
      responses:
        200: {description: Ready to answer}
        503: Unavailable
    """
    store = current_app.extensions["recsvc"].store
    try:
        version = store.version()
        missing = store.missing(version)
    except StoreUnavailable:  # its message names the Redis host and port: logged, not shown
        return jsonify(status="unavailable", reason="the model store is unavailable"), 503
    except NoModel as e:
        return jsonify(status="unavailable", reason=str(e)), 503
    if missing:
        reason = f"the served version {version} is incomplete: {', '.join(missing[:3])} missing"
        return jsonify(status="unavailable", reason=reason, model_version=version), 503
    return jsonify(status="ready", model_version=version)
