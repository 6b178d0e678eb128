"""Offline quality on every synthetic shape and the shared data slices: one Markdown table per task.

    python benchmarks/quality_bench.py [--data DIR] [--only NAME,...] [--jobs 2] [--json FILE]

Each data set goes through ``recsvc evaluate``'s own code (``evaluate_dataset``: time split,
newest 20% of events held out, served configurations and baselines, no tuning). The shapes are
written by ``training/samples/shapes.py`` (``durables_complements`` among them: durables with planted
complements beside re-bought consumables and popular accessories); Instacart and DIGINETICA are converted with
``recsvc convert``; a shared set that is missing is skipped with a note. Every table row shows
NDCG@10 ± half its 95% bootstrap interval over users, recall@10, and the served picks minus the
model per user with its interval; the best NDCG@10 of each data set is in bold, and a difference
whose interval holds 0 is marked "within noise".
"""

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread

from training.evaluation import report
from training.evaluation.pipeline import evaluate_dataset
from training.evaluation.verdict import verdict
from training.samples import shapes

TASKS = ("purchase", "purchase_new", "purchase_or_cart", "any", "also_bought", "category_offers", "buy_again")


def inputs(data: Path, work: Path) -> tuple[dict[str, dict], list[str]]:
    """The evaluate_dataset arguments of each data set, and notes on the ones skipped."""
    sets: dict[str, dict] = {}
    for name in shapes.SHAPES:
        shop = shapes.write(work / name, name)
        sets[f"shape {name}"] = {"events": shop.events, "catalog": shop.catalog, "categories": shop.categories}
    notes = []
    taobao = data / "taobao_userbehavior_head" / "UserBehavior_head.csv.gz"
    if taobao.exists():
        sets["Taobao head"] = {"events": taobao, "preset": "taobao"}
    rr = data / "retailrocket"
    if (rr / "sample_events.csv.gz").exists():
        sets["RetailRocket sample"] = {
            "events": rr / "sample_events.csv.gz",
            "preset": "retailrocket",
            "categories": rr / "category_tree.csv.gz",
        }
    sets.update(common.converted(data, work, notes))
    if len(sets) == len(shapes.SHAPES):
        notes.append(f"shared data not found in {data}: shapes only")
    return sets, notes


def evaluate(item: tuple[str, dict]) -> tuple[str, dict]:
    name, kwargs = item
    started = time.perf_counter()
    result = evaluate_dataset(**kwargs)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return name, result


def table(task: str, results: dict[str, dict], k: int = 10) -> list[str]:
    """One task's Markdown table over every data set."""
    lines = [
        f"#### {task}",
        "",
        f"| data set (users) | model | ndcg@{k} ± CI | recall@{k} | served − model (ndcg@{k}) [95% CI] |",
        "|---|---|---:|---:|---|",
    ]
    for name, result in results.items():
        info = result["tasks"].get(task)
        if not info or not info["users"]:
            continue
        models = info["models"]
        best = max(m[f"ndcg@{k}"] for m in models.values())
        for model in sorted(models, key=lambda m: -models[m][f"ndcg@{k}"]):
            cell = report.value(info, model, f"ndcg@{k}")
            if models[model][f"ndcg@{k}"] == best and best > 0:
                cell = f"**{cell}**"
            lines.append(
                f"| {name} ({info['users']}) | {model} | {cell} | {models[model][f'recall@{k}']:.4f} | "
                f"{report.versus(info, model)} |"
            )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=common.shared_data())
    parser.add_argument("--only", help="comma-separated data set names (e.g. 'shape views_predict,Taobao head')")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="data sets at a time")
    parser.add_argument("--json", type=Path, help="also write every result here")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sets, notes = inputs(args.data, Path(tmp))
        if args.only:
            wanted = [n.strip() for n in args.only.split(",")]
            sets = {n: sets[n] for n in wanted if n in sets}
        with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = dict(pool.map(evaluate, sets.items()))
    results = {name: results[name] for name in sets}
    wall = time.perf_counter() - started
    command = "python benchmarks/quality_bench.py" + (f" --only '{args.only}'" if args.only else "")
    print(f"## Offline quality on the shapes and the shared slices\n\n`{command}`\n\nmachine: {common.machine()}")
    each = ", ".join(f"{n} {r['wall_s']:.0f} s" for n, r in results.items())
    print(f"wall: {wall:.0f} s with {args.jobs} at a time; {each}")
    for note in notes:
        print(f"note: {note}")
    print()
    for task in TASKS:
        print("\n".join(table(task, results)))
    print("#### orders the served runs chose on their own newest window\n")
    for name, result in results.items():
        orders = result.get("orders", {}).get("als_served")
        if orders:
            picks, also, offers = orders["picks"], orders["also_bought"], orders["category_offers"]
            again = orders.get("buy_again", {})
            kept = also.get("strong_pairs_kept@10")
            guard = f"; strongest pairs kept in the top 10: {kept}" if kept else ""
            print(
                f"- {name}: picks {picks['kind']} ({picks['why']}); also-bought {also['kind']} ({also['why']}{guard}); "
                f"category offers {offers['order']} ({offers['why']}); buy-again recency "
                f"{again.get('recency_days')} days ({again.get('why')})"
            )
    print()
    print("#### verdicts\n")
    for name, result in results.items():
        decided = verdict(result)
        print(f"- {name}: {decided['text'] if decided else 'no task with users to decide on'}")
    if args.json:
        args.json.write_text(json.dumps({"machine": common.machine(), "wall_s": round(wall, 1), "results": results}))


if __name__ == "__main__":
    main()
