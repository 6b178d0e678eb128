"""Request ids and the access log.

Every answer carries ``X-Request-Id``: the caller's own (a shop's proxy or backend sets it to follow
a request through its logs) when it is 1-128 printable ASCII characters, else a new random one.
With ``RECSVC_ACCESS_LOG`` on, each request writes one record to the ``recsvc.access`` logger with
the request id, method, path, status and milliseconds, which ``RECSVC_LOG_FORMAT=json`` turns into
one JSON line; errors the service logs carry the same request id.
"""

import logging
import re
import secrets
import time

from flask import Flask, Response, current_app, g, has_request_context, request

HEADER = "X-Request-Id"
_VALID = re.compile(r"[\x21-\x7e]{1,128}")
log = logging.getLogger("recsvc.access")


def init_app(app: Flask) -> None:
    """Give each request an id, return it in the answer and, if configured, log the request."""
    app.before_request(_start)
    app.after_request(_finish)
    _tag_records_with_the_request_id()


def _start() -> None:
    sent = request.headers.get(HEADER, "")
    g.request_id = sent if _VALID.fullmatch(sent) else secrets.token_hex(8)
    g.access_started = time.perf_counter()


def _finish(response: Response) -> Response:
    response.headers[HEADER] = g.get("request_id", "")
    if current_app.config["ACCESS_LOG"]:
        started = g.get("access_started", time.perf_counter())
        log.info(
            "%s %s %d",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "ms": round(1000 * (time.perf_counter() - started), 2),
                "remote": request.remote_addr,
            },
        )
    return response


def _tag_records_with_the_request_id() -> None:
    """Every record logged while a request is handled, by any logger, carries its ``request_id``."""
    make = logging.getLogRecordFactory()
    if getattr(make, "tags_request_ids", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return record

    factory.tags_request_ids = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
