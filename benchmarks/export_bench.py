"""`recsvc export` at RetailRocket scale: users per second and peak memory, beside a bare read of the same keys.

    python benchmarks/export_bench.py [--scale 1.0] [--data DIR]

Generates the synthetic shop of ``training/samples/synthetic.py``, trains it into a private
redis-server, then in child processes: exports every user's picks (JSON lines) and the
abandoned-cart list, each reporting its wall time and its own peak memory. As a reference
measured in the same run, a child only SCANs the same user keys and MGETs their records,
a thousand at a time, without answering: the floor any export pays to read Redis.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread

from training.samples import synthetic

CHILD = """
import re, resource, sys, time
start = time.perf_counter()
{body}
try:  # the child's own peak: ru_maxrss keeps the parent's across fork and exec on Linux
    peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) / 1024
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(time.perf_counter() - start, peak, count)
"""
EXPORT = """
from cli.main import main
import json
assert main({argv!r}) == 0
count = sum(1 for _ in open({out!r})) - {out!r}.endswith(".csv")  # less the CSV header
"""
BARE_READ = """
import redis
from recsvc.contract import keys
r = redis.Redis.from_url({url!r})
version = r.get(keys.CURRENT).decode()
count, batch = 0, []
for key in r.scan_iter(match=keys.user(version, "*"), count=1000):
    batch.append(key)
    if len(batch) == 1000:
        count += sum(1 for v in r.mget(batch) if v)
        batch = []
count += sum(1 for v in r.mget(batch) if v) if batch else 0
"""


def child(body: str) -> tuple[float, float, int]:
    """(wall seconds, peak MiB, rows) of one child process."""
    done = subprocess.run([sys.executable, "-c", CHILD.format(body=body)], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"child failed:\n{done.stderr}")
    wall, peak, count = done.stdout.split()[-3:]
    return float(wall), float(peak), int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--data", type=Path, help="reuse synthetic files in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data or Path(tmp)
        data = synthetic.ensure(folder, args.scale)
        server = common.RedisServer().start()
        try:
            print("training ...", flush=True)
            common.run_training(server.url, data)
            rows = {}
            for name, argv, out in (
                ("export picks (10 a user, JSON lines)", ["picks", "--limit", "10"], "picks.jsonl"),
                ("export triggers abandoned-cart (CSV)", ["triggers", "--kind", "abandoned-cart"], "carts.csv"),
            ):
                path = str(Path(tmp) / out)
                full = ["--redis-url", server.url, "export", *argv, "--out", path, "--no-progress"]
                rows[name] = child(EXPORT.format(argv=full, out=path))
            rows["reference: SCAN + MGET of the user records only"] = child(BARE_READ.format(url=server.url))
        finally:
            server.stop()
    print(f"\n## Exports ({common.machine()})\n")
    print(f"`python benchmarks/export_bench.py --scale {args.scale}`\n")
    print("| run | rows | wall | rows/s | peak memory |\n|---|---|---|---|---|")
    for name, (wall, peak, count) in rows.items():
        print(f"| {name} | {count:,} | {wall:.1f} s | {count / wall:,.0f} | {peak:.0f} MiB |")


if __name__ == "__main__":
    main()
