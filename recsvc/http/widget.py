"""``GET /widget.js``: the site widget, one plain script file served as it is (``static/widget.js``).

The markup it renders and its CSS classes are described in docs/integration.md.
"""

from pathlib import Path

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue

STATIC = Path(__file__).parent / "static"
WIDGET = STATIC / "widget.js"
EXTENSION = "recsvc.http.widget"
MAX_AGE_S = 300
"""Seconds browsers and CDNs may keep the script before asking again (with its ETag)."""

bp = Blueprint("widget", __name__)


@bp.get("/widget.js")
def widget() -> ResponseReturnValue:
    """The site widget.
    ---
    get:
      summary: The site widget (JavaScript)
      description: 'One tag sets it up: <script src="https://recs.example/widget.js" data-api="https://recs.example"
        async></script>. Every <div data-recsvc="KIND"> of the page becomes a list; see docs/integration.md.'
      tags: [widget]
      responses:
        200: {description: The script, content: {text/javascript: {schema: {type: string}}}}
    """
    if EXTENSION not in current_app.extensions:  # read once per process
        current_app.extensions[EXTENSION] = WIDGET.read_bytes()
    response = Response(current_app.extensions[EXTENSION], mimetype="text/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE_S
    response.add_etag()
    response.headers["Access-Control-Allow-Origin"] = "*"  # a page may load it with crossorigin for error reports
    return response.make_conditional(request)
