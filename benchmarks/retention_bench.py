"""What the retention features add to training at RetailRocket scale, beside the core's own steps.

    python benchmarks/synthetic.py /tmp/synth && python benchmarks/retention_bench.py /tmp/synth

Reads the synthetic shop of ``training/samples/synthetic.py`` and times, in one process, the steps
this feature set adds or replaces: intervals, buy-again lists and profiles
(``training.lists.retention.build``), the windowed also-bought (``training.complements``) and the
co-viewed substitutes. As references measured in the same run: reading the events and building
the weighted interaction matrices every list starts from.
"""

import argparse
import time
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import numpy as np

from training import analytics, analytics_time, interactions
from training.config import TrainConfig
from training.inputs.catalog_files import read_catalog, read_categories
from training.inputs.dataset import assemble
from training.inputs.presets import get_preset
from training.inputs.readers import read_events
from training.lists import buy_again_order, complements, repurchase_task, retention
from training.orders import orders_of


def timed(label: str, rows: list, fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    rows.append((label, time.perf_counter() - start))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder written by benchmarks/synthetic.py")
    args = parser.parse_args()
    preset, config, rows = get_preset("retailrocket"), TrainConfig(), []
    events, _ = timed("reference: read the events", rows, read_events, args.folder / "events.csv", preset)
    catalog, _ = read_catalog(args.folder / "catalog.csv", preset)
    parents, _ = read_categories(args.folder / "category_tree.csv", preset)
    data = assemble(events, catalog, parents)
    item_ids, catalogue = data.item_ids, data.catalogue
    inter = timed("reference: weighted interaction matrices", rows, interactions.build, events, config, len(item_ids))
    prices = np.full(len(item_ids), np.nan)

    timed(
        "also-bought from what buyers bought next",
        rows,
        complements.also_bought_next,
        events,
        catalogue,
        config,
        config.neighbours_per_item,
    )
    timed(
        "co-viewed alternatives for similar",
        rows,
        complements.co_viewed_alternatives,
        inter.strength,
        catalogue,
        config.recent_per_user,
    )
    built = timed(
        "intervals, buy-again lists, profiles, carts, interest",
        rows,
        retention.build,
        events,
        inter.strength,
        catalogue.category,
        catalogue.n_categories,
        prices,
        inter.now,
        config,
    )
    # the parts of retention.build that the retention figures, contact times and catalog triggers added
    orders = timed("  of which: orders with their values", rows, orders_of, events, prices)
    tz = analytics_time.zone(config.timezone)
    timed(
        "  of which: best time to contact",
        rows,
        analytics_time.contact_times,
        events.user,
        events.timestamp,
        len(events.user_ids),
        tz,
        config.contact_min_events,
    )
    timed(
        "  of which: watched items (back-in-stock, price-drop)",
        rows,
        retention.watched_items,
        events,
        inter.now,
        config,
    )
    timed(
        "  of which: retention figures (repeat rate, cohorts, churn, LTV)",
        rows,
        analytics.document,
        orders,
        built.profiles.segment,
        inter.now,
        config,
    )
    cut = int(inter.now - config.ranker_label_days * 86_400)
    before = events.timestamp < cut
    columns = ("timestamp", "user", "item", "event", "quantity")
    past = type(events)(**{**vars(events), **{c: getattr(events, c)[before] for c in columns}})
    timed(
        "buy-again order chosen on the newest window",
        rows,
        lambda: buy_again_order.choose_on(
            past,
            catalogue,
            repurchase_task.repurchases(events, cut, np.inf),
            np.full(len(events.user_ids), float(cut)),
            config,
            "in the window",
        ),
    )
    print(f"\n## Retention steps at scale ({common.machine()})\n")
    print(
        f"`python benchmarks/retention_bench.py {args.folder}`: {len(events.user_ids):,} users, "
        f"{len(item_ids):,} items, {len(events):,} events\n"
    )
    reference = rows[0][1]
    print("| step | seconds | x reading the events |\n|---|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} | {seconds / reference:.3f} |")
    print(f"\nbuyers by segment: {built.summary().buyers_by_segment}")


if __name__ == "__main__":
    main()
