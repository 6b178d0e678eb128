"""Synthetic shop data shaped like the public RetailRocket data set, for the benchmarks.

``python benchmarks/synthetic.py OUT_DIR [--scale 0.01] [--seed 0]`` (or ``python -m training.samples.synthetic``,
or ``generate(folder, ...)``) writes, in the RetailRocket format:

- ``events.csv``: timestamp (unix ms), visitorid, event (view, addtocart, transaction), itemid,
  transactionid (an integer on transactions, empty otherwise), sorted by timestamp;
- ``category_tree.csv``: categoryid, parentid (empty for roots), leaves 2 to 4 levels deep;
- ``catalog.csv``: item_id, category_id (a leaf of the tree).

The shop is drawn in memory by ``synthetic_shape.build``, whose docstring describes its shape.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from training.samples.synthetic_shape import EVENT_NAMES, TRANSACTION, Shop, build

FULL_SIZE = {"users": 1_400_000, "items": 235_000, "events": 2_800_000, "categories": 1_669}


# ---------------------------------------------------------------- files


def paths_in(folder: Path) -> dict[str, Path]:
    """Where the shop's files are in a folder."""
    return {name: Path(folder) / f"{name}.csv" for name in ("events", "category_tree", "catalog")}


def ensure(folder: Path, scale: float) -> dict[str, Path]:
    """The shop's files in folder, generated at the given scale unless they are already there."""
    paths = paths_in(folder)
    if not paths["events"].exists():
        print(f"generating synthetic data (scale {scale}) in {folder} ...", flush=True)
        generate(folder, **scaled(scale))
    return paths


def write(shop: Shop, folder: Path) -> dict[str, Path]:
    """Write events.csv, category_tree.csv and catalog.csv into folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = paths_in(folder)
    names = pa.array(EVENT_NAMES)
    _write_csv(
        paths["events"],
        {
            "timestamp": pa.array(shop.timestamp),
            "visitorid": pa.array(shop.user),
            "event": pa.DictionaryArray.from_arrays(pa.array(shop.event), names),
            "itemid": pa.array(shop.item),
            "transactionid": pa.array(shop.transaction, mask=shop.transaction < 0),
        },
    )
    _write_csv(
        paths["category_tree"],
        {
            "categoryid": pa.array(np.arange(len(shop.parent), dtype=np.int32)),
            "parentid": pa.array(shop.parent, mask=shop.parent < 0),
        },
    )
    _write_csv(
        paths["catalog"],
        {
            "item_id": pa.array(np.arange(len(shop.item_category), dtype=np.int32)),
            "category_id": pa.array(shop.item_category),
        },
    )
    return paths


def _write_csv(path: Path, columns: dict[str, pa.Array]) -> None:
    """A plain CSV: unquoted header and values, nulls as empty fields."""
    with pa.OSFile(str(path), "wb") as out:
        out.write((",".join(columns) + "\n").encode())
        pacsv.write_csv(pa.table(columns), out, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def generate(
    folder: Path,
    *,
    users: int = 1_400_000,
    items: int = 235_000,
    events: int = 2_800_000,
    categories: int = 1_669,
    roots: int = 25,
    seed: int = 0,
) -> dict[str, Path]:
    """Generate a shop and write it into folder; returns the paths by name (events, category_tree, catalog)."""
    shop = build(users=users, items=items, events=events, categories=categories, roots=roots, seed=seed)
    return write(shop, folder)


# ---------------------------------------------------------------- command line


def summary(shop: Shop) -> dict[str, float]:
    """Counts and shares that describe the shape of a shop."""
    items = len(shop.item_category)
    pairs = np.unique(shop.user.astype(np.int64) * items + shop.item)
    per_user = np.bincount(pairs // items)
    per_user = per_user[per_user > 0]
    per_item = np.bincount(pairs % items, minlength=items)
    bought = shop.event == TRANSACTION
    _, first = np.unique(shop.transaction[bought], return_index=True)
    baskets_per_buyer = np.bincount(shop.user[bought][first])
    return {
        "visitors": len(per_user),
        "items": items,
        "categories": len(shop.parent),
        "events": len(shop.event),
        **{name: int((shop.event == code).sum()) for code, name in enumerate(EVENT_NAMES)},
        "transaction ids": len(first),
        "buyers": int((baskets_per_buyer > 0).sum()),
        "buyers with 2+ transaction ids": int((baskets_per_buyer >= 2).sum()),
        "visitors with 1 distinct item": float((per_user == 1).mean()),
        "visitors with 2 distinct items": float((per_user == 2).mean()),
        "visitors with 3+ distinct items": float((per_user >= 3).mean()),
        "items with events": int((per_item > 0).sum()),
        "items with 2+ distinct visitors": int((per_item >= 2).sum()),
    }


def scaled(scale: float) -> dict[str, int]:
    """Sizes for a fraction of the full RetailRocket scale (categories shrink with its square root)."""
    sizes = {k: max(1, round(v * scale)) for k, v in FULL_SIZE.items() if k != "categories"}
    categories = max(8, round(FULL_SIZE["categories"] * min(1.0, scale**0.5)))
    return {**sizes, "categories": categories, "roots": min(25, categories // 4)}


def main(argv: list[str] | None = None) -> None:
    """Generate a shop of the asked scale into a folder; print its shape and the time taken."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where to write the CSV files")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the RetailRocket size (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes = scaled(args.scale)
    began = time.perf_counter()
    shop = build(**sizes, seed=args.seed)
    built = time.perf_counter()
    paths = write(shop, args.folder)
    done = time.perf_counter()
    for name, value in summary(shop).items():
        print(f"{name:>32}: {value:,.3f}" if isinstance(value, float) else f"{name:>32}: {value:,}")
    print(
        f"generated in {built - began:.1f} s, written in {done - built:.1f} s: "
        + ", ".join(str(p) for p in paths.values())
    )


if __name__ == "__main__":
    main()
