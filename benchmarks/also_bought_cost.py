"""What the learned also-bought order costs a training at scale, beside the fixed blend it replaces.

    python benchmarks/also_bought_cost.py [--scale 1.0] [--data DIR]

Learns the order on the ``views_predict`` shape's newest window (where the window lets it serve), then
builds every item's also-bought list of the RetailRocket-shaped synthetic shop both ways in one process, as
``pipeline.also_bought`` does in a training: the fixed blend (the reference) and the learned order. Prints
each one's seconds, their ratio and the process's peak memory before and after.
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import numpy as np

from training import interactions, pipeline
from training.config import TrainConfig
from training.inputs import dataset
from training.inputs.dataset import Inputs
from training.lists import also_bought_order, also_ranker, complements, generators, holdout
from training.samples import shapes, synthetic


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def learned_anyway(hold, catalogue, config: TrainConfig) -> also_bought_order.AlsoBoughtReport:
    """A learned order fitted on the window's use task, as ``also_ranker.choose`` fits the one it serves."""
    window = also_bought_order.chosen_on_window(hold, catalogue, config)[1]
    if window is None:
        raise SystemExit("the shape's window has too few subject items for a learned order")
    evidence = also_ranker.PairEvidence.of(window.together, hold.neighbours, catalogue)
    rows, items, features = evidence.candidates(window.task.subjects)
    labels = (np.asarray(window.task.gains[rows, items]).ravel() > 0).astype(np.float32)
    model = also_ranker._booster(features, labels, rows)
    return also_bought_order.AlsoBoughtReport(
        "learned", "fitted for the cost", complements.AlsoBoughtOrder.of(config), model=model
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="of the RetailRocket-shaped shop")
    parser.add_argument("--data", type=Path, help="reuse synthetic files in this folder")
    args = parser.parse_args()
    config = TrainConfig()
    with tempfile.TemporaryDirectory(prefix="also_bought_cost_") as work:
        shop = shapes.write(Path(work) / "shape", "views_predict")
        small = dataset.read(Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
        hold = holdout.of(small.events, len(small.item_ids), config)
        report = also_ranker.choose(hold, small.catalogue, config)
        if report.kind != "learned":  # the guard kept another order: a model fitted on the window costs the same
            report = learned_anyway(hold, small.catalogue, config)
        files = synthetic.ensure(args.data or Path(work) / "shop", args.scale)
        inputs = Inputs(
            events=files["events"], catalog=files["catalog"], categories=files["category_tree"], preset="retailrocket"
        )
        data = dataset.read(inputs)
    inter = interactions.build(data.events, config, n_items=len(data.item_ids))
    neighbours = generators.item_neighbours(inter.strength, config.neighbours_per_item)
    fixed = also_bought_order.AlsoBoughtReport("fixed", "the reference", complements.AlsoBoughtOrder.of(config))
    before = peak_gib()
    start = time.perf_counter()
    blend = pipeline.also_bought(data.events, neighbours, data.catalogue, config, fixed)
    blend_s = time.perf_counter() - start
    start = time.perf_counter()
    learned = pipeline.also_bought(data.events, neighbours, data.catalogue, config, report)
    learned_s = time.perf_counter() - start
    print(f"## The learned also-bought order at scale ({common.machine()})\n")
    command = f"python benchmarks/also_bought_cost.py --scale {args.scale:g}"
    print(f"`{command}`: {len(data.item_ids):,} items, {len(data.events.user):,} events\n")
    print("| lists | seconds | entries | / blend |\n|---|---:|---:|---:|")
    print(f"| fixed blend (reference) | {blend_s:.1f} | {len(blend.values):,} | 1 |")
    print(f"| learned | {learned_s:.1f} | {len(learned.values):,} | {learned_s / blend_s:.1f}x |")
    print(f"\npeak memory of the process: {before:.2f} GiB before the lists, {peak_gib():.2f} GiB after")


if __name__ == "__main__":
    main()
