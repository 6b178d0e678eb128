"""How far below /healthz one Redis round trip puts an answer, under each real server.

    python benchmarks/floor_bench.py [--servers granian,sync] [--duration 10s] [--rounds 2] [--users N]

Serves the synthetic shop of ``serve_bench.py`` with the app of ``floor_app.py``, under granian (the
settings of ``recsvc serve --production``, 2 workers of 1 thread) and gunicorn sync (2 workers), and
runs ``wrk`` on five endpoints of the same server in mirrored rounds: ``/healthz``, an empty answer
under ``/v1`` (the hooks every answer passes), the same after the one round trip every answer makes
(the served version, as ``store.version()`` reads it), user recommendations, and the same answers
from each user's record and live events read once and kept in the worker (what a warm path with no
round trip at all would cost). Each figure is printed as requests/s and as a share of ``/healthz`` of
the same server in the same run: the share of the round trip is the most any answer that reads Redis
can reach there.
"""

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import redis
import serve_bench
from common import ROOT, free_port, stop_process

HERE = Path(__file__).resolve().parent
ENDPOINTS = {
    "/healthz": lambda user: "/healthz",
    "empty answer under /v1": lambda user: f"/v1/profile-empty/{user}?limit=10",
    "one round trip (the floor)": lambda user: f"/v1/profile-floor/{user}?limit=10",
    "recommendations": serve_bench.recs_path,
    "recommendations, records kept in the process": lambda user: f"/v1/profile-kept/{user}?limit=10",
}


def command(kind: str, port: int, workers: int) -> list[str]:
    """The server of ``floor_app:create``: granian as ``cli.production`` runs it, or gunicorn sync."""
    if kind == "granian":
        return [
            *(sys.executable, "-m", "granian", "--interface", "wsgi", "--factory", "--no-ws"),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--blocking-threads", "1"),
            "floor_app:create",
        ]
    return [
        *(sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}"),
        *("--worker-class", "sync", "--log-level", "warning", "floor_app:create()"),
    ]


@contextlib.contextmanager
def serve(kind: str, redis_url: str, workers: int, folder: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {"REDIS_URL": redis_url, "PYTHONPATH": f"{ROOT}{os.pathsep}{HERE}", "RECSVC_API_KEYS": serve_bench.API_KEY}
    if kind == "granian":  # as ``recsvc serve --production``: the workers share a metrics folder
        env["PROMETHEUS_MULTIPROC_DIR"] = str(Path(tempfile.mkdtemp(dir=folder)))
    log = folder / f"server-{kind}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            command(kind, port, workers),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = serve_bench.Server(f"http://127.0.0.1:{port}", "127.0.0.1", port, process, log)
    try:
        serve_bench.wait_ready(server)
        yield server
    finally:
        stop_process(process, group=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="granian,sync")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", default="10s", help="wrk duration of each run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--users", type=int, default=50_000, help="synthetic shop users")
    parser.add_argument("--items", type=int, default=20_000, help="synthetic shop items")
    parser.add_argument("--n-events", type=int, default=400_000, help="synthetic shop events")
    args = parser.parse_args()
    kinds = args.servers.split(",")
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="floor_bench_")))
        url = stack.enter_context(common.RedisServer()).url
        r = redis.Redis.from_url(url)
        paths = serve_bench.write_synthetic_shop(folder, serve_bench.ShopSize(args.users, args.items, args.n_events))
        serve_bench.train_model(r, paths["events"], paths["catalog"], None, "synthetic")
        users = serve_bench.sample_ids(paths["events"], None, 5_000, 10).users
        scripts: dict[str, Path] = {}
        for name, path_of in ENDPOINTS.items():
            scripts[name] = folder / f"{len(scripts)}.lua"
            scripts[name].write_text(serve_bench._lua_rotation([("GET", path_of(u), None) for u in users]))
        servers = {kind: stack.enter_context(serve(kind, url, args.workers, folder)) for kind in kinds}
        meters = {k: serve_bench.CpuMeter(s.process.pid, r, redis_is_local=True) for k, s in servers.items()}
        for server in servers.values():  # warm: the workers cache the version's items
            serve_bench.run_wrk(server, scripts["recommendations"], args, duration="3s")
        order = [(kind, name) for name in ENDPOINTS for kind in kinds]
        runs: dict[tuple[str, str], list] = {pair: [] for pair in order}
        for round_ in range(args.rounds):
            for kind, name in order if round_ % 2 == 0 else order[::-1]:
                runs[kind, name].append(serve_bench.run_wrk(servers[kind], scripts[name], args, meter=meters[kind]))
    print(f"## One round trip under each server ({common.machine()})\n")
    print(f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}, {args.rounds} rounds in mirrored order,")
    print(f"{args.workers} workers; requests/s (share of /healthz), workers' CPU ms per request\n")
    print("| endpoint | " + " | ".join(kinds) + " |\n|---|" + "---:|" * len(kinds))
    for name in ENDPOINTS:
        cells = []
        for kind in kinds:
            rps = sum(run.requests_per_s for run in runs[kind, name]) / args.rounds
            hello = sum(run.requests_per_s for run in runs[kind, "/healthz"]) / args.rounds
            cpu = sum(run.cpu.workers_ms for run in runs[kind, name]) / args.rounds
            cells.append(f"{rps:,.0f} ({rps / hello:.2f}), {cpu:.2f} ms")
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
