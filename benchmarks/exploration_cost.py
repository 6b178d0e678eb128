"""What exploration's places cost the picks, at most: Markdown table.

    python benchmarks/exploration_cost.py [--only NAME,...] [--shares 0.1,0.2] [--json FILE]

Each data set is cut as ``recsvc evaluate`` cuts it (the newest 20% of events held out); a model is trained on
the older part and the picks (``GET /v1/users/<id>/recommendations?limit=10``) come through the service's read
path. A split has no items added by a catalog update, so each exploration place (``exploration.places``) is
filled with an item no customer takes: the picks move down as they would, and the figure is the most the share
can cost (a new item that customers take only lowers it). NDCG@10 on the picks tasks, paired 95% intervals over
users against no exploration.
"""

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import numpy as np

from recsvc.read.exploration import places
from training.config import TrainConfig
from training.evaluation import metrics, split
from training.evaluation.run import pick_tasks
from training.evaluation.served import ServedModel
from training.inputs import dataset
from training.inputs.dataset import Inputs
from training.private_redis import private_redis
from training.samples import shapes

K = 10
DEFAULT_SETS = ("views_predict", "repeats_many", "complements_strong")
TASKS = ("purchase", "purchase_new")


def _with_places(own: np.ndarray, share: float) -> list[int]:
    """A list with an item nobody takes (-2) in each exploration place, the rest moved down and cut."""
    out: list[int] = []
    rest = list(own)
    for n, before in enumerate(places(K, share)):
        while len(out) - n < before and rest:
            out.append(rest.pop(0))
        out.append(-2)
    return (out + rest)[:K]


def measure(given: Inputs, shares: list[float]) -> dict:
    data = dataset.read(given)
    s = split.split(data.events, split.cutoff_of(data.events, fraction=0.2))
    tasks = pick_tasks(s, len(data.item_ids))
    out = {}
    with private_redis() as r:
        model = ServedModel(r, replace(data, events=s.train), TrainConfig())
        for name in TASKS:
            task = tasks[name]
            base = model.picks(task.users, K)
            boot = metrics.Bootstrap(len(task.users))
            plain = metrics.per_user(base, task.relevant, K)["ndcg"]
            row = {"users": len(task.users), "ndcg@10": round(float(plain.mean()), 5), "shares": {}}
            for share in shares:
                lists = np.array([_with_places(own, share) for own in base])
                value = metrics.per_user(lists, task.relevant, K)["ndcg"]
                row["shares"][f"{share:g}"] = metrics.paired(value, plain, boot)
            out[name] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(DEFAULT_SETS), help="comma-separated shape names")
    parser.add_argument("--shares", default="0.1,0.2")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    shares = [float(x) for x in args.shares.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in (x.strip() for x in args.only.split(",")):
            shop = shapes.write(Path(tmp) / name, name)
            results[name] = measure(
                Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories), shares
            )
    print(f"`python benchmarks/exploration_cost.py --only {args.only} --shares {args.shares}`\n")
    print(f"machine: {common.machine()}\n")
    print(
        "| shape | task (users) | ndcg@10, no exploration | "
        + " | ".join(f"share {s:g}: change [95% CI]" for s in shares)
        + " |"
    )
    print("|---|---|---:|" + "---|" * len(shares))
    for name, tasks in results.items():
        for task, row in tasks.items():
            cells = []
            for share in shares:
                d = row["shares"][f"{share:g}"]
                cells.append(f"{d['difference']:+.4f} [{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}]")
            print(f"| {name} | {task} ({row['users']}) | {row['ndcg@10']:.4f} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
