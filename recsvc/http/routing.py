"""The URL converter of ids in paths: an id may contain ``/`` (``Кофе/Зерновой``), sent as ``%2F``."""

from urllib.parse import unquote_to_bytes

from flask import Flask, request
from werkzeug.routing import BaseConverter

from recsvc.http.errors import invalid


class IdConverter(BaseConverter):
    """A path segment that may span slashes, up to the route's next fixed part; ids are checked by the view."""

    regex = r"[\s\S]+?"  # any character, newlines too: a bad id is the view's 400, never a 404
    part_isolating = False


def register(app: Flask) -> None:
    """Make ``<id:name>`` available to the routes; keep ``//`` in a path as it came (an id may contain it)."""
    app.url_map.converters["id"] = IdConverter
    app.url_map.merge_slashes = False
    app.before_request(_refuse_undecodable_path)


def _refuse_undecodable_path() -> None:
    """A 400 for a path that is not UTF-8 (``/v1/items/%ff%fe/similar``): Werkzeug would answer for U+FFFD."""
    if "\ufffd" not in request.path:  # what an undecodable byte becomes
        return
    environ = request.environ
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")  # the path as sent, where the server gives it
    sent = unquote_to_bytes(raw.partition("?")[0]) if raw else environ.get("PATH_INFO", "").encode("latin-1")
    try:
        sent.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("the path is not valid UTF-8") from None
