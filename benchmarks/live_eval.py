"""Live events on the next-day task: stored picks against picks that follow today's views, on every data set.

    python benchmarks/live_eval.py [--data DIR] [--only NAME,...] [--shares 0.25,0.5,0.75,1] [--jobs 2]

For each data set (the synthetic shapes and the shared slices with timestamps; the same inputs as
``quality_bench.py``) the events are cut where ``recsvc evaluate`` cuts them (the newest 20% held out);
the model of the train half is published into a private Redis; the customers with history who come
back on the cut's first day have that day's events posted through ``POST /v1/events``; their picks
are read through the service (``training/evaluation/next_day.py``) as stored (no live candidates),
as served (the version's ``live_share``) and at each share of the sweep, and scored on what they buy
(and, second, touch at all) after that day. NDCG@10 ± half its 95% bootstrap interval over users;
live − stored per user with its interval ("noise": the interval holds 0).
"""

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import quality_bench

from training.config import TrainConfig
from training.evaluation import metrics, next_day
from training.evaluation.pipeline import SplitBy
from training.evaluation.served import ServedModel
from training.evaluation.split import split
from training.inputs import dataset
from training.inputs.dataset import Inputs
from training.private_redis import private_redis
from training.samples import shapes

K = 10
METRIC = f"ndcg@{K}"
SERVED = "served"


def measure(item: tuple[str, dict, tuple[float, ...]]) -> tuple[str, dict]:
    """One data set: each task's users, and per model its NDCG@10 with interval and its difference to stored."""
    name, kwargs, shares = item
    started = time.perf_counter()
    ds = dataset.read(Inputs(**kwargs))
    s = split(ds.events, SplitBy().cutoff(ds.events))
    n_items = len(ds.item_ids)
    nd = next_day.next_day(s, n_items)
    with private_redis() as r:
        model = ServedModel(r, replace(ds, events=s.train), TrainConfig())
        ranked = next_day.ranked(r, model, nd, K, SERVED, shares)
    out: dict = {"day_events": len(nd.day), "tasks": {}}
    for task_name, task in nd.tasks.items():
        boot = metrics.Bootstrap(len(task.users))
        values = {m: metrics.per_user_at(rk, task.relevant, (K,))[METRIC] for m, rk in ranked[task_name].items()}
        stored = values.get(next_day.STORED)
        models = {}
        for m, v in values.items():
            lo, hi = (float(x) for x in metrics.interval(v, boot)) if len(v) else (0.0, 0.0)
            entry = {"mean": float(v.mean()) if len(v) else 0.0, "ci": [lo, hi]}
            if m != next_day.STORED and stored is not None and len(v):
                entry["vs_stored"] = metrics.paired(v, stored, boot)
            models[m] = entry
        out["tasks"][task_name] = {"users": len(task.users), "models": models}
    out["wall_s"] = round(time.perf_counter() - started, 1)
    return name, out


def cell(entry: dict) -> str:
    lo, hi = entry["ci"]
    return f"{entry['mean']:.4f} ± {(hi - lo) / 2:.4f}"


def versus(entry: dict) -> str:
    d = entry.get("vs_stored")
    if not d:
        return ""
    noise = " noise" if d["within_noise"] else ""
    return f"{d['difference']:+.4f} [{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}]{noise}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=common.shared_data())
    parser.add_argument("--only", help="comma-separated data set names (e.g. 'shape views_predict,Taobao head')")
    parser.add_argument("--shares", default="", help="live shares to sweep beside the served one, e.g. 0.25,0.5,1")
    parser.add_argument("--users", type=int, default=0, help="users of each synthetic shape (0: the shape's own)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="data sets at a time")
    args = parser.parse_args()
    shares = tuple(float(x) for x in args.shares.split(",") if x.strip())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sets, notes = quality_bench.inputs(args.data, Path(tmp))
        if args.users:
            for shape in shapes.SHAPES:
                shop = shapes.write(Path(tmp) / f"{shape}_{args.users}", shapes.shape_with(shape, users=args.users))
                sets[f"shape {shape}"] = {"events": shop.events, "catalog": shop.catalog, "categories": shop.categories}
        sets.pop("Instacart sample", None)  # relative times only: no first day after a cut
        notes.append("Instacart sample left out: its times are relative (order numbers), there is no same day")
        if args.only:
            wanted = [n.strip() for n in args.only.split(",")]
            sets = {n: sets[n] for n in wanted if n in sets}
        with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = dict(pool.map(measure, [(n, kw, shares) for n, kw in sets.items()]))
    results = {name: results[name] for name in sets}
    command = "python benchmarks/live_eval.py" + (f" --only '{args.only}'" if args.only else "")
    command += f" --shares {args.shares}" if shares else ""
    command += f" --users {args.users}" if args.users else ""
    print(f"`{command}`\n\nmachine: {common.machine()}; wall {time.perf_counter() - started:.0f} s")
    for note in notes:
        print(f"note: {note}")
    print()
    print(f"| data set (day events) | task (users) | stored {METRIC} | served {METRIC} | served − stored [95% CI] |")
    print("|---|---|---:|---:|---|")
    for name, result in results.items():
        for task_name, info in result["tasks"].items():
            if not info["users"]:
                print(f"| {name} ({result['day_events']}) | {task_name} (0) | | | no users |")
                continue
            models = info["models"]
            stored, served = models[next_day.STORED], models[SERVED]
            print(
                f"| {name} ({result['day_events']}) | {task_name} ({info['users']}) | {cell(stored)} | "
                f"{cell(served)} | {versus(served)} |"
            )
    if shares:
        print(f"\nsweep: {METRIC} − stored per share [95% CI]\n")
        print("| data set | task | " + " | ".join(f"share {x:g}" for x in shares) + " |")
        print("|---|---|" + "---|" * len(shares))
        for name, result in results.items():
            for task_name, info in result["tasks"].items():
                if info["users"]:
                    row = [versus(info["models"][f"live_{x:g}"]) for x in shares]
                    print(f"| {name} | {task_name} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
