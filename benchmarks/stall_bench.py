"""A stalled Redis and an overload, measured from outside on the production server, before and after.

    python benchmarks/stall_bench.py [--reference TREE] [--seconds 20] [--stop 6] [--rate 100]
                                     [--batches 50] [--json FILE]

Trains a small synthetic shop into a private redis-server and serves it with ``recsvc serve
--production`` (granian, 2 workers x 4 threads) from this tree and, side by side in the same run,
from ``--reference`` (another checkout, e.g. the main branch before the change). For each:

- stall: an open-loop client asks for user recommendations at ``--rate`` requests a second for
  ``--seconds``, each on a new connection and timed from its scheduled send, while ``/healthz`` is
  asked every 50 ms (after 3 s of the same requests, not measured, that warm the workers); after a
  third of the run the redis-server is stopped (SIGSTOP) for ``--stop`` seconds, then continued.
  Printed: p50/p99/max of all requests, the 503s, the slowest ``/healthz``, the recovery (seconds
  from SIGCONT to the first request sent after it that is answered 200; each worker's breaker closes
  on its own probe), and the requests that failed outside the stall (before it, or sent more than 1 s
  after SIGCONT: refused as busy);
- overload: ``--batches`` batches of 1,000 users a second for 10 s, ``/healthz`` every 50 ms: the
  slowest ``/healthz``, the batches answered and refused (503) and their p99.

Everything runs on this machine: the client, the servers and Redis share its cores; the load average
before and after each tree's run is printed with its figures (other work on the machine skews them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401 - first: the repository on sys.path, one BLAS thread
import numpy as np
import redis
from common import ROOT, RedisServer, free_port, machine, stop_process
from serve_bench import ShopSize, write_synthetic_shop

API_KEY = "bench-key"
HEALTH_EVERY_S = 0.05
TIMEOUT_S = 30.0
"""Seconds the client waits for an answer; a request still unanswered then counts as failed (status 0)."""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, help="another checkout to measure beside this one (before)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the stall run")
    parser.add_argument("--stop", type=float, default=6.0, help="seconds Redis is stopped")
    parser.add_argument("--rate", type=float, default=100.0, help="recommendations a second")
    parser.add_argument("--batches", type=float, default=50.0, help="batches of 1,000 users a second (0: skip)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    return parser.parse_args(argv)


@contextlib.contextmanager
def production(tree: Path, redis_url: str, folder: Path):
    """``recsvc serve --production`` of ``tree``, 2 workers x 4 threads, ready: its port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {"PYTHONPATH": str(tree), "RECSVC_API_KEYS": API_KEY, "RECSVC_METRICS": "false"}
    command = [sys.executable, "-m", "cli.main", "--redis-url", redis_url, "serve", "--production"]
    command += ["--port", str(port), "--workers", "2", "--threads", "4"]
    log = folder / f"server-{port}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            command, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while asyncio.run(request(port, "GET", "/readyz", timeout=2))[0] != 200:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield port
    finally:
        stop_process(process, group=True)


async def request(
    port: int, method: str, path: str, body: bytes = b"", timeout: float = TIMEOUT_S
) -> tuple[int, float]:
    """(status, seconds) of one request on a new connection; status 0 for a failure or a timeout."""
    start = time.monotonic()
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nX-API-Key: {API_KEY}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head.encode() + b"\r\n" + body)
            await writer.drain()
            data = await reader.read()
            writer.close()
        return int(data.split(b" ", 2)[1]), time.monotonic() - start
    except (OSError, TimeoutError, IndexError, ValueError):
        return 0, time.monotonic() - start


async def open_loop(port: int, rate: float, seconds: float, make, results: list) -> None:
    """Send ``make(n)`` = (method, path, body) at ``rate`` a second on a fixed schedule; latency from the schedule."""
    begin, tasks = time.monotonic(), []

    async def one(n: int, scheduled: float) -> None:
        method, path, body = make(n)
        status, _ = await request(port, method, path, body)
        results.append((scheduled - begin, status, time.monotonic() - scheduled))

    for n in range(int(rate * seconds)):
        scheduled = begin + n / rate
        await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
        tasks.append(asyncio.create_task(one(n, scheduled)))
    await asyncio.gather(*tasks)


async def health_watch(port: int, seconds: float, results: list) -> None:
    """``/healthz`` every ``HEALTH_EVERY_S``, one at a time: (status, seconds) each."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        results.append(await request(port, "GET", "/healthz"))
        await asyncio.sleep(HEALTH_EVERY_S)


def warm_up(port: int, users: list[str], rate: float, seconds: float = 3.0) -> None:
    """Every worker's first answers (caches filled, connections made), not measured."""
    make = lambda n: ("GET", f"/v1/users/{users[n % len(users)]}/recommendations", b"")  # noqa: E731
    asyncio.run(open_loop(port, rate, seconds, make, []))


def stall_run(port: int, redis_pid: int, users: list[str], args) -> dict:
    """Recommendations at a fixed rate with Redis stopped for ``args.stop`` s after a third of the run."""
    answers: list = []
    health: list = []
    stop_at = args.seconds / 3

    async def run() -> float:
        async def stall() -> float:
            await asyncio.sleep(stop_at)
            os.kill(redis_pid, signal.SIGSTOP)
            try:
                await asyncio.sleep(args.stop)
            finally:
                os.kill(redis_pid, signal.SIGCONT)
            return stop_at + args.stop

        make = lambda n: ("GET", f"/v1/users/{users[n % len(users)]}/recommendations", b"")  # noqa: E731
        resumed, *_ = await asyncio.gather(
            stall(), open_loop(port, args.rate, args.seconds, make, answers), health_watch(port, args.seconds, health)
        )
        return resumed

    try:
        resumed = asyncio.run(run())
    finally:
        os.kill(redis_pid, signal.SIGCONT)
    latency = np.array([seconds for _, _, seconds in answers])
    statuses = [status for _, status, _ in answers]
    answered_after = [t for t, status, _ in answers if t >= resumed and status == 200]
    first_answer = min(answered_after, default=float("nan"))
    return {
        "requests": len(answers),
        "p50_ms": round(float(np.percentile(latency, 50)) * 1e3, 1),
        "p99_ms": round(float(np.percentile(latency, 99)) * 1e3, 1),
        "max_ms": round(float(latency.max()) * 1e3, 1),
        "over_100ms": int((latency > 0.1).sum()),
        "status_503": statuses.count(503),
        "failed_other": sum(1 for s in statuses if s not in (200, 503)),
        "healthz_max_ms": round(max(s for _, s in health) * 1e3, 1),
        "healthz_failed": sum(1 for status, _ in health if status != 200),
        "recovered_s": round(first_answer - resumed, 2),
        "failed_outside_stall": sum(
            1 for t, status, _ in answers if (t < stop_at or t > resumed + 1.0) and status != 200
        ),
        "slow_at_s": _histogram([t for t, _, seconds in answers if seconds > 0.1]),
    }


def _histogram(moments: list[float]) -> dict[str, int]:
    """How many moments fall in each second of the run ("7": from 7 s to 8 s)."""
    counts: dict[str, int] = {}
    for t in sorted(moments):
        counts[str(int(t))] = counts.get(str(int(t)), 0) + 1
    return counts


def overload_run(port: int, users: list[str], args, seconds: float = 10.0) -> dict:
    """``args.batches`` batches of 1,000 users a second, ``/healthz`` watched."""
    answers: list = []
    health: list = []
    rng = np.random.default_rng(4)
    bodies = [json.dumps({"user_ids": rng.choice(users, 1000).tolist(), "limit": 10}).encode() for _ in range(20)]

    async def run() -> None:
        make = lambda n: ("POST", "/v1/recommendations/batch", bodies[n % len(bodies)])  # noqa: E731
        await asyncio.gather(
            open_loop(port, args.batches, seconds, make, answers), health_watch(port, seconds + 2, health)
        )

    asyncio.run(run())
    ok = np.array([s for _, status, s in answers if status == 200] or [0.0])
    refused = np.array([s for _, status, s in answers if status == 503] or [0.0])
    return {
        "batches": len(answers),
        "answered": int(sum(1 for _, status, _ in answers if status == 200)),
        "refused_503": int(sum(1 for _, status, _ in answers if status == 503)),
        "failed_other": int(sum(1 for _, status, _ in answers if status not in (200, 503))),
        "answered_p99_ms": round(float(np.percentile(ok, 99)) * 1e3, 1),
        "refused_p99_ms": round(float(np.percentile(refused, 99)) * 1e3, 1),
        "healthz_max_ms": round(max(s for _, s in health) * 1e3, 1),
        "healthz_p99_ms": round(float(np.percentile([s for _, s in health], 99)) * 1e3, 1),
    }


def report(results: dict, args) -> str:
    lines = [f"# stall_bench: {machine()}"]
    lines.append(f"# {args.rate:g} req/s for {args.seconds:g} s, Redis stopped {args.stop:g} s")
    for name, figures in results["trees"].items():
        lines.append(f"\n## {name} (load average {figures['load_before']} before, {figures['load_after']} after)")
        lines.append("stall:    " + ", ".join(f"{k} {v}" for k, v in figures["stall"].items()))
        if "overload" in figures:
            lines.append("overload: " + ", ".join(f"{k} {v}" for k, v in figures["overload"].items()))
    if len(results["trees"]) == 2:
        before, after = results["trees"].values()
        for part, key in (("stall", "p99_ms"), ("stall", "healthz_max_ms"), ("overload", "healthz_max_ms")):
            if part in before and part in after:
                ratio = after[part][key] / max(before[part][key], 1e-9)
                lines.append(f"{part} {key}: {before[part][key]} -> {after[part][key]} ({ratio:.3f}x)")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    trees = {"this tree": ROOT}
    if args.reference:
        trees = {f"reference {args.reference}": args.reference.resolve(), **trees}
    with tempfile.TemporaryDirectory(prefix="stall-bench-") as tmp:
        folder = Path(tmp)
        server = RedisServer().start()
        try:
            paths = write_synthetic_shop(folder, ShopSize(users=5_000, items=2_000, events=60_000, categories=40))
            from training.train import Inputs, train

            train(redis.Redis(port=server.port), Inputs(events=paths["events"], catalog=paths["catalog"]))
            users = [f"u{n}" for n in range(0, 5_000, 7)]
            results: dict = {"machine": machine(), "trees": {}}
            for name, tree in trees.items():
                print(f"measuring {name} ...", file=sys.stderr, flush=True)
                with production(tree, server.url, folder) as port:
                    warm_up(port, users, args.rate)
                    figures: dict = {"load_before": round(os.getloadavg()[0], 1)}
                    figures["stall"] = stall_run(port, server.process.pid, users, args)
                    time.sleep(2)
                    if args.batches > 0:
                        figures["overload"] = overload_run(port, users, args)
                    figures["load_after"] = round(os.getloadavg()[0], 1)
                results["trees"][name] = figures
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(server.process.pid, signal.SIGCONT)
            server.stop()
    print(report(results, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
