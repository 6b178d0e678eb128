"""Session picks by fold-in at RetailRocket scale: latency of one request's computation.

    python benchmarks/foldin_bench.py [--items 235000] [--factors 64] [--pool 15000] [--requests 2000]

Publishes synthetic item factors (235k items x 64 factors, float32) the way the trainer does into a
private redis-server, loads them with ``recsvc.read.foldin.FoldIn.load`` (once per version per process in
the service), then times ``FoldIn.recommend`` for sessions of 1 to 20 items, consumed as the service
does (limit 10 plus the spare candidates). Twice: over the trainer's candidate pool and over every
item. As a reference in the same run it times the bare matrix-vector product of the same size.
"""

import argparse
import json
import sys
import time

import common  # first: the repository on sys.path, one BLAS thread
import numpy as np
import redis

from recsvc.contract import keys
from recsvc.read.foldin import FoldIn

LIMIT = 10


def machine() -> str:
    return f"{common.machine()}, numpy {np.__version__}"


def publish(r: redis.Redis, version: str, n_items: int, k: int, pool_size: int, rng) -> None:
    """Synthetic factors, ids and pool written under the version's keys, as the trainer writes them."""
    y = (rng.standard_normal((n_items, k)) * 0.1).astype("<f4")
    pool = np.sort(rng.choice(n_items, size=min(pool_size, n_items), replace=False)).astype("<u4")
    r.set(keys.item_factors(version), y.tobytes())
    r.set(keys.item_ids(version), "\n".join(f"item-{i}" for i in range(n_items)))
    r.set(keys.pool(version), pool.tobytes())
    r.set(
        keys.foldin(version),
        json.dumps(
            {
                "factors": k,
                "regularization": 0.05,
                "alpha": 2.0,
                "event_weights": {"view": 1.0, "wishlist": 2.0, "addtocart": 4.0, "purchase": 8.0},
                "yty": (y.T.astype(np.float64) @ y).tolist(),
            }
        ),
    )


def percentiles(seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    return (
        f"p50 {np.percentile(ms, 50):6.3f} ms  p90 {np.percentile(ms, 90):6.3f} ms  "
        f"p99 {np.percentile(ms, 99):6.3f} ms  max {ms.max():6.3f} ms"
    )


def run(foldin: FoldIn, sessions: list, rng) -> tuple[list[float], list[float]]:
    """(fold-in request times, bare matmul times) over the same sessions."""
    for events in sessions[:50]:  # warm up
        list(foldin.recommend(events, LIMIT))
    folded, reference = [], []
    x = rng.standard_normal(foldin.factors.shape[1]).astype(np.float32)
    for events in sessions:
        start = time.perf_counter()
        picks = list(foldin.recommend(events, LIMIT))
        folded.append(time.perf_counter() - start)
        assert len(picks) >= LIMIT
        start = time.perf_counter()
        foldin.pool_factors @ x
        reference.append(time.perf_counter() - start)
    return folded, reference


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=235_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--pool", type=int, default=15_000, help="the trainer's candidate_pool default")
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    server = common.RedisServer().start()
    try:
        r = redis.Redis.from_url(server.url)
        print(f"machine: {machine()}")
        print(
            f"items {args.items:,}, factors {args.factors}, sessions of 1-20 items, {args.requests:,} requests, "
            f"limit {LIMIT}\n"
        )
        for pool in (args.pool, args.items):
            version = f"bench-{pool}"
            publish(r, version, args.items, args.factors, pool, rng)
            start = time.perf_counter()
            foldin = FoldIn.load(r, version)
            load_s = time.perf_counter() - start
            sessions = [
                [(int(rng.integers(0, 4)), int(i)) for i in rng.integers(0, args.items, rng.integers(1, 21))]
                for _ in range(args.requests)
            ]
            folded, reference = run(foldin, sessions, rng)
            print(f"pool {pool:,} items (load once per version per process: {load_s * 1000:.0f} ms)")
            print(f"  fold-in + score + top-{LIMIT}: {percentiles(folded)}")
            print(f"  reference, bare matmul      : {percentiles(reference)}")
            r.delete(*r.keys(f"{keys.version_prefix(version)}*"))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
