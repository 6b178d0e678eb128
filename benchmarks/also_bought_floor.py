"""The evidence an also-bought entry needs to be shown as bought together, measured on the shapes.

    python benchmarks/also_bought_floor.py [SHAPE ...]

For each shape: a time split (newest 20% of events held out); the pairs (X, Y) of the training half that
``complements.Together`` counts as bought together (Y bought next by X's buyers, at a rate above Y's base
rate), by their number of co-buyers; and the share of them whose Y gains on the test half's also-bought
use task (``use_tasks.also_bought_task``: bought new by X's buyers beyond chance). A floor is worth its
entries where that share is more than nothing.
"""

import argparse
import tempfile
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import numpy as np

from training.config import TrainConfig
from training.evaluation import run, split
from training.inputs import dataset
from training.inputs.dataset import Inputs
from training.lists import complements
from training.samples import shapes

BUCKETS = ((1, 1), (2, 2), (3, 4), (5, None))
LABELS = tuple(f"{lo}+" if hi is None else (f"{lo}" if lo == hi else f"{lo}-{hi}") for lo, hi in BUCKETS)


def confirmed(name: str, config: TrainConfig) -> tuple[int, list[tuple[str, float, int]]]:
    """The use task's subject items, and per bucket of co-buyers: (label, share confirmed, pairs)."""
    with tempfile.TemporaryDirectory() as work:
        shop = shapes.write(Path(work), name)
        data = dataset.read(Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
    s = split.split(data.events, split.cutoff_of(data.events, fraction=0.2))
    n_items = len(data.item_ids)
    task = run.also_bought_task(s, n_items, config)
    together = complements.Together.of(s.train, n_items, config)
    pairs = together.after.tocsr()[task.subjects].tocoo()
    rate = pairs.data / together.buyers[task.subjects[pairs.row]]
    above = rate > together.buyers[pairs.col] / together.customers
    gains = np.asarray(task.gains[pairs.row, pairs.col]).ravel() > 0
    rows = []
    for (lo, hi), label in zip(BUCKETS, LABELS):
        inside = above & (pairs.data >= lo) & (pairs.data <= (hi or np.inf))
        rows.append((label, float(gains[inside].mean()) if inside.any() else 0.0, int(inside.sum())))
    return len(task), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shapes", nargs="*", default=["durables_complements", "complements_strong", "views_noise"])
    args = parser.parse_args()
    config = TrainConfig()
    print(f"## Bought-together pairs confirmed on the use task, by co-buyers ({common.machine()})\n")
    print(
        "| shape (subjects) | " + " | ".join(f"{b[0]}{'+' if b[1] is None else ''} co-buyers" for b in BUCKETS) + " |"
    )
    print("|---|" + "---:|" * len(BUCKETS))
    for name in args.shapes:
        subjects, rows = confirmed(name, config)
        cells = " | ".join(f"{share:.2f} of {n:,}" for _, share, n in rows)
        print(f"| {name} ({subjects}) | {cells} |")


if __name__ == "__main__":
    main()
