"""One evaluation run: split the events, fit every model on the train half, score the test half."""

import logging
import time
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp

from training import sorted_keys
from training.config import TrainConfig
from training.evaluation import baselines, metrics, next_day
from training.evaluation.served import ServedModel
from training.evaluation.split import Split, Task, task_of
from training.inputs.dataset import Dataset
from training.inputs.readers import ADDTOCART, PURCHASE, VIEW, WISHLIST, Events
from training.interactions import build as build_interactions
from training.interactions import clock
from training.lists import buy_again_order, offers_order, repurchase_task, use_tasks
from training.lists.retention import RepurchaseIntervals, buy_again, repurchase_intervals
from training.private_redis import private_redis

log = logging.getLogger(__name__)

KS = (5, 10, 20)
TARGETS = {
    "purchase": (PURCHASE,),
    "purchase_or_cart": (PURCHASE, ADDTOCART),
    "any": (VIEW, ADDTOCART, PURCHASE, WISHLIST),
}
"""What counts as a user taking a recommendation: their next purchases, purchases and carts, or any event
(for samples with too few buyers to measure)."""
NEW_ITEM_TASKS = {"purchase_new": (PURCHASE,)}
"""Next purchases of items new to the user: nothing they viewed, carted, wished for or bought before the cutoff."""
TASK_ORDER = ("purchase", "purchase_new", "purchase_or_cart", "any")
REFERENCE = "als_served"
"""The model every other one is compared with, user by user (else the first configuration)."""
PAIRED_METRIC = "ndcg@10"
ACTIVITY_BUCKETS = ((1, 1), (2, 4), (5, 19), (20, None))
"""Users grouped by their distinct train items, for the metric-by-activity plot."""
SCORE_BATCH = 512


@dataclass
class Results:
    """Metrics by task and model, and what they were measured on."""

    split: dict
    tasks: dict[str, dict] = field(default_factory=dict)  # task -> {"users": n, "models": {name: metrics}}
    activity: dict[str, dict] = field(default_factory=dict)  # task -> model -> bucket -> ndcg@10
    timings_s: dict[str, float] = field(default_factory=dict)
    orders: dict[str, dict] = field(default_factory=dict)  # served configuration -> the orders its run chose

    def to_dict(self) -> dict:
        return {
            "split": self.split,
            "tasks": self.tasks,
            "activity": self.activity,
            "timings_s": self.timings_s,
            "orders": self.orders,
        }


def pick_tasks(s: Split, n_items: int) -> dict[str, Task]:
    """Per target, users with train history and at least one new item of the target's events after the cutoff.

    Items a user bought before the cutoff are left out of what they go on to take: picks never offer them.
    ``purchase_new`` leaves out every item the user had any event with before the cutoff.
    """
    train, test = s.train, s.test
    n_users = len(train.user_ids)
    had = np.zeros(n_users, dtype=bool)
    had[train.user] = True
    bought = _pairs(train.user[train.event == PURCHASE], train.item[train.event == PURCHASE], n_items)
    seen = _pairs(train.user, train.item, n_items)
    targets = {name: (codes, bought) for name, codes in TARGETS.items()}
    targets |= {name: (codes, seen) for name, codes in NEW_ITEM_TASKS.items()}
    tasks = {}
    for name in TASK_ORDER:
        codes, known = targets[name]
        mask = np.isin(test.event, codes) & had[test.user]
        keys = sorted_keys.unique(test.user[mask].astype(np.int64) * n_items + test.item[mask])
        keys = keys[~sorted_keys.member(keys, known)]
        tasks[name] = task_of(keys, n_items)
    return tasks


def also_bought_task(s: Split, n_items: int, config: TrainConfig | None = None) -> use_tasks.AlsoBoughtTask:
    """The also-bought use task of the split (``use_tasks.also_bought_task``): per subject item bought by enough
    customers, the lift of what its buyers bought new within the horizon after it."""
    config = config or TrainConfig()
    return use_tasks.also_bought_task(
        s.train, s.test, s.cutoff, n_items, config.also_bought_horizon_days, config.also_bought_task_min_buyers
    )


def category_task(s: Split, category: np.ndarray) -> Task:
    """Users with events before the cutoff who buy after it in a category they never bought from before; relevant:
    those categories (each item's own). Category offers put the categories a user is drawn to and never bought
    from above all others: this is what they are for (``offers_order.new_category_purchases``)."""
    n_categories = int(category.max(initial=-1)) + 1
    counted = np.ones(len(s.test.event), bool)
    return task_of(offers_order.new_category_purchases(s.train, s.test, counted, category, n_categories), n_categories)


def buy_again_task(s: Split, n_items: int) -> Task:
    """Users who buy again after the cutoff items they bought before it; relevant: those items
    (``repurchase_task.repurchases``). What buy-again lists are for."""
    train, test = s.train, s.test
    both = replace(
        train,
        timestamp=np.concatenate((train.timestamp, test.timestamp)),
        user=np.concatenate((train.user, test.user)),
        item=np.concatenate((train.item, test.item)),
        event=np.concatenate((train.event, test.event)),
        quantity=np.concatenate((train.quantity, test.quantity)),
    )
    return task_of(repurchase_task.repurchases(both, s.cutoff, np.inf), n_items)


def _pairs(users, items, n_items) -> np.ndarray:
    return sorted_keys.unique(users.astype(np.int64) * n_items + items)


def rank(scorer: baselines.Scorer, users: np.ndarray, blocked: sp.csr_matrix, hidden: np.ndarray, k: int) -> np.ndarray:
    """Each user's top k items by the scorer, without their blocked items or hidden items."""
    out = np.full((len(users), k), -1, dtype=np.int64)
    for start in range(0, len(users), SCORE_BATCH):
        batch = users[start : start + SCORE_BATCH]
        scores = np.asarray(scorer.scores(batch), dtype=np.float32)
        rows = blocked[batch].tocoo()
        scores[rows.row, rows.col] = -np.inf
        scores[:, hidden] = -np.inf
        width = min(k, scores.shape[1])
        top = np.argpartition(-scores, width - 1, axis=1)[:, :width]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top[~np.isfinite(np.take_along_axis(scores, top, axis=1))] = -1
        out[start : start + len(batch), :width] = top
    return out


def activity_of(train: Events, n_items: int) -> np.ndarray:
    """Distinct train items per user."""
    pairs = sorted_keys.unique(train.user.astype(np.int64) * n_items + train.item)
    return np.bincount(pairs // n_items, minlength=len(train.user_ids))


def by_activity(ndcg: np.ndarray, activity: np.ndarray) -> dict[str, float | None]:
    out = {}
    for lo, hi in ACTIVITY_BUCKETS:
        label = f"{lo}" if lo == hi else (f"{lo}+" if hi is None else f"{lo}-{hi}")
        inside = (activity >= lo) & (activity <= (hi if hi is not None else activity.max(initial=0)))
        out[label] = round(float(ndcg[inside].mean()), 5) if inside.any() else None
    return out


def evaluate(
    s: Split,
    data: Dataset,
    configs: dict[str, TrainConfig],
    scorers: list[baselines.Scorer] | None = None,
    view_variants: bool = True,
    rules: dict[str, object] | None = None,
) -> Results:
    """Every served configuration and every baseline on the same split, at every K, for every task.

    Each configuration is trained on the train half, published into a private Redis and asked
    through the service's read path (``ServedModel``), under its merchandising ``rules`` if any
    (configuration name -> rule objects); baselines score the same train half."""
    catalogue = data.catalogue
    n_items = len(catalogue.category)
    results = Results(split=s.describe())
    tasks = pick_tasks(s, n_items)
    also = also_bought_task(s, n_items, next(iter(configs.values()), None))
    ranked_also: dict[str, np.ndarray] = {}
    tasks["category_offers"] = category_task(s, catalogue.category)
    tasks["buy_again"] = buy_again_task(s, n_items)
    live = next_day.next_day(s, n_items)
    ranked_live: dict[str, dict[str, np.ndarray]] = {}
    k = max(KS)
    activity = activity_of(s.train, n_items)
    hidden = np.flatnonzero(~catalogue.available)
    ranked: dict[str, dict[str, np.ndarray]] = {name: {} for name in tasks}
    train = replace(data, events=s.train)
    inter = None
    if configs:
        with private_redis() as r:
            for n, (name, config) in enumerate(configs.items()):
                started = time.perf_counter()
                model = ServedModel(r, train, config, (rules or {}).get(name))
                inter = inter or model.inter  # the baselines get the first model's weighted matrix
                results.orders[name] = model.orders
                ranked_also[name] = model.also_bought(also.subjects, None, k)
                for task_name, task in tasks.items():
                    if task_name == "category_offers":
                        ranked[task_name][name] = model.category_offers(task.users, k)
                        continue
                    if task_name == "buy_again":
                        ranked[task_name][name] = model.buy_again(task.users, k)
                        continue
                    ranked[task_name][name] = model.picks(task.users, k)
                    if n == 0 and view_variants:  # the served picks re-offering every viewed item, and none
                        ranked[task_name][f"{name}_all_views"] = model.picks(task.users, k, include_viewed=True)
                        ranked[task_name][f"{name}_no_views"] = model.picks(task.users, k, include_viewed=False)
                if n == 0:  # the first day's events posted: the served picks beside the stored ones
                    ranked_live = next_day.ranked(r, model, live, k, name)
                results.timings_s[name] = round(time.perf_counter() - started, 2)
    if inter is None:  # no served model: the default weighting
        inter = build_interactions(s.train, TrainConfig(), n_items=n_items)
    blocked = (inter.purchases > 0).tocsr()
    for scorer in scorers if scorers is not None else baselines.default_baselines():
        started = time.perf_counter()
        try:
            scorer.fit(inter)
        except MemoryError:
            log.warning("%s skipped: not enough memory", scorer.name)
            continue
        for task_name, task in tasks.items():
            if task_name in ("category_offers", "buy_again"):
                continue
            ranked[task_name][scorer.name] = rank(scorer, task.users, blocked, hidden, k)
        results.timings_s[scorer.name] = round(time.perf_counter() - started, 2)
    ranked_also.update(_item_baselines(inter, also.subjects, hidden, k))
    ranked["category_offers"].update(_category_baselines(inter, tasks["category_offers"], catalogue, k))
    ranked["buy_again"].update(_buy_again_baselines(s.train, catalogue, tasks["buy_again"], k))
    reference = REFERENCE if REFERENCE in configs else next(iter(configs), None)
    for task_name, task in tasks.items():
        counted = catalogue.n_categories if task_name == "category_offers" else n_items
        results.tasks[task_name] = measure(ranked[task_name], task, counted, reference)
        results.activity[task_name] = (
            {
                name: by_activity(metrics.per_user(r, task.relevant, 10)["ndcg"], activity[task.users])
                for name, r in ranked[task_name].items()
            }
            if len(task.users)
            else {}
        )
    results.tasks["also_bought"] = measure_also_bought(ranked_also, also, reference)
    for task_name, models in ranked_live.items():
        results.tasks[task_name] = measure(models, live.tasks[task_name], n_items, next(iter(configs)))
    return results


def measure(ranked: dict[str, np.ndarray], task: Task, n_items: int, reference: str | None) -> dict:
    """One task's metrics by model, their bootstrap intervals over users, and each model against the reference.

    ``versus`` holds, for every other model, the mean per-user difference reference - model on
    ``PAIRED_METRIC`` with its interval: positive means the reference is better."""
    boot = metrics.Bootstrap(len(task.users))
    models, bounds, values = {}, {}, {}
    for name, r in ranked.items():
        values[name] = metrics.per_user_at(r, task.relevant, KS)
        models[name] = metrics.summary(r, task.relevant, KS, n_items)
        bounds[name] = metrics.intervals(values[name], boot)
    out = {"users": len(task.users), "models": models, "intervals": bounds}
    if reference in values:
        out["versus"] = _versus(values, reference, boot)
    return out


def _versus(values: dict[str, dict[str, np.ndarray]], reference: str, boot: metrics.Bootstrap) -> dict:
    """Each model against the reference on ``PAIRED_METRIC``: the mean per-user (or per-subject) difference
    reference - model with its bootstrap interval."""
    mine = values[reference][PAIRED_METRIC]
    return {
        "reference": reference,
        "metric": PAIRED_METRIC,
        "models": {
            name: metrics.paired(mine, v[PAIRED_METRIC], boot) for name, v in values.items() if name != reference
        },
    }


def _category_baselines(inter, task: Task, catalogue, k) -> dict[str, np.ndarray]:
    """Category offers' alternatives: the categories most bought from; the user's own, by the weight of their
    events (what they looked at most) or by their purchases, the most bought from after them."""
    leaf = catalogue.leaf()
    popular = np.asarray((inter.purchases > 0).sum(axis=0)).ravel() @ leaf
    order = np.argsort(-popular, kind="stable")[:k]
    out = {"popular_categories": np.tile(order, (len(task.users), 1))}
    for name, m in (("own_categories", inter.strength), ("bought_categories", inter.purchases)):
        mine = (m[task.users] @ leaf).toarray() if len(task.users) else np.zeros((0, leaf.shape[1]))
        top = np.maximum(mine.max(axis=1, keepdims=True, initial=0), 1e-12)
        score = np.where(mine > 0, 2 + mine / top, popular / (popular.max(initial=0) + 1))  # the user's own first
        out[name] = np.argsort(-score, axis=1, kind="stable")[:, :k]
    return out


def _buy_again_baselines(train: Events, catalogue, task: Task, k: int) -> dict[str, np.ndarray]:
    """Buy-again's alternatives, from the train half at the cutoff: the fixed due-ness order of the same lists, and
    P-TopFreq (every item the user bought, most often bought first, then the most recent)."""
    config = TrainConfig()
    n_users, n_items = len(train.user_ids), len(train.item_ids)
    intervals = repurchase_intervals(train, catalogue.category, catalogue.n_categories, config)
    lists = buy_again(train, intervals, n_users, config.buy_again_per_user)
    every_item = RepurchaseIntervals(np.ones(n_items, np.float32), np.ones(n_items, bool))
    by_count = buy_again(train, every_item, n_users, config.buy_again_per_user)
    now = np.full(n_users, float(clock(train.timestamp)))  # the model's "now", as the service's
    due = buy_again_order.scores(lists, now, buy_again_order.FIXED)
    return {
        "due_ness": _top_of(lists, due, task.users, k),
        "p_top_freq": _top_of(by_count, np.zeros(len(by_count.counts)), task.users, k),
    }


def _top_of(lists, score: np.ndarray, users: np.ndarray, k: int) -> np.ndarray:
    """users x k: each user's entries of ``lists`` (``retention.BuyAgain``) by ``score``, ties in the list's order."""
    out = np.full((len(users), k), -1, dtype=np.int64)
    for row, user in enumerate(users.tolist()):
        lo, hi = lists.items.indptr[user], lists.items.indptr[user + 1]
        top = lists.items.values[lo:hi][np.argsort(-score[lo:hi], kind="stable")[:k]]
        out[row, : len(top)] = top
    return out


def measure_also_bought(ranked: dict[str, np.ndarray], task: use_tasks.AlsoBoughtTask, reference: str | None) -> dict:
    """The also-bought use task's figures by model, as ``measure`` gives a task's: NDCG at each K against the lift
    of what the subject's buyers bought new (``use_tasks.ndcg_graded``), the other metrics of the items that gain
    (as binary), over the subject items, with bootstrap intervals and each model against the reference."""
    n_items = task.gains.shape[1]
    boot = metrics.Bootstrap(len(task))
    gaining = (task.gains > 0).tocsr()
    relevant = [gaining.indices[gaining.indptr[r] : gaining.indptr[r + 1]] for r in range(len(task))]
    models, bounds, values = {}, {}, {}
    for name, r in ranked.items():
        scores = use_tasks.ranked_scores(r, n_items)
        values[name] = metrics.per_user_at(r, relevant, KS)  # of the items that gain, as binary
        values[name] |= {f"ndcg@{k}": use_tasks.ndcg_graded(scores, task.gains, k) for k in KS}  # graded
        models[name] = metrics.summary(r, relevant, KS, n_items)
        models[name] |= {m: round(float(v.mean()), 5) if len(v) else 0.0 for m, v in values[name].items()}
        bounds[name] = metrics.intervals(values[name], boot)
    out = {"users": len(task), "subjects": len(task), "customers": task.customers, "models": models}
    out["intervals"] = bounds
    if reference in values:
        out["versus"] = _versus(values, reference, boot)
    return out


def _item_baselines(inter, subjects: np.ndarray, hidden, k) -> dict[str, np.ndarray]:
    """Also-bought alternatives: popular items, item-kNN neighbours of the subject (cosine and BM25 of every
    event), and co-purchase cosine (item-kNN cosine of who bought each item)."""
    out: dict[str, np.ndarray] = {}
    if not len(subjects):
        return out
    n_items = inter.strength.shape[1]
    subject = sp.csr_matrix(
        (np.ones(len(subjects), np.float32), (np.arange(len(subjects)), subjects)), shape=(len(subjects), n_items)
    )
    bought = SimpleNamespace(strength=(inter.purchases > 0).astype(np.float32).tocsr())
    index = np.arange(len(subjects))
    copurchase = baselines.ItemKNN("cosine")
    copurchase.name = "copurchase_cosine"
    for scorer, of in (
        (baselines.Popular(), inter),
        (baselines.ItemKNN("cosine"), inter),
        (baselines.ItemKNN("bm25"), inter),
        (copurchase, bought),
    ):
        scorer.fit(of)
        if isinstance(scorer, baselines.ItemKNN):
            scorer.history = subject  # neighbours of the subject item alone
        out[scorer.name] = rank(scorer, index, subject, hidden, k)
    return out
