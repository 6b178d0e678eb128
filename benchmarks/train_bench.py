"""Training + publishing at RetailRocket scale: wall time, peak memory, Redis memory per user and item.

    python benchmarks/train_bench.py [--scale 1.0] [--jobs 1,2] [--rounds 1] [--data DIR] [--json FILE]

Generates the synthetic shop of ``training/samples/synthetic.py`` (1.4M visitors, 235k items, 2.8M
events at scale 1), starts an empty private redis-server and runs ``recsvc train`` in a child process
once for each ``--jobs`` value (``--jobs 2``: the users scored by two shard processes), each on an
emptied Redis; ``--rounds 2`` runs them again in mirrored order. While a training runs, the memory of its
whole process tree is sampled (the trainer and its shard processes together) beside the peak of its
largest process, and the CPU the rest of the machine used in the meantime. As a reference measured in the
same run it times a bare implicit ALS fit with the same parameters on the same fitted users, so the ratio
shows what reading, precomputing and publishing add to the library's own work.
"""

import argparse
import contextlib
import ctypes
import ctypes.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread

from training.samples import synthetic

SAMPLE_S = 0.5
"""Seconds between two readings of the process tree's memory."""
PR_SET_CHILD_SUBREAPER = 36


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


def adopt_orphans() -> None:
    """Become the subreaper of this process's descendants (Linux): a process whose parent ends before it (the fork
    server of ``--jobs``, whose children are the shards) is then this one's child, and its CPU time, once it is
    reaped, counts in ``RUSAGE_CHILDREN`` with the rest of the training's."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap(pids: set[int]) -> None:
    """Wait for those of ``pids`` that are this process's children now (orphans adopted by ``adopt_orphans``)."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def tree_memory(root: int, seen: set[int]) -> tuple[int, int, int]:
    """Bytes resident now in a process and all its descendants together, the process's own high-water mark
    (VmHWM, its peak) and the largest of its descendants', from /proc; zeros once they are gone. Adds every
    process of the tree to ``seen``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, own, largest, todo = 0, 0, 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            total += int(fields["VmRSS"].split()[0]) * 1024
            peak = int(fields["VmHWM"].split()[0]) * 1024
        except (OSError, KeyError, IndexError, ValueError):
            continue
        own, largest = (peak, largest) if pid == root else (own, max(largest, peak))
    return total, own, largest


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (every core, /proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def train(url: str, data: dict, jobs: int, params: list[str], limit_gib: float) -> dict:
    """One ``recsvc train`` child process: wall time, peak memory (its own, its largest shard, all together),
    the other load on the machine and the version's summary. Stopped when the tree passes ``limit_gib``."""
    command = [sys.executable, "-m", "cli.main", "--redis-url", url, "train", "--preset", "retailrocket", "-v"]
    command += ["--events", str(data["events"]), "--catalog", str(data["catalog"])]
    command += ["--categories", str(data["category_tree"]), "--jobs", str(jobs)]
    command += [arg for p in params for arg in ("--param", p)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy, start = busy_seconds(), time.perf_counter()
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    peaks, stop, seen = {"tree": 0, "trainer": 0, "shard": 0}, threading.Event(), set()

    def sample() -> None:
        while not stop.wait(SAMPLE_S):
            total, own, child = tree_memory(process.pid, seen)
            for name, value in (("tree", total), ("trainer", own), ("shard", child)):
                peaks[name] = max(peaks[name], value)
            if total > limit_gib * 2**30:
                common.stop_process(process)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = process.communicate()[0]
    stop.set()
    sampler.join()
    wall = time.perf_counter() - start
    reap(seen - {process.pid})  # the fork server's CPU, and its shards', once it ends
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    log.seek(0)
    steps = log.read()
    if process.returncode:
        sys.exit(
            f"training (--jobs {jobs}) failed or was stopped (tree {peaks['tree'] / 2**30:.2f} GiB):\n{steps}{out}"
        )
    r = common.connect(url)
    version = r.get(common.keys.CURRENT).decode()
    return {
        "jobs": jobs,
        "wall_s": round(wall, 1),
        "peak_trainer_gib": round(peaks["trainer"] / 2**30, 2),  # the one process, or the coordinator
        "peak_shard_gib": round(peaks["shard"] / 2**30, 2),  # the largest shard process (--jobs 2 and more)
        "peak_tree_gib": round(peaks["tree"] / 2**30, 2),  # all of them together
        "other_load_cores": round(max(0.0, busy_seconds() - busy - ours) / wall, 2),
        "cpu_s": round(ours, 1),
        "meta": json.loads(r.get(common.keys.meta(version))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--jobs", default="1", help="comma-separated --jobs values to run, e.g. 1,2 (default 1)")
    parser.add_argument("--rounds", type=int, default=1, help="run the --jobs values this many times (mirrored)")
    parser.add_argument("--data", type=Path, help="reuse synthetic files in this folder")
    parser.add_argument("--redis-url", help="an EMPTY Redis to use (default: a private redis-server)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-reference", action="store_true", help="skip the bare ALS fit")
    parser.add_argument(
        "--max-memory-gib", type=float, default=16.0, help="stop a training whose processes pass this (GiB)"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="train with a parameter changed, as `recsvc train --param` (repeatable)",
    )
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    order = [j for n in range(args.rounds) for j in (jobs if n % 2 == 0 else jobs[::-1])]

    adopt_orphans()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data or Path(tmp)
        data = synthetic.ensure(folder, args.scale)
        # at scale 10 the item factors are one value of 600 MB, past Redis's default limit of 512 MB a value
        server = None if args.redis_url else common.RedisServer().start()
        url = args.redis_url or server.url
        runs = []
        try:
            for j in order:
                common.connect(url, timeout_s=60).flushall()  # a 10x version takes seconds to free
                runs.append(train(url, data, j, args.param, args.max_memory_gib))
                print(f"--jobs {j}: {runs[-1]['wall_s']} s", flush=True)
        finally:
            if server:
                server.stop()
        reference = None if args.no_reference else bare_fit_seconds(data)

    meta = runs[0]["meta"]
    c = meta["counts"]
    print(f"\n## Training + publishing ({common.machine()})\n")
    params = "".join(f" --param {p}" for p in args.param)
    rounds = f" --rounds {args.rounds}" if args.rounds > 1 else ""
    print(f"`python benchmarks/train_bench.py --scale {args.scale} --jobs {args.jobs}{rounds}{params}`\n")
    print(f"data: {c['users']:,} users ({c['fitted_users']:,} fitted), {c['items']:,} items, {c['events']:,} events")
    if reference:
        print(f"reference: bare implicit ALS fit, same data, after the trainings: {reference:.1f} s\n")
    print(
        "| --jobs | wall | / bare fit | peak: trainer (coordinator) / largest shard / all at once "
        "| Redis per user / item | version | other load (cores) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        m = run["meta"]["redis_memory"]
        ratio = f"{run['wall_s'] / reference:.2f}x" if reference else ""
        print(
            f"| {run['jobs']} | {run['wall_s']} s | {ratio} | {run['peak_trainer_gib']} / {run['peak_shard_gib']} / "
            f"{run['peak_tree_gib']} GiB | {m['bytes_per_user_key']} B / {m['bytes_per_item_key']} B | "
            f"{m['used_bytes'] / 2**20:.0f} MiB | {run['other_load_cores']} |"
        )
    for run in runs:
        print(
            f"\n--jobs {run['jobs']} steps (s): " + ", ".join(f"{k} {v}" for k, v in run["meta"]["timings_s"].items())
        )
        for n, shard in enumerate(run["meta"].get("sharding", {}).get("shard_s", [])):
            print(f"  shard {n}: " + ", ".join(f"{k} {v}" for k, v in shard.items()))
    if args.json:
        figures = {"machine": common.machine(), "scale": args.scale, "reference_bare_fit_s": reference, "runs": runs}
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
