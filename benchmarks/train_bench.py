"""Training + publishing at RetailRocket scale: wall time, peak memory, Redis memory per user and item.

    python benchmarks/train_bench.py [--scale 1.0] [--data DIR] [--redis-url URL] [--json FILE]

Generates the synthetic shop of ``training/samples/synthetic.py`` (1.4M visitors, 235k items, 2.8M
events at scale 1), starts an empty private redis-server, runs ``recsvc train`` in a child process
and reads its peak memory. As a reference measured in the same run it times a bare implicit ALS
fit with the same parameters on the same fitted users, so the ratio shows what reading,
precomputing and publishing add to the library's own work.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread

from training.samples import synthetic


def bare_fit_seconds(data: dict) -> float:
    """The reference: implicit's ALS fit alone on the same fitted users, same parameters."""
    code = f"""
import time
from training.config import TrainConfig
from training.inputs.presets import get_preset
from training.inputs.readers import read_events
from training import interactions, model
config = TrainConfig()
events, _ = read_events({str(data["events"])!r}, get_preset("retailrocket"))
inter = interactions.build(events, config)
start = time.perf_counter()
model.fit(inter.strength, config)
print(time.perf_counter() - start)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--data", type=Path, help="reuse synthetic files in this folder")
    parser.add_argument("--redis-url", help="an EMPTY Redis to use (default: a private redis-server)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="train with a parameter changed, as `recsvc train --param` (repeatable)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data or Path(tmp)
        data = synthetic.ensure(folder, args.scale)
        server = None if args.redis_url else common.RedisServer().start()
        url = args.redis_url or server.url
        try:
            wall, peak, meta = common.run_training(url, data, args.param)
        finally:
            if server:
                server.stop()
        reference = bare_fit_seconds(data)

    c, m, t = meta["counts"], meta["redis_memory"], meta["timings_s"]
    figures = {
        "machine": common.machine(),
        "users": c["users"],
        "fitted_users": c["fitted_users"],
        "items": c["items"],
        "events": c["events"],
        "wall_s": round(wall, 1),
        "peak_memory_gib": round(peak / 1024, 2),
        "redis_mib": round(m["used_bytes"] / 2**20, 1),
        "bytes_per_user": m["bytes_per_user_key"],
        "bytes_per_item": m["bytes_per_item_key"],
        "steps_s": t,
        "reference_bare_fit_s": round(reference, 1),
        "ratio_to_bare_fit": round(wall / reference, 2),
    }
    print(f"\n## Training + publishing ({common.machine()})\n")
    params = "".join(f" --param {p}" for p in args.param)
    print(f"`python benchmarks/train_bench.py --scale {args.scale}{params}`\n")
    print("| figure | value | target |\n|---|---|---|")
    print(
        f"| data | {c['users']:,} users ({c['fitted_users']:,} fitted), {c['items']:,} items, "
        f"{c['events']:,} events | |"
    )
    print(f"| wall time (read, fit, precompute, publish) | {wall:.1f} s | < 60 s |")
    print(f"| peak memory of the trainer | {peak / 1024:.2f} GiB | < 4 GiB |")
    print(f"| Redis memory of the version | {m['used_bytes'] / 2**20:.0f} MiB | |")
    print(f"| Redis memory per user / per item | {m['bytes_per_user_key']} B / {m['bytes_per_item_key']} B | |")
    print(
        f"| reference: bare implicit ALS fit, same data | {reference:.1f} s (whole run = {wall / reference:.2f}x) | |"
    )
    print("\nsteps (s): " + ", ".join(f"{k} {v}" for k, v in t.items()))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
