"""JSON errors: every failure is ``{"error": {"code", "message"}}``, never an HTML page or a trace."""

import logging

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from recsvc.budget import OverBudget
from recsvc.contract.versions import PublishFailed
from recsvc.read.listing import UnknownCategory
from recsvc.store.errors import NoModel, RedisStalled, StoreFull, StoreUnavailable

log = logging.getLogger(__name__)

RETRY_AFTER_S = 1
"""Seconds a client is told to wait (``Retry-After``) after a 503 for an unreachable Redis or an overload."""

CODES = {
    400: "invalid_argument",
    401: "unauthenticated",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    409: "conflict",
    415: "unsupported_media_type",
    503: "unavailable",
}


STORE_FULL = "Redis is full (its maxmemory is reached): this write is refused, reads still answer; retry later"
"""The message of a write refused by a full Redis (``store_full``, 503)."""


class ApiError(Exception):
    """An error the client should see, with its HTTP status."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code or CODES.get(status, "error")


def invalid(message: str) -> ApiError:
    """A 400 for a bad argument."""
    return ApiError(400, message)


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    """The JSON error body and its status."""
    return jsonify(error={"code": code, "message": message}), status


def register(app: Flask) -> None:
    """Answer every error with JSON."""

    @app.errorhandler(ApiError)
    def api_error(e: ApiError) -> ResponseReturnValue:
        return error_response(e.status, e.code, e.message)

    @app.errorhandler(UnknownCategory)
    def unknown_category(e: UnknownCategory) -> ResponseReturnValue:
        return error_response(404, "not_found", str(e))

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(e: StoreUnavailable) -> ResponseReturnValue:
        if not isinstance(e, RedisStalled):  # the breaker logged its opening: not once per request
            log.warning("Redis unavailable: %s", e)
        response, status = error_response(503, "unavailable", "the model store is unavailable; retry shortly")
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response, status

    @app.errorhandler(OverBudget)
    def over_budget(e: OverBudget) -> ResponseReturnValue:
        log.warning("%s %s stopped: %s", request.method, request.path, e)
        return error_response(503, "deadline_exceeded", str(e))

    @app.errorhandler(StoreFull)
    def store_full(e: Exception) -> ResponseReturnValue:
        log.error("Redis refuses writes: %s", e)
        return error_response(503, "store_full", STORE_FULL)

    @app.errorhandler(PublishFailed)
    def pointer_busy(e: PublishFailed) -> ResponseReturnValue:
        return error_response(409, "conflict", str(e))

    @app.errorhandler(NoModel)
    def no_model(e: NoModel) -> ResponseReturnValue:
        return error_response(503, "unavailable", str(e))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> ResponseReturnValue:
        status = e.code or 500
        response, status = error_response(status, CODES.get(status, "error"), e.description or e.name)
        for name, value in e.get_headers():  # Allow of a 405, Location of a redirect
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(Exception)
    def unexpected(e: Exception) -> ResponseReturnValue:
        log.exception("unexpected error")
        return error_response(500, "internal", "internal error")
