"""``GET /widget.js``: the script as served, small and cacheable."""

import gzip

from recsvc.http.widget import WIDGET

GZIP_BUDGET = 5_120
"""Bytes the widget may take gzip-compressed (docs/integration.md gives its size)."""


def test_the_widget_is_served_as_javascript_and_may_be_cached(client):
    answer = client.get("/widget.js")
    assert answer.status_code == 200
    assert answer.mimetype == "text/javascript"
    assert answer.get_data() == WIDGET.read_bytes()
    assert "max-age=300" in answer.headers["Cache-Control"]
    again = client.get("/widget.js", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


def test_the_widget_is_small():
    assert len(gzip.compress(WIDGET.read_bytes(), compresslevel=9)) < GZIP_BUDGET


def test_the_widget_needs_no_build_and_no_dependency():
    source = WIDGET.read_text()
    assert "import " not in source and "require(" not in source
    assert "innerHTML" not in source  # items are built with textContent: a catalog title cannot inject markup
