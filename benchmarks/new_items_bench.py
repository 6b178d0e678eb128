"""New items placed by their content, and the similar lists of items with few events: Markdown tables.

    python benchmarks/new_items_bench.py [--data DIR] [--only NAME,...] [--json FILE]

Each data set is read and cut as ``recsvc evaluate`` cuts it (the newest 20% of events held out); the tasks are
``training/evaluation/new_items.py``'s: hidden items (all events before the cut of a random tenth of the items
hidden; content neighbours against the category's and the shop's best-sellers) and the tail blend (the trained
similar lists with content mixed in at several ``TAIL_SHRINK`` values, by the subject items' events). The data
sets are the synthetic shapes (titles and brands: ``training/samples/shapes.py``), Instacart (product names,
aisles, departments) and DIGINETICA (categories only); one that is missing is skipped with a note.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread

from training.config import TrainConfig
from training.evaluation import new_items, split
from training.inputs import dataset
from training.inputs.dataset import Inputs
from training.samples import shapes

K = new_items.K


def inputs(data: Path, work: Path) -> tuple[dict[str, Inputs], list[str]]:
    """The inputs of each data set, and notes on those skipped."""
    sets = {}
    for name in shapes.SHAPES:
        shop = shapes.write(work / name, name)
        sets[f"shape {name}"] = Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories)
    notes = []
    for folder, label in ((f, lab) for _, f, lab in common.CONVERTED if not (data / f).exists()):
        notes.append(f"{label} skipped: {data / folder} not found")
    for label, files in common.converted(data, work, notes).items():
        sets[label] = Inputs(**files)
    return sets, notes


def evaluate(given: Inputs, blend: bool, seed: int = 0) -> dict:
    """Both tasks on one data set (``seed``: of the items hidden)."""
    data = dataset.read(given)
    s = split.split(data.events, split.cutoff_of(data.events, fraction=0.2))
    out = {"hidden": new_items.hidden_items(data, s, seed=seed)}
    if blend:
        out["tail"] = new_items.tail_blend(data, s, TrainConfig())
    return out


def cell(info: dict, name: str) -> str:
    lists = info["lists"][name]
    lo, hi = lists["ci"][f"ndcg@{K}"]
    return f"{lists[f'ndcg@{K}']:.4f} ± {(hi - lo) / 2:.4f}"


def difference(info: dict, name: str) -> str:
    d = info["lists"][name].get("minus_reference")
    if d is None:
        return "reference"
    lo, hi = d["ci"]
    return f"{d['difference']:+.4f} [{lo:+.4f}, {hi:+.4f}]" + (" within noise" if d["within_noise"] else "")


def hidden_table(results: dict[str, dict]) -> list[str]:
    lines = [
        f"| data set (hidden items scored) | list | ndcg@{K} ± CI | recall@{K} "
        "| minus category best-sellers [95% CI] |",
        "|---|---|---:|---:|---|",
    ]
    for name, result in results.items():
        info = result["hidden"]
        choice = info["choice"]
        chosen = choice["order"] + (f" {choice['popularity_weight']:g}" if choice["order"] == "content" else "")
        for lst in ("served", "content", "category_best_sellers", "best_sellers"):
            label = f"served ({chosen})" if lst == "served" else lst
            recall = info["lists"][lst][f"recall@{K}"]
            lines.append(
                f"| {name} ({info['subjects']}) | {label} | {cell(info, lst)} | {recall:.4f} "
                f"| {difference(info, lst)} |"
            )
    return lines


def tail_table(results: dict[str, dict]) -> list[str]:
    lines = [
        f"| data set | events before the cut (items) | list | ndcg@{K} ± CI | minus shrink 0 [95% CI] |",
        "|---|---|---|---:|---|",
    ]
    for name, result in results.items():
        for band, info in result.get("tail", {}).items():
            if not info["subjects"]:
                continue
            for lst in info["lists"]:
                lines.append(
                    f"| {name} | {band} ({info['subjects']}) | {lst} | {cell(info, lst)} | {difference(info, lst)} |"
                )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=common.shared_data())
    parser.add_argument("--only", help="comma-separated data set names (e.g. 'shape views_predict,Instacart sample')")
    parser.add_argument("--no-blend", action="store_true", help="the hidden items only (no training)")
    parser.add_argument("--seed", type=int, default=0, help="of the random tenth of the items hidden (default 0)")
    parser.add_argument("--json", type=Path, help="also write every result here")
    args = parser.parse_args()
    started = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        sets, notes = inputs(args.data, Path(tmp))
        if args.only:
            sets = {n: sets[n] for n in (x.strip() for x in args.only.split(",")) if n in sets}
        for name, given in sets.items():
            results[name] = evaluate(given, not args.no_blend, args.seed)
    wall = time.perf_counter() - started
    command = "python benchmarks/new_items_bench.py" + (f" --only '{args.only}'" if args.only else "")
    command += " --no-blend" if args.no_blend else ""
    command += f" --seed {args.seed}" if args.seed else ""
    print(f"## New items and the tail\n\n`{command}`\n\nmachine: {common.machine()}; wall {wall:.0f} s")
    for note in notes:
        print(f"note: {note}")
    print("\n#### hidden items: content neighbours against best-sellers\n")
    print("\n".join(hidden_table(results)))
    if not args.no_blend:
        print("\n#### the tail blend: similar lists with content mixed in\n")
        print("\n".join(tail_table(results)))
    if args.json:
        args.json.write_text(json.dumps({"machine": common.machine(), "wall_s": round(wall, 1), "results": results}))


if __name__ == "__main__":
    main()
