"""New items and items with few events: how well their content places them, on a time split.

**The similar list's task** (``co_taken``): for a subject item X, the items the same customers took (viewed,
carted, wished for or bought) within ``CO_DAYS`` of taking X, after the cut. A list for X is scored by NDCG@10
and recall@10 against them; intervals are bootstraps over the subject items, paired between lists.

**Hidden items** (``hidden_items``): all events before the cut of a random tenth of the items are hidden, as if
they had arrived at the cut with their catalog row only. Each is answered as the service answers an item added
by ``recsvc catalog update``: its content neighbours among the other available items, then its category's
best-sellers, then the shop's. Beside it, its category's best-sellers alone (the fallback where content is
unknown) and the shop's best-sellers (what an unknown item got before).

**The tail blend** (``tail_blend``): the similar lists of the trained model with content mixed in at several
``TAIL_SHRINK`` values, scored for items by how many events they had before the cut.
"""

from dataclasses import dataclass, replace

import numpy as np

from recsvc.contract.units import DAY
from training import pipeline, sorted_keys
from training.config import TrainConfig
from training.evaluation import metrics
from training.evaluation.split import Split
from training.inputs.dataset import Dataset
from training.inputs.readers import Events
from training.lists import candidates, content
from training.ragged import Ragged

CO_DAYS = 7.0
CHANCE_Z = 2.0
"""Items taken this close to the subject by the same customer (either side) count as taken with it."""
HIDDEN_SHARE = 0.1
"""The share of the items whose history before the cut is hidden."""
K = 10
SHRINKS = (0.0, 3.0, 10.0, 30.0, 100.0)
"""The ``TAIL_SHRINK`` values the tail blend is measured at (0: the collaborative lists alone)."""
EVENT_BANDS = ((0, 4), (5, 19), (20, 10**12))
"""Subject items by their events before the cut: the tail, the middle, the rich."""


@dataclass
class ItemTask:
    """Subject items and, per subject, the items taken with it after the cut."""

    subjects: np.ndarray
    relevant: list[np.ndarray]


def co_taken(
    after: Events, n_items: int, subjects: np.ndarray | None = None, days: float = CO_DAYS, beyond: bool = True
) -> ItemTask:
    """The similar list's task over the events after the cut (``subjects``: the items to score, default all).

    With ``beyond`` (the task's default), an item counts for X only where X's customers took it more often than
    customers at large did, by ``CHANCE_Z`` standard errors: the shop's staples, taken with anything, are no
    item like X (the also-bought task's rule, ``training/lists/use_tasks.py``)."""
    order = np.lexsort((after.timestamp, after.user))
    user, item, ts = after.user[order].astype(np.int64), after.item[order].astype(np.int64), after.timestamp[order]
    ends = np.searchsorted(user, user, "right")
    xs, ys, us = [], [], []
    for shift in range(1, int(np.max(ends - np.arange(len(user)), initial=1))):  # each later event of the user
        j = np.arange(len(user)) + shift
        ok = j < ends
        ok[ok] &= (ts[j[ok]] - ts[ok]) <= days * DAY
        if not ok.any():
            break
        a, b = item[ok], item[j[ok]]
        xs += [a, b]
        ys += [b, a]
        us += [user[ok], user[ok]]
    x, y, u = (np.concatenate(p) if p else np.zeros(0, np.int64) for p in (xs, ys, us))
    triples = sorted_keys.unique((u * n_items + x)[x != y] * n_items + y[x != y])  # (user, X, Y) once each
    pairs, co = np.unique(triples % (n_items * n_items), return_counts=True)
    x, y = pairs // n_items, pairs % n_items
    takers = np.bincount(sorted_keys.unique(user * n_items + item) % n_items, minlength=n_items).astype(np.float64)
    if beyond:
        base = takers / max(len(np.unique(user)), 1)
        p, n = base[y], np.maximum(takers[x], 1)
        keep = co / n - p - CHANCE_Z * np.sqrt(p * (1 - p) / n) > 0
        x, y = x[keep], y[keep]
    wanted = np.unique(x) if subjects is None else np.intersect1d(np.unique(x), subjects)
    lows, highs = np.searchsorted(x, wanted), np.searchsorted(x, wanted, "right")  # pairs are sorted by subject
    return ItemTask(wanted, [y[lo:hi] for lo, hi in zip(lows, highs)])


def filled(lists: list[np.ndarray], fills: list[np.ndarray], blocked: np.ndarray, k: int = K) -> np.ndarray:
    """subjects x k: each subject's list, then its fill items (in order), no repeats, never the subject itself."""
    out = np.full((len(lists), k), -1, np.int64)
    for n, (own, fill) in enumerate(zip(lists, fills)):
        seen: list[int] = []
        for i in np.concatenate((own, fill)).tolist():
            if i != blocked[n] and i not in seen:
                seen.append(i)
                if len(seen) == k:
                    break
        out[n, : len(seen)] = seen
    return out


def scored(ranked: dict[str, np.ndarray], task: ItemTask, reference: str) -> dict:
    """NDCG@K and recall@K of each list (with intervals over the subjects) and each minus the reference."""
    boot = metrics.Bootstrap(len(task.subjects))
    values = {name: metrics.per_user(r, task.relevant, K) for name, r in ranked.items()}
    out: dict = {"subjects": len(task.subjects), "lists": {}}
    for name, v in values.items():
        wanted = {f"ndcg@{K}": v["ndcg"], f"recall@{K}": v["recall"]}
        out["lists"][name] = {
            **{m: round(float(x.mean()), 5) if len(x) else 0.0 for m, x in wanted.items()},
            "ci": metrics.intervals(wanted, boot),
        }
        if name != reference:  # this list's NDCG minus the reference's, subject by subject
            out["lists"][name]["minus_reference"] = metrics.paired(v["ndcg"], values[reference]["ndcg"], boot)
    return out


def hidden_items(
    data: Dataset,
    s: Split,
    share: float = HIDDEN_SHARE,
    seed: int = 0,
    beyond: bool = True,
    weight: float | None = None,
) -> dict:
    """Content neighbours of items whose history before the cut is hidden, against their category's and the
    shop's best-sellers, on what the same customers took with them after the cut."""
    n_items = len(data.item_ids)
    hidden = np.sort(np.random.default_rng(seed).choice(n_items, int(round(share * n_items)), replace=False))
    is_hidden = np.zeros(n_items, bool)
    is_hidden[hidden] = True
    train = _without(s.train, is_hidden)
    events = np.bincount(train.item, minlength=n_items).astype(np.float64)
    catalogue = data.catalogue
    task = co_taken(s.test, n_items, hidden, beyond=beyond)
    unit = content.vectors(data.attrs, data.category_ids, catalogue)
    # neighbours among the items the trained model knows by events: an item first seen after the cut has a code
    # that tells when it came (codes follow the events), which no served list may lean on
    eligible = catalogue.available & ~is_hidden & (events > 0)
    near = content.neighbours(unit, task.subjects, eligible, events, popularity_weight=weight)
    popular, per_category = _best_sellers(events, catalogue, eligible)
    overall = popular.row(0)[0]
    category_fill = [_category_list(per_category, catalogue.category[x], overall) for x in task.subjects]
    ranked = {
        "content": filled([near.row(x)[0] for x in task.subjects], category_fill, task.subjects),
        "category_best_sellers": filled([np.zeros(0, np.int64)] * len(task.subjects), category_fill, task.subjects),
        "best_sellers": filled([overall] * len(task.subjects), [overall] * len(task.subjects), task.subjects),
    }
    return {"hidden_items": len(hidden), **scored(ranked, task, "category_best_sellers")}


def tail_blend(data: Dataset, s: Split, config: TrainConfig, shrinks: tuple[float, ...] = SHRINKS) -> dict:
    """The trained model's similar lists with content mixed in at each shrink, by the subjects' events."""
    n_items = len(data.item_ids)
    train_data = replace(data, events=s.train)
    fitted = pipeline.fit(train_data, replace(config, content_shrink=0.0))  # the collaborative lists alone
    events = np.bincount(s.train.item, minlength=n_items).astype(np.float64)
    catalogue = data.catalogue
    task = co_taken(s.test, n_items)
    unit = content.vectors(data.attrs, data.category_ids, catalogue)
    near = content.neighbours(unit, task.subjects, catalogue.available, events, config.neighbours_per_item)
    overall = fitted.popular.row(0)[0]
    fill = [_category_list(fitted.popular_in, catalogue.category[x], overall) for x in task.subjects]
    out: dict = {}
    for lo, hi in EVENT_BANDS:
        inside = (events[task.subjects] >= lo) & (events[task.subjects] <= hi)
        band = ItemTask(task.subjects[inside], [r for r, keep in zip(task.relevant, inside) if keep])
        band_fill = [f for f, keep in zip(fill, inside) if keep]
        ranked = {}
        for shrink in shrinks:
            lists = content.blended(
                fitted.similar, near, content.tail_weights(events, shrink), config.neighbours_per_item
            )
            ranked[f"shrink {shrink:g}"] = filled([lists.row(x)[0] for x in band.subjects], band_fill, band.subjects)
        ranked["category_best_sellers"] = filled([np.zeros(0, np.int64)] * len(band.subjects), band_fill, band.subjects)
        out[f"{lo}-{hi if hi < 10**12 else ''}"] = scored(ranked, band, "shrink 0")
    return out


def _without(events: Events, hidden: np.ndarray) -> Events:
    keep = ~hidden[events.item]
    columns = ("timestamp", "user", "item", "event", "quantity")
    return replace(events, **{c: getattr(events, c)[keep] for c in columns})


def _best_sellers(events: np.ndarray, catalogue, eligible: np.ndarray) -> tuple[Ragged, Ragged]:
    """The shop's and each category's best-sellers by events, as the trainer's popular lists are cut."""

    @dataclass
    class _Counts:
        popularity: np.ndarray

    masked = replace(catalogue, available=eligible)
    return candidates.popular(_Counts(events), masked, 100)  # type: ignore[arg-type]


def _category_list(per_category: Ragged, category: int, overall: np.ndarray) -> np.ndarray:
    """A category's best-sellers, then the shop's (the service's fill of an item's list)."""
    own = per_category.row(category)[0] if category >= 0 else np.zeros(0, np.int64)
    return np.concatenate((own, overall))
