"""New items and items with few events: how well their content places them, on a time split.

**The similar list's task** (``item_task.co_taken``): for a subject item X, the items the same customers took (viewed,
carted, wished for or bought) within ``CO_DAYS`` of taking X, after the cut. A list for X is scored by NDCG@10
and recall@10 against them; intervals are bootstraps over the subject items, paired between lists.

**Hidden items** (``hidden_items``): all events before the cut of a random tenth of the items are hidden, as if
they had arrived at the cut with their catalog row only. Each is answered as the service answers an item added
by ``recsvc catalog update`` (``served``): in the order the trainer chooses on the train half's own newest window
(``training/lists/content_order.py``, which never sees the period after the cut), its content neighbours among
the other available items, then its category's best-sellers, then the shop's; or its category's best-sellers; or
the shop's best-sellers.
Beside it, content at the fixed ``POPULARITY_WEIGHT``, its category's best-sellers alone and the shop's
best-sellers (what an unknown item got before).

**The tail blend** (``tail_blend``): the similar lists of the trained model with content mixed in at several
``TAIL_SHRINK`` values, scored for items by how many events they had before the cut.
"""

from dataclasses import dataclass, replace

import numpy as np

from recsvc.contract.content import BY_CONTENT, BY_SHOP
from training import pipeline
from training.config import TrainConfig
from training.evaluation import metrics
from training.evaluation.split import Split
from training.inputs.dataset import Dataset
from training.inputs.readers import Events
from training.lists import candidates, content, content_order, holdout
from training.lists.item_task import ItemTask, K, co_taken, filled
from training.lists.item_task import category_fill as _category_list
from training.ragged import Ragged

HIDDEN_SHARE = 0.1
"""The share of the items whose history before the cut is hidden."""
SHRINKS = (0.0, 3.0, 10.0, 30.0, 100.0)
"""The ``TAIL_SHRINK`` values the tail blend is measured at (0: the collaborative lists alone)."""
EVENT_BANDS = ((0, 4), (5, 19), (20, 10**12))
"""Subject items by their events before the cut: the tail, the middle, the rich."""


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
    # the order the trainer chooses on the train half's own newest window (the hidden items' events left out)
    window = holdout.of(train, n_items, TrainConfig())
    choice = content_order.choose(window, replace(data, events=train), unit)
    served_fill = [overall] * len(task.subjects) if choice.order == BY_SHOP else category_fill
    if choice.order == BY_CONTENT:
        chosen = content.neighbours(unit, task.subjects, eligible, events, popularity_weight=choice.popularity_weight)
        served = [chosen.row(x)[0] for x in task.subjects]
    else:
        served = [np.zeros(0, np.int64)] * len(task.subjects)
    ranked = {
        "served": filled(served, served_fill, task.subjects),
        "content": filled([near.row(x)[0] for x in task.subjects], category_fill, task.subjects),
        "category_best_sellers": filled([np.zeros(0, np.int64)] * len(task.subjects), category_fill, task.subjects),
        "best_sellers": filled([overall] * len(task.subjects), [overall] * len(task.subjects), task.subjects),
    }
    return {"hidden_items": len(hidden), "choice": choice.to_dict(), **scored(ranked, task, "category_best_sellers")}


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
