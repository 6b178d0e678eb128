"""The URL converter of ids in paths: an id may contain ``/`` (``Кофе/Зерновой``), sent as ``%2F``."""

from flask import Flask
from werkzeug.routing import BaseConverter


class IdConverter(BaseConverter):
    """A path segment that may span slashes, up to the route's next fixed part; ids are checked by the view."""

    regex = r"[\s\S]+?"  # any character, newlines too: a bad id is the view's 400, never a 404
    part_isolating = False


def register(app: Flask) -> None:
    """Make ``<id:name>`` available to the routes; keep ``//`` in a path as it came (an id may contain it)."""
    app.url_map.converters["id"] = IdConverter
    app.url_map.merge_slashes = False
