"""One Redis against a three-node Redis Cluster: training + publishing, how a version spreads, reads.

    python benchmarks/cluster_bench.py [--scale 0.1] [--data DIR] [--requests 2000]

Generates the synthetic RetailRocket-shaped shop (``training/samples/synthetic.py``; scale 0.1 is
140k visitors), starts a private redis-server and a private 3-node cluster of the same binary, runs
``recsvc train`` against each in a child process, then reads the same users' recommendations and
items' also-bought lists through the service (Flask's test client, in this process) from each. The
single Redis is the reference: every figure of the cluster is printed beside it as a ratio.
"""

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread

from recsvc import create_app
from recsvc.contract import keys, versions
from recsvc.store.commands import used_memory
from recsvc.store.connect import connect
from training.private_redis import RedisClusterServers, RedisServer
from training.samples import synthetic


def read_latencies(url: str, paths: list[str]) -> list[float]:
    """Milliseconds of each GET through the service, after one warm-up pass."""
    client = create_app({"REDIS_URL": url, "METRICS": False}).test_client()
    for path in paths[:200]:
        client.get(path)
    times = []
    for path in paths:
        start = time.perf_counter()
        answer = client.get(path)
        times.append(1000 * (time.perf_counter() - start))
        if answer.status_code != 200:
            raise SystemExit(f"{path}: {answer.status_code} {answer.get_data(as_text=True)[:200]}")
    return times


def spread(cluster: RedisClusterServers, version: str) -> tuple[list[int], list[int]]:
    """Keys of the version and used memory, per node."""
    counts, memory = [], []
    for node in cluster.clients():
        counts.append(sum(1 for _ in node.scan_iter(match=keys.version_prefix(version) + "*", count=5000)))
        memory.append(int(node.info("memory")["used_memory"]))
    return counts, memory


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--data", type=Path, help="reuse synthetic files in this folder")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    with tempfile.TemporaryDirectory() as tmp, RedisServer() as single, RedisClusterServers(3) as cluster:
        data = synthetic.ensure(args.data or Path(tmp), args.scale)
        results = {}
        for name, url in (("single", single.url), ("cluster", cluster.url)):
            wall, peak, meta = common.run_training(url, data)
            results[name] = {"wall": wall, "meta": meta, "r": connect(url)}
        r = results["cluster"]["r"]
        version = versions.current(r)
        counts, memory = spread(cluster, version)
        single_r = results["single"]["r"]
        users = [
            k.decode()[len(keys.user(versions.current(single_r), "")) :]
            for k in single_r.scan_iter(match=keys.user(versions.current(single_r), "*"), count=5000)
        ][: args.requests]
        items = [
            a["item_id"]
            for a in create_app({"REDIS_URL": single.url}).test_client().get("/v1/popular?limit=100").json["items"]
        ]
        rng = random.Random(0)
        paths = [f"/v1/users/{u}/recommendations?limit=10" for u in users]
        paths += [f"/v1/items/{rng.choice(items)}/also-bought?limit=10" for _ in range(len(users) // 2)]
        rng.shuffle(paths)
        reads = {name: read_latencies(url, paths) for name, url in (("single", single.url), ("cluster", cluster.url))}
        totals = used_memory(r), used_memory(single_r)

    print(
        f"data: scale {args.scale}, {results['single']['meta']['counts']['users']:,} users, "
        f"{results['single']['meta']['counts']['events']:,} events"
    )
    s_wall, c_wall = results["single"]["wall"], results["cluster"]["wall"]
    print(f"recsvc train, wall s: single {s_wall:.1f}, cluster {c_wall:.1f} (x{c_wall / s_wall:.2f})")
    for step in ("publish",):
        s_t = results["single"]["meta"]["timings_s"].get(step)
        c_t = results["cluster"]["meta"]["timings_s"].get(step)
        if s_t and c_t:
            print(f"  step {step}: single {s_t:.1f} s, cluster {c_t:.1f} s (x{c_t / s_t:.2f})")
    total = sum(counts)
    print(f"version keys per node: {counts} (largest share {max(counts) / total:.1%} of {total:,})")
    print(
        f"used memory per node, MiB: {[round(m / 2**20, 1) for m in memory]}; "
        f"cluster total {totals[0] / 2**20:.1f}, single {totals[1] / 2**20:.1f}"
    )
    for name, times in reads.items():
        print(
            f"GET through the service, {name}: p50 {quantile(times, 50):.3f} ms  p99 {quantile(times, 99):.3f} ms "
            f"({len(times)} requests)"
        )
    ratio = statistics.median(reads["cluster"]) / statistics.median(reads["single"])
    print(f"cluster / single, median read: x{ratio:.2f}")


if __name__ == "__main__":
    main()
