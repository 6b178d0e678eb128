"""Buy-again quality on the Instacart sample: our due-ness ranking against "the user's most often bought items".

    python benchmarks/buy_again_eval.py [--data DIR]

Instacart gives relative time only, so each user's time axis is built from ``order_number``
and the cumulative ``days_since_prior_order`` (plus the hour of the day). Time split: each
user's last order is held out; intervals and buy-again lists are learned from the earlier
orders with the trainer's own code (``training.lists.retention``), aisles standing in for
categories, and ranked with the service's own score (``recsvc.read.retention.due_score``) at the
time of the held-out order, as a widget shown during that visit would be. The baseline ranks
the same users' earlier purchases by count (ties: the most recent first).
"""

import argparse
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import numpy as np
import pyarrow.csv as pacsv

from recsvc.contract.units import DAY
from recsvc.read.retention import due_score
from training.config import TrainConfig
from training.inputs.readers import PURCHASE, Events
from training.lists.retention import buy_again, repurchase_intervals

K = 10


def load(data: Path):
    """Order lines as columns with a per-user time axis, and product -> aisle."""
    t = pacsv.read_csv(data / "instacart_sample" / "order_lines.csv.gz")
    col = {
        name: t[name].to_numpy(zero_copy_only=False)
        for name in ("order_id", "user_id", "order_number", "order_hour_of_day", "days_since_prior_order", "product_id")
    }
    # one row per order, in each user's order; time = cumulative days since prior order + hour of day
    _, first_line = np.unique(col["order_id"], return_index=True)
    o = first_line[np.lexsort((col["order_number"][first_line], col["user_id"][first_line]))]
    user, gap = col["user_id"][o], np.nan_to_num(col["days_since_prior_order"][o].astype(float))
    new_user = np.ones(len(o), bool)
    new_user[1:] = user[1:] != user[:-1]
    cumulative = np.cumsum(gap)
    day = cumulative - np.maximum.accumulate(np.where(new_user, cumulative - gap, 0))
    order_time = dict(
        zip(col["order_id"][o].tolist(), (day * DAY + col["order_hour_of_day"][o] * 3600).astype(np.int64).tolist())
    )
    times = np.array([order_time[i] for i in col["order_id"].tolist()], dtype=np.int64)
    products = pacsv.read_csv(data / "instacart_sample" / "products.csv.gz")
    aisle = dict(zip(products["product_id"].to_pylist(), products["aisle_id"].to_pylist()))
    return col["user_id"], col["product_id"], col["order_number"], times, aisle


def split(user, order_number):
    """Masks: earlier orders for training, each user's last order held out (users with two or more orders)."""
    users, code = np.unique(user, return_inverse=True)
    last = np.full(len(users), -1)
    first = np.full(len(users), 1 << 30)
    np.maximum.at(last, code, order_number)
    np.minimum.at(first, code, order_number)
    several = (last > first)[code]
    return several & (order_number < last[code]), several & (order_number == last[code])


def events_of(user, product, times) -> tuple[Events, np.ndarray, np.ndarray]:
    users, user_codes = np.unique(user, return_inverse=True)
    items, item_codes = np.unique(product, return_inverse=True)
    n = len(user)
    events = Events(
        timestamp=times,
        user=user_codes.astype(np.int32),
        item=item_codes.astype(np.int32),
        event=np.full(n, PURCHASE, np.int8),
        quantity=np.ones(n, np.int32),
        user_ids=users.astype(str),
        item_ids=items.astype(str),
    )
    return events, users, items


def metrics(ranked: dict, truth: dict) -> dict:
    """recall, precision, hit rate and NDCG at K, averaged over users."""
    recall, precision, hit, ndcg = [], [], [], []
    for user, wanted in truth.items():
        got = ranked.get(user, [])[:K]
        hits = [g in wanted for g in got]
        recall.append(sum(hits) / len(wanted))
        precision.append(sum(hits) / K)
        hit.append(float(any(hits)))
        dcg = sum(1 / np.log2(r + 2) for r, h in enumerate(hits) if h)
        ndcg.append(dcg / sum(1 / np.log2(r + 2) for r in range(min(len(wanted), K))))
    return {
        f"recall@{K}": np.mean(recall),
        f"precision@{K}": np.mean(precision),
        f"hit@{K}": np.mean(hit),
        f"ndcg@{K}": np.mean(ndcg),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=common.shared_data())
    args = parser.parse_args()
    user, product, order_number, times, aisle = load(args.data)
    is_train, is_test = split(user, order_number)
    events, users, items = events_of(user[is_train], product[is_train], times[is_train])
    config = TrainConfig()
    category = np.array([aisle.get(int(i), -1) for i in items], dtype=np.int32)
    intervals = repurchase_intervals(events, category, int(category.max()) + 1, config)
    again = buy_again(events, intervals, len(users), k=1_000)
    now = dict(zip(user[is_test].tolist(), times[is_test].tolist()))
    truth: dict[int, set] = {}
    for u, p in zip(user[is_test].tolist(), product[is_test].tolist()):
        truth.setdefault(u, set()).add(p)

    ours, baseline = {}, {}
    for code, u in enumerate(users.tolist()):
        lo, hi = again.items.indptr[code], again.items.indptr[code + 1]
        scored = [
            (due_score(max(0.0, (now[u] - last) / DAY), interval, count), -last, int(items[i]))
            for i, last, count, interval in zip(
                again.items.values[lo:hi], again.items.scores[lo:hi], again.counts[lo:hi], again.interval_days[lo:hi]
            )
        ]
        ours[u] = [i for *_, i in sorted(scored, key=lambda s: (s[0], -s[1]), reverse=True)]
    history: dict[int, dict[int, list]] = {}
    for u, p, t in zip(user[is_train].tolist(), product[is_train].tolist(), times[is_train].tolist()):
        entry = history.setdefault(u, {}).setdefault(p, [0, 0])
        entry[0] += 1
        entry[1] = max(entry[1], t)
    for u, bought in history.items():
        baseline[u] = sorted(bought, key=lambda p: (bought[p][0], bought[p][1]), reverse=True)

    reorders = {u: w & set(baseline.get(u, [])) for u, w in truth.items()}
    reorders = {u: w for u, w in reorders.items() if w}
    print(f"machine: {common.machine()}")
    print(f"users evaluated: {len(truth)} (held-out orders); with a re-ordered item: {len(reorders)}")
    print(
        f"items with a repurchase interval: {int(np.isfinite(intervals.days).sum())} of {len(items)} "
        f"({int(intervals.from_item.sum())} from their own repeats, the rest from their aisle)"
    )
    print(f"{'':40} " + "  ".join(f"{m:>12}" for m in metrics({}, {1: {1}})))
    for name, ranked in (("most often bought (baseline)", baseline), ("buy-again (due-ness)", ours)):
        for label, target in (("all", truth), ("reorders", reorders)):
            row = metrics(ranked, target)
            print(f"{name:30} {label:9} " + "  ".join(f"{v:12.4f}" for v in row.values()))


if __name__ == "__main__":
    main()
