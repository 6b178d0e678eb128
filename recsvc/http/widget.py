"""``GET /widget.js``: the site widget, one plain script file served as it is (``static/widget.js``).

The markup it renders and its CSS classes are described in docs/integration.md.
"""

from pathlib import Path

from flask import Blueprint, Response, send_file
from flask.typing import ResponseReturnValue

STATIC = Path(__file__).parent / "static"
WIDGET = STATIC / "widget.js"
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
    response: Response = send_file(WIDGET, mimetype="text/javascript", max_age=MAX_AGE_S, conditional=True)
    response.headers["Access-Control-Allow-Origin"] = "*"  # a page may load it with crossorigin for error reports
    return response
