"""What a diversity rule costs and gives: the served picks with at most N items of one category, on every
synthetic shape, the demo shop and the Taobao slice, against the picks without the rule.

    python benchmarks/diversity_eval.py [--caps 1,2,3,4,5] [--only NAME,...] [--json FILE]

Each shop is split in time (the newest 20% of events held out, as ``recsvc evaluate``), the served
model is built on the older part and published into a private Redis once, and the picks of every test
user are read through the service's read path under each diversity rule (``recsvc.read.rules``).
Printed per shop and cap: NDCG@10 of next purchases and of purchases of items new to the user, each as
the difference to no rule with its 95% bootstrap interval over users ("noise" when it holds 0), and the
mean number of distinct categories in the top 10 (leaf categories).
"""

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import numpy as np

from recsvc.admin.steering import set_rules
from recsvc.store.steering import SteeringRecords
from recsvc.store.wire import Wire
from training.config import TrainConfig
from training.evaluation import metrics, run, split
from training.evaluation.served import ServedModel
from training.inputs import dataset
from training.inputs.dataset import Inputs
from training.private_redis import private_redis
from training.samples import shapes
from training.samples.demo_shop import write_demo_shop

K = 10
TASKS = ("purchase", "purchase_new")


def shops(work: Path) -> dict[str, Inputs]:
    """The shops measured: every synthetic shape, the demo shop and the Taobao slice (if present)."""
    out = {}
    for name in shapes.SHAPES:
        shop = shapes.write(work / name, name)
        out[f"shape {name}"] = Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories)
    demo = write_demo_shop(work / "demo")
    out["demo shop"] = Inputs(events=demo.events, catalog=demo.catalog, categories=demo.categories)
    taobao = common.shared_data() / "taobao_userbehavior_head" / "UserBehavior_head.csv.gz"
    if taobao.exists():
        out["Taobao head"] = Inputs(events=taobao, preset="taobao")
    return out


def measure(inputs: Inputs, caps: list[int]) -> dict:
    """Per task and cap: the paired NDCG@10 difference to no rule, and distinct categories in the top 10."""
    ds = dataset.read(inputs)
    s = split.split(ds.events, split.cutoff_of(ds.events, fraction=0.2))
    tasks = run.pick_tasks(s, len(ds.catalogue.category))
    category = ds.catalogue.category
    out: dict = {task: {"users": len(tasks[task].users)} for task in TASKS}
    with private_redis() as r:
        model = ServedModel(r, replace(ds, events=s.train), TrainConfig())
        for cap in [None, *caps]:
            rule = {"name": "mix", "type": "diversity", "max_per_category": cap, "lists": ["recommendations"]}
            set_rules(SteeringRecords(Wire(r)), [rule] if cap else [])
            for task_name in TASKS:
                task = tasks[task_name]
                ranked = model.picks(task.users, K)
                ndcg = metrics.per_user(ranked, task.relevant, K)["ndcg"]
                shown = [category[row[row >= 0]] for row in ranked]
                spread = float(np.mean([len(set(c.tolist())) for c in shown])) if shown else 0.0
                entry = out[task_name].setdefault(str(cap), {"ndcg": ndcg, "categories": round(spread, 2)})
                entry["ndcg_mean"] = round(float(ndcg.mean()), 4) if len(ndcg) else 0.0
    for task_name in TASKS:
        base = out[task_name]["None"]["ndcg"]
        boot = metrics.Bootstrap(len(base))
        for cap in caps:
            entry = out[task_name][str(cap)]
            entry["versus_none"] = metrics.paired(entry.pop("ndcg"), base, boot)  # cap minus none
        out[task_name]["None"].pop("ndcg")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--caps", default="1,2,3,4,5", help="max_per_category values to measure")
    parser.add_argument("--only", help="comma-separated shop names (e.g. 'shape views_noise,demo shop')")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    caps = [int(c) for c in args.caps.split(",")]
    print(common.machine())
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name, inputs in shops(Path(work)).items():
            if args.only and name not in args.only.split(","):
                continue
            started = time.perf_counter()
            results[name] = measure(inputs, caps)
            print(f"\n{name} ({time.perf_counter() - started:.0f} s)")
            for task in TASKS:
                found = results[name][task]
                none = found["None"]
                print(
                    f"  {task} ({found['users']} users): no rule NDCG@10 {none['ndcg_mean']:.4f}, "
                    f"{none['categories']:.2f} categories in the top {K}"
                )
                for cap in caps:
                    e = found[str(cap)]
                    v = e["versus_none"]
                    noise = " noise" if v["within_noise"] else ""
                    print(
                        f"    at most {cap}: {e['ndcg_mean']:.4f} ({v['difference']:+.4f} "
                        f"[{v['ci'][0]:+.4f}, {v['ci'][1]:+.4f}]{noise}), {e['categories']:.2f} categories"
                    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
