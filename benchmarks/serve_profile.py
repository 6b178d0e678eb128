"""Where a request's CPU goes, inside one process: the app called as a WSGI server calls it, no network.

    python benchmarks/serve_profile.py [--root CHECKOUT] [--requests 400] [--rounds 6] [--users N] [--n-events N]
                                       [--live-views N]

Trains the synthetic shop of ``serve_bench.py`` into a private redis-server, then calls the app
directly for /healthz, user recommendations, also-bought, category offers and a 1,000-user batch:
CPU microseconds per request (median of rounds in mirrored order) and the share of /healthz, beside the
floor of any answer: routes added here under /v1 that return ``{}``, one with nothing else (the
/v1 hooks) and one after the one Redis round trip every answer makes (the served version, as
``store.version()`` reads it), and recommendations answered from records kept in the process (no
round trip). Then
cProfile over the recommendations requests, its time summed by where it is spent (Flask and
werkzeug, the Redis client, the read model, JSON, metrics, CORS). ``--root`` serves the code of
another checkout (an older commit, for a before and after) with this script; ``--live-views N`` gives every
sampled user N views since training first (``serve_bench.post_live_views``).
"""

import argparse
import contextlib
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import redis

AREAS = (
    ("Redis client and socket", ("/redis/", "socket", "hiredis")),
    ("JSON (encode, parse)", ("orjson", "/json/", "jsonbody")),
    ("metrics, rec_id, CORS", ("prometheus_client", "recsvc/http/metrics", "recsvc/http/attribution", "flask_cors")),
    ("read model (recsvc.read, recsvc.store, records)", ("recsvc/read", "recsvc/store", "recsvc/contract")),
    ("request parsing and checks (recsvc.http)", ("recsvc/http",)),
    ("Flask and werkzeug", ("flask", "werkzeug")),
)


def environ(path: str, method: str = "GET", body: bytes = b"", key: str = "") -> dict:
    """The WSGI environ a server builds for a request."""
    route, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": urllib.parse.unquote(route),
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_X_API_KEY": key,
    }


def call(app, env: dict) -> None:
    statuses = []
    b"".join(app(env, lambda status, headers, exc_info=None: statuses.append(status)))
    if not statuses[0].startswith("200"):
        raise RuntimeError(f"{env['PATH_INFO']}: {statuses[0]}")


EMPTY = "an empty answer under /v1"
FLOOR = "one round trip (the floor)"
KEPT = "recommendations from records kept in the process (no round trip)"


def add_floor_routes(app) -> None:
    """``GET /v1/profile-empty/<id>``: the app's hooks for /v1 and an empty body; ``GET /v1/profile-floor/<id>``:
    the same after the one round trip of an answer; ``GET /v1/profile-kept/<id>``: the user's recommendations as
    the real view answers them, from the user's record and live events read once and kept in the process (what
    an answer would cost with no round trip at all)."""
    from flask import jsonify, request

    from recsvc.http.api import checked_id, filters_from
    from recsvc.http.attribution import tag
    from recsvc.http.auth import authorize_user_read

    answers = app.extensions["recsvc"]
    store = answers.store
    kept: dict = {}

    @app.get("/v1/profile-empty/<id:user_id>")
    def empty(user_id: str):
        return jsonify({})

    @app.get("/v1/profile-floor/<id:user_id>")
    def floor(user_id: str):
        store.version()
        return jsonify({})

    @app.get("/v1/profile-kept/<id:user_id>")
    def kept_answer(user_id: str):
        user_id = checked_id(user_id, "user_id")
        authorize_user_read(user_id)
        if user_id not in kept:
            kept[user_id] = store.user_live(user_id)
        version, record, live, arm = kept[user_id]
        filters = filters_from(request.args)
        answer = answers.for_user_record(version, record, filters, live=live, list_name="recommendations", arm=arm)
        return jsonify(tag({"user_id": user_id, "model_version": version, **answer}, "user_recommendations"))


def area(filename: str) -> str:
    for name, marks in AREAS:
        if any(mark in filename for mark in marks):
            return name
    return "other (Python built-ins, the standard library)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="serve the recsvc of this checkout")
    parser.add_argument("--requests", type=int, default=400, help="requests of each endpoint per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--users", type=int, default=50_000, help="synthetic shop users")
    parser.add_argument("--items", type=int, default=20_000, help="synthetic shop items")
    parser.add_argument("--n-events", type=int, default=400_000, help="synthetic shop events")
    parser.add_argument("--live-views", type=int, default=0, help="views since training for every sampled user")
    args = parser.parse_args()
    if args.root:
        sys.path.insert(0, str(args.root.resolve()))
        for name in [m for m in sys.modules if m == "recsvc" or m.startswith("recsvc.")]:
            del sys.modules[name]
    import serve_bench

    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="serve_profile_")))
        url = stack.enter_context(common.RedisServer()).url
        paths = serve_bench.write_synthetic_shop(folder, serve_bench.ShopSize(args.users, args.items, args.n_events))
        serve_bench.train_model(redis.Redis.from_url(url), paths["events"], paths["catalog"], None, "synthetic")
        events = paths["events"]
        sample = serve_bench.sample_ids(events, None, 2_000, 2_000)
        if args.live_views:
            serve_bench.post_live_views(redis.Redis.from_url(url), sample, args.live_views)
        from recsvc import __file__ as served
        from recsvc import create_app

        app = create_app({"REDIS_URL": url, "API_KEYS": "profile-key"})
        add_floor_routes(app)
        paths_of = {
            "/healthz": ["/healthz"],
            EMPTY: [f"/v1/profile-empty/{u}?limit=10" for u in sample.users],
            FLOOR: [f"/v1/profile-floor/{u}?limit=10" for u in sample.users],
            KEPT: [f"/v1/profile-kept/{u}?limit=10" for u in sample.users],
            "recommendations": [serve_bench.recs_path(u) for u in sample.users],
            "also-bought": [serve_bench.also_path(i) for i in sample.items],
            "category-offers": [serve_bench.offers_path(u) for u in sample.users],
        }
        for paths in paths_of.values():
            for path in paths:
                call(app, environ(path))  # warm: the process caches the version's items
        cpu: dict[str, list[float]] = {name: [] for name in paths_of}
        for n in range(args.rounds):
            for name, paths in paths_of.items() if n % 2 == 0 else reversed(list(paths_of.items())):
                chosen = (paths * args.requests)[: args.requests]
                start = time.process_time()
                for path in chosen:
                    call(app, environ(path))
                cpu[name].append((time.process_time() - start) / len(chosen) * 1e6)
        body = json.dumps({"user_ids": sample.users[:1000], "limit": 10}).encode()
        batch = []
        for _ in range(5):
            start = time.process_time()
            call(app, environ("/v1/recommendations/batch", "POST", body, "profile-key"))
            batch.append((time.process_time() - start) * 1e3)
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for path in paths_of["recommendations"]:
            call(app, environ(path))
        profile.disable()

    median = {name: statistics.median(v) for name, v in cpu.items()}
    print(f"## Where a request's CPU goes ({common.machine()})\n")
    print(f"Served code: `{Path(served).parent}`\n")
    print("| endpoint | CPU us per request | share of /healthz |\n|---|---:|---:|")
    for name, us in median.items():
        print(f"| {name} | {us:,.0f} | {median['/healthz'] / us:.2f} |")
    print(f"| batch of 1,000 users | {statistics.median(batch) * 1e3:,.0f} | |")
    stats = pstats.Stats(profile)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    by_area: dict[str, float] = {}
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        where = area(f"{filename} {function}")  # a built-in's file is "~": its name says what it is
        by_area[where] = by_area.get(where, 0.0) + row[2]
    requests = len(paths_of["recommendations"])
    print(f"\ncProfile of {requests:,} recommendations requests (own time by area; the profiler slows each call):\n")
    print("| area | share | us per request under the profiler |\n|---|---:|---:|")
    for name, seconds in sorted(by_area.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {seconds / total:.0%} | {seconds / requests * 1e6:,.0f} |")


if __name__ == "__main__":
    main()
