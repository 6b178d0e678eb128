"""The app with the floor routes of ``serve_profile.py`` (an empty answer under /v1, the same after the one Redis
round trip of every answer, and recommendations from records kept in the process), for ``floor_bench.py``'s
servers: ``floor_app:create``."""

import serve_profile

from recsvc import create_app


def create():
    """The app as ``recsvc serve`` builds it, plus the floor routes."""
    app = create_app()
    serve_profile.add_floor_routes(app)
    return app
