"""``GET /v1/analytics/retention``: the retention figures the served version was trained with."""

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from recsvc.http.auth import require_api_key
from recsvc.http.errors import ApiError
from recsvc.store.model import ModelStore

bp = Blueprint("analytics", __name__, url_prefix="/v1")


@bp.get("/analytics/retention")
@require_api_key
def retention_figures() -> ResponseReturnValue:
    """Repeat rate, cohorts, frequency, order value, churn and LTV of the served version.
    ---
    get:
      summary: Retention figures
      description: 'Computed at training from the same orders as the profiles (purchases more than 12 hours
        apart, valued at catalog prices where known): repeat-purchase rate within 30, 60 and 90 days (with a
        95% Wilson interval, over buyers whose first order is that old), orders per buyer, average order
        value, revenue per buyer, at-risk and lost shares, each overall, by segment and by acquisition month;
        monthly cohort retention and revenue per customer to date with a 12-month chain-ladder projection;
        segment sizes at the end of each month. Months are the shop''s (its time zone). Needs the X-API-Key
        header.'
      tags: [analytics]
      security: [{apiKey: []}]
      responses:
        200: {description: The figures, content: {application/json: {schema: RetentionFigures}}}
        401: {description: Missing or wrong API key}
        404: NotFound
        503: Unavailable
    """
    store: ModelStore = current_app.extensions["recsvc"].store
    version = store.version()
    figures = store.analytics(version)
    if figures is None:
        raise ApiError(404, f"version {version} was trained without retention figures: train again")
    return jsonify({"model_version": version, **figures.to_json()})
