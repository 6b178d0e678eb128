"""Serving throughput: recommendations beside a hello-world endpoint of the same app, under gunicorn.

    python benchmarks/serving_bench.py [--seconds 10] [--workers 2] [--connections 16]

Trains the demo shop into a private redis-server, serves ``make_app()`` (the service plus a
``/hello`` route) with gunicorn, and drives each URL with wrk in turn: the ratio of a recommendations
endpoint's requests per second to ``/hello``'s is the serving overhead (target: 75% or more). The app
is run twice, with and without the Prometheus middleware, to show what metrics cost. Latency
percentiles are wrk's, at full load.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import redis  # noqa: E402

from recsvc.cli import _demo_urls  # noqa: E402
from tests.conftest import RedisProcess, free_port  # noqa: E402
from training.demo_shop import write_demo_shop  # noqa: E402
from training.train import Inputs, train  # noqa: E402


def make_app():
    """The service with a hello-world route, for the side-by-side reference."""
    from recsvc import create_app

    app = create_app({"METRICS": os.environ.get("BENCH_METRICS", "1") == "1"})

    @app.get("/hello")
    def hello():
        return "hello"

    return app


def wrk(url: str, seconds: int, connections: int) -> tuple[float, str]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} error answers")
    return rps, f"p50 {lat.get('50')} p90 {lat.get('90')} p99 {lat.get('99')}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    server = RedisProcess().start()
    try:
        r = redis.Redis.from_url(server.url)
        shop = write_demo_shop(Path(tempfile.mkdtemp()) / "shop")
        train(r, Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
        user_url, also_url = _demo_urls(shop)[0], _demo_urls(shop)[1]
        paths = ["/hello", user_url, "/v1/users/someone-new/recommendations?limit=5", also_url]
        print(f"{os.cpu_count()} cores; gunicorn {args.workers} sync workers; wrk 2 threads, "
              f"{args.connections} connections, {args.seconds} s per URL; Redis on the same machine\n")
        for metrics in ("1", "0"):
            port = free_port()
            env = {**os.environ, "REDIS_URL": server.url, "BENCH_METRICS": metrics}
            gunicorn = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
                 "--chdir", str(Path(__file__).parent), "--log-level", "warning", "serving_bench:make_app()"],
                env=env)
            try:
                time.sleep(3)
                print(f"metrics middleware {'on' if metrics == '1' else 'off'}:")
                hello = None
                for path in paths:
                    wrk(f"http://127.0.0.1:{port}{path}", 2, args.connections)  # warm up
                    rps, lat = wrk(f"http://127.0.0.1:{port}{path}", args.seconds, args.connections)
                    hello = hello or rps
                    print(f"  {path:60s} {rps:8.0f} req/s  {100 * rps / hello:5.1f}% of hello  {lat}")
            finally:
                gunicorn.terminate()
                gunicorn.wait(10)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
