"""Buy-again quality: the served order against due-ness alone, P-TopFreq and TIFU-KNN (Instacart), or on the shapes.

    python benchmarks/buy_again_eval.py [--data DIR]     # the Instacart sample
    python benchmarks/buy_again_eval.py --shapes         # the six synthetic shapes (training/samples/shapes.py)

Instacart gives relative time only, so each user's time axis is built from ``order_number``
and the cumulative ``days_since_prior_order`` (plus the hour of the day). Time split: each
user's last order is held out; intervals and buy-again lists are learned from the earlier
orders with the trainer's own code (``training.lists.retention``), aisles standing in for
categories, and ranked with the service's own score (``recsvc.read.retention.due_score``) at the
time of the held-out order, as a widget shown during that visit would be. The order's recency scale
is chosen as ``recsvc train`` chooses it (``training.lists.buy_again_order``), on the window of each
user's second-to-last order (the history before it, the items bought again in it). The baseline ranks
the same users' earlier purchases by count (ties: the most recent first).

On the shapes: the newest 20% of events held out (``recsvc evaluate``'s split); the recency scale chosen
on the train half's newest window as ``recsvc train`` does; the re-purchase task
(``training.lists.repurchase_task``) within ``HORIZON_DAYS`` after the cut.
"""

import argparse
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import numpy as np
import pyarrow.csv as pacsv

from recsvc.contract.units import DAY
from recsvc.read.retention import due_score
from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.evaluation import metrics
from training.evaluation import split as time_split
from training.evaluation.pipeline import SplitBy
from training.inputs import dataset
from training.inputs.readers import PURCHASE, Events
from training.lists import buy_again_order, holdout, repurchase_task
from training.lists.retention import RepurchaseIntervals, buy_again, repurchase_intervals
from training.samples import shapes

K = 10
HORIZON_DAYS = 30.0
"""On the shapes: re-purchases counted within this many days after the cut."""
TIFU_KNN = {"neighbours": 900, "within_decay": 0.9, "group_decay": 0.7, "alpha": 0.9, "groups": 3}
"""TIFU-KNN's parameters for Instacart in its authors' code (k = 900, r_b = 0.9, r_g = 0.7, alpha = 0.9,
3 groups), as rerun by Li et al., "A Next Basket Recommendation Reality Check" (2023)."""


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


def tifu_knn(user, product, order_number, users, items, params: dict = TIFU_KNN) -> np.ndarray:
    """TIFU-KNN scores, users x items (Hu et al., 2020, "Modeling Personalized Item Frequency
    Information for Next-basket Recommendation", SIGIR).

    A user's baskets, oldest first, are cut into ``groups`` consecutive groups (each basket its own
    group when there are fewer). A group's vector is the mean of its baskets' multi-hot vectors,
    the j-th of m decayed by ``within_decay`` ** (m - 1 - j); the user's vector is the mean of the
    k group vectors, the i-th decayed by ``group_decay`` ** (k - 1 - i). The score blends the user's
    vector with the mean vector of their ``neighbours`` nearest users (Euclidean, the user left out):
    ``alpha`` * own + (1 - alpha) * neighbours.
    """
    user_code = {u: n for n, u in enumerate(users.tolist())}
    item_code = {i: n for n, i in enumerate(items.tolist())}
    baskets: dict[int, dict[int, list[int]]] = {}
    for u, p, o in zip(user.tolist(), product.tolist(), order_number.tolist()):
        baskets.setdefault(user_code[u], {}).setdefault(o, []).append(item_code[p])
    vectors = np.zeros((len(users), len(items)), dtype=np.float64)
    for u, by_order in baskets.items():
        ordered = [by_order[o] for o in sorted(by_order)]
        groups = np.array_split(np.arange(len(ordered)), min(params["groups"], len(ordered)))
        k = len(groups)
        for i, group in enumerate(groups):
            m = len(group)
            for j, b in enumerate(group.tolist()):
                weight = params["within_decay"] ** (m - 1 - j) / m * params["group_decay"] ** (k - 1 - i) / k
                vectors[u, np.unique(ordered[b])] += weight
    squared = (vectors**2).sum(axis=1)
    distance = squared[:, None] + squared[None, :] - 2 * vectors @ vectors.T
    np.fill_diagonal(distance, np.inf)
    n = min(params["neighbours"], len(users) - 1)
    nearest = np.argpartition(distance, n - 1, axis=1)[:, :n]
    mean_of = np.zeros((len(users), len(users)))
    np.put_along_axis(mean_of, nearest, 1.0 / n, axis=1)
    neighbours = mean_of @ vectors
    return params["alpha"] * vectors + (1 - params["alpha"]) * neighbours


def as_codes(ranked: dict, truth: dict, code: dict) -> tuple[np.ndarray, list[np.ndarray]]:
    """The rankings as a users x K matrix of codes (padded with -1) and each user's targets as codes."""
    extra: dict = {}

    def code_of(p):
        return code[p] if p in code else extra.setdefault(p, len(code) + len(extra))

    matrix = np.full((len(truth), K), -1, dtype=np.int64)
    for n, u in enumerate(truth):
        top = [code[p] for p in ranked.get(u, [])[:K]]
        matrix[n, : len(top)] = top
    relevant = [np.array(sorted(code_of(p) for p in wanted), dtype=np.int64) for wanted in truth.values()]
    return matrix, relevant


def window_choice(
    events: Events, order_number: np.ndarray, catalogue: CodedCatalog, config: TrainConfig
) -> buy_again_order.BuyAgainReport:
    """The recency scale chosen on each user's second-to-last order (``events``: the orders before the last)."""
    history, label = split(events.user, order_number)
    cut = np.full(len(events.user_ids), np.inf)
    np.minimum.at(cut, events.user[label], events.timestamp[label])
    found = repurchase_task.repurchases(events, np.where(np.isfinite(cut), cut, -np.inf), np.inf)
    columns = ("timestamp", "user", "item", "event", "quantity")
    past = Events(**{**vars(events), **{c: getattr(events, c)[history] for c in columns}})
    now = np.where(np.isfinite(cut), cut, 0.0)
    return buy_again_order.choose_on(past, catalogue, found, now, config, "in their second-to-last order")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=common.shared_data())
    parser.add_argument("--shapes", action="store_true", help="the synthetic shapes instead of Instacart")
    parser.add_argument("--work", type=Path, default=Path("/tmp/recsvc-buy-again-shapes"))
    args = parser.parse_args()
    if args.shapes:
        on_shapes(args.work)
        return
    user, product, order_number, times, aisle = load(args.data)
    is_train, is_test = split(user, order_number)
    events, users, items = events_of(user[is_train], product[is_train], times[is_train])
    config = TrainConfig()
    category = np.array([aisle.get(int(i), -1) for i in items], dtype=np.int32)
    n_categories = int(category.max()) + 1
    catalogue = CodedCatalog(category, np.ones(len(items), bool), np.full(n_categories, -1, np.int32))
    chosen = window_choice(events, order_number[is_train], catalogue, config)
    intervals = repurchase_intervals(events, category, n_categories, config)
    again = buy_again(events, intervals, len(users), k=1_000)
    now = dict(zip(user[is_test].tolist(), times[is_test].tolist()))
    truth: dict[int, set] = {}
    for u, p in zip(user[is_test].tolist(), product[is_test].tolist()):
        truth.setdefault(u, set()).add(p)

    served = f"buy-again now ({buy_again_order.label(chosen.recency_days)})"
    before = "buy-again before (due-ness)"
    ours: dict[str, dict] = {served: {}, before: {}}
    top_freq, tifu = {}, {}
    for code, u in enumerate(users.tolist()):
        lo, hi = again.items.indptr[code], again.items.indptr[code + 1]
        for name, recency in ((served, chosen.recency_days), (before, 0.0)):
            scored = [
                (due_score(max(0.0, (now[u] - last) / DAY), interval, count, recency), -last, int(items[i]))
                for i, last, count, interval in zip(
                    again.items.values[lo:hi],
                    again.items.scores[lo:hi],
                    again.counts[lo:hi],
                    again.interval_days[lo:hi],
                )
            ]
            ours[name][u] = [i for *_, i in sorted(scored, key=lambda s: (s[0], -s[1]), reverse=True)]
    history: dict[int, dict[int, list]] = {}
    for u, p, t in zip(user[is_train].tolist(), product[is_train].tolist(), times[is_train].tolist()):
        entry = history.setdefault(u, {}).setdefault(p, [0, 0])
        entry[0] += 1
        entry[1] = max(entry[1], t)
    for u, bought in history.items():
        top_freq[u] = sorted(bought, key=lambda p: (bought[p][0], bought[p][1]), reverse=True)
    scores = tifu_knn(user[is_train], product[is_train], order_number[is_train], users, items)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    for code, u in enumerate(users.tolist()):
        tifu[u] = items[top[code]].tolist()

    reorders = {u: w & set(top_freq.get(u, [])) for u, w in truth.items()}
    reorders = {u: w for u, w in reorders.items() if w}
    print(f"machine: {common.machine()}")
    print(f"users evaluated: {len(truth)} (held-out orders); with a re-ordered item: {len(reorders)}")
    print(
        f"items with a repurchase interval: {int(np.isfinite(intervals.days).sum())} of {len(items)} "
        f"({int(intervals.from_item.sum())} from their own repeats, the rest from their aisle)"
    )
    print(f"TIFU-KNN parameters: {TIFU_KNN} (neighbours capped at {len(users) - 1} users)")
    print(f"buy-again order, chosen on the window: {chosen.why}; every scale: {chosen.holdout_ndcg10}\n")
    code = {p: n for n, p in enumerate(items.tolist())}
    methods = {**ours, "P-TopFreq": top_freq, "TIFU-KNN": tifu}
    print(
        f"| method | targets (users) | recall@{K} | precision@{K} | hit@{K} | NDCG@{K} ± CI "
        f"| served − method, NDCG@{K} |"
    )
    print("|---|---|---:|---:|---:|---:|---|")
    verdicts = []
    for label, target in (("all", truth), ("reorders", reorders)):
        boot = metrics.Bootstrap(len(target))
        per_user = {}
        for name, ranked in methods.items():
            matrix, relevant = as_codes(ranked, target, code)
            per_user[name] = metrics.per_user(matrix, relevant, K)
        reference = per_user[served]["ndcg"]
        best = max(per_user, key=lambda n: per_user[n]["ndcg"].mean())
        for name, values in per_user.items():
            lo, hi = metrics.interval(values["ndcg"], boot)
            cell = f"{values['ndcg'].mean():.4f} ± {(hi - lo) / 2:.4f}"
            cell = f"**{cell}**" if name == best else cell
            if name == served:
                versus = "(reference)"
            else:
                d = metrics.paired(reference, values["ndcg"], boot)
                noise = " within noise" if d["within_noise"] else ""
                versus = f"{d['difference']:+.4f} [{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}]{noise}"
                word = "beats" if d["difference"] >= 0 else "trails"
                verdicts.append(
                    f"- {label}: served buy-again {word} {name} by {abs(d['difference']):.4f} NDCG@{K} "
                    f"(95% CI {d['ci'][0]:+.4f} to {d['ci'][1]:+.4f}; "
                    f"{'within noise' if d['within_noise'] else 'beyond noise'})"
                )
            print(
                f"| {name} | {label} ({len(target)}) | {values['recall'].mean():.4f} "
                f"| {values['precision'].mean():.4f} | {values['hit_rate'].mean():.4f} | {cell} | {versus} |"
            )
    print("\n" + "\n".join(verdicts))


def on_shapes(work: Path) -> None:
    """Each shape: the served order (the window's recency scale), due-ness alone and P-TopFreq on the re-purchase
    task after the evaluation's cut."""
    config = TrainConfig()
    print(f"machine: {common.machine()}")
    print(f"re-purchases within {HORIZON_DAYS:g} days after the cut (the newest 20% of events)\n")
    print(
        f"| shape (users) | order chosen | served NDCG@{K} | served − due-ness [95% CI] | served − P-TopFreq [95% CI] |"
    )
    print("|---|---|---:|---|---|")
    for name in shapes.SHAPES:
        shop = shapes.write(work / name, name)
        ds = dataset.read(dataset.Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
        s = time_split.split(ds.events, SplitBy().cutoff(ds.events))
        n_items, catalogue = len(ds.item_ids), ds.catalogue
        chosen = buy_again_order.choose(holdout.of(s.train, n_items, config), catalogue, config)
        found = repurchase_task.repurchases(ds.events, s.cutoff, HORIZON_DAYS)
        users, relevant = buy_again_order.task_matrix(found, n_items)
        now = np.full(len(ds.events.user_ids), float(s.cutoff))
        intervals = repurchase_intervals(s.train, catalogue.category, catalogue.n_categories, config)
        again = buy_again(s.train, intervals, len(ds.events.user_ids), config.buy_again_per_user)
        everything = RepurchaseIntervals(np.ones(n_items, np.float32), np.ones(n_items, bool))
        by_count = buy_again(s.train, everything, len(ds.events.user_ids), config.buy_again_per_user)
        served = buy_again_order.ndcg(again, now, chosen.recency_days, users, relevant)
        due = buy_again_order.ndcg(again, now, 0.0, users, relevant)
        top_freq = buy_again_order.ndcg_of_scores(by_count, np.zeros(len(by_count.counts)), users, relevant)
        boot = metrics.Bootstrap(len(users))
        cells = []
        for other in (due, top_freq):
            d = metrics.paired(served, other, boot)
            noise = " noise" if d["within_noise"] else ""
            cells.append(f"{d['difference']:+.4f} [{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}]{noise}")
        print(
            f"| {name} ({len(users)}) | {buy_again_order.label(chosen.recency_days)} | {served.mean():.4f} "
            f"| {cells[0]} | {cells[1]} |"
        )
        print(f"|  | why: {chosen.why} | | | |")


if __name__ == "__main__":
    main()
