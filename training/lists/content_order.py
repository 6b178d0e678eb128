"""How a new item's own list is ordered, chosen per shop on its newest window: content or its category.

An item added by ``recsvc catalog update`` has no events; its list (``similar``, ``also-bought``) is its content
neighbours lifted by their events (``content.NewItemsOrder``: a popularity weight), then its category's
best-sellers; or its category's best-sellers alone. Which one serves a shop better depends on what its catalog
text says, so the window decides, on the task of the list's use (``item_task.py``): a random ``HIDDEN_SHARE`` of
the items with events before the window lose them, as if they arrived at its start with their catalog row only;
each order's list for each of them is scored against what the same customers took with it in the window.

Two orders contend with the category's best-sellers: content at the best of ``WEIGHTS`` and the shop's best-sellers
(a grocery's staples are taken with anything new). Each is chosen only where it beats the category's best-sellers
by ``MARGIN_Z`` standard errors of the paired difference; where both do, the one with the higher mean. The simple
rule is kept wherever neither text nor the staples carry the signal.
"""

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from recsvc.contract.content import BY_CATEGORY, BY_CONTENT, BY_SHOP, POPULARITY_WEIGHT
from training.catalogue import CodedCatalog
from training.inputs.dataset import Dataset
from training.inputs.readers import Events
from training.lists import content, item_task
from training.lists.holdout import Holdout
from training.ragged import top_per_row

HIDDEN_SHARE = 0.1
"""The share of the items with events before the window whose events are hidden."""
WEIGHTS = (0.0, 1.0, 2.0, 4.0)
"""The popularity weights tried for the content neighbours (0: content alone)."""
MARGIN_Z = 1.0
"""Standard errors of the paired NDCG difference by which content must beat the category's best-sellers."""
MIN_SUBJECTS = 30
"""Hidden items taken with others in the window a choice needs."""
REACH = 50
"""Later events of a customer paired with each (the task's cost on customers with very many)."""
BEST_SELLERS = 100


@dataclass
class NewItemsReport:
    """The order chosen for new items' lists, and the figures it was chosen on (the summary's
    ``new_items_order``)."""

    order: str
    popularity_weight: float
    why: str
    subjects: int = 0
    holdout_ndcg10: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def fixed(order: str, why: str) -> NewItemsReport:
    """An order set, not chosen."""
    return NewItemsReport(order, POPULARITY_WEIGHT, why)


def choose(hold: Holdout | None, data: Dataset, unit, seed: int = 0) -> NewItemsReport:
    """The order the window bears out (``unit``: the items' content vectors, ``content.vectors``)."""
    if unit.shape[1] == 0:
        return fixed(BY_CATEGORY, "the catalog gives no content (no titles, attributes or category tree)")
    if hold is None:
        return fixed(BY_CATEGORY, "the history is shorter than the label window")
    n_items = len(data.item_ids)
    events = np.bincount(hold.past.item, minlength=n_items).astype(np.float64)
    seen = np.flatnonzero(events > 0)
    rng = np.random.default_rng(seed)
    hidden = np.zeros(n_items, bool)
    hidden[rng.choice(seen, int(round(HIDDEN_SHARE * len(seen))), replace=False)] = True
    events[hidden] = 0
    window = hold.events.timestamp >= hold.cut
    task = item_task.co_taken(_rows(hold.events, window), n_items, np.flatnonzero(hidden), reach=REACH)
    if len(task.subjects) < MIN_SUBJECTS:
        why = f"{len(task.subjects)} hidden items were taken with others in the window (a choice needs {MIN_SUBJECTS})"
        return NewItemsReport(BY_CATEGORY, POPULARITY_WEIGHT, why, int(len(task.subjects)))
    catalogue = data.catalogue
    eligible = catalogue.available & ~hidden & (events > 0)
    fill, overall = _category_fills(events, catalogue, eligible, task.subjects)
    none = [np.zeros(0, np.int64)] * len(fill)
    scores = {
        BY_CATEGORY: item_task.ndcg(item_task.filled(none, fill, task.subjects), task.relevant),
        BY_SHOP: item_task.ndcg(item_task.filled(none, [overall] * len(fill), task.subjects), task.relevant),
    }
    for weight in WEIGHTS:
        near = content.neighbours(unit, task.subjects, eligible, events, popularity_weight=weight)
        lists = [near.row(x)[0] for x in task.subjects]
        scores[_named(weight)] = item_task.ndcg(item_task.filled(lists, fill, task.subjects), task.relevant)
    weight = max(WEIGHTS, key=lambda w: (scores[_named(w)].mean(), -w))
    figures = {name: round(float(v.mean()), 4) for name, v in scores.items()}
    content_gain, content_versus = _versus(scores, _named(weight), f"content at popularity weight {weight:g}")
    shop_gain, shop_versus = _versus(scores, BY_SHOP, "the shop's best-sellers")
    versus = f"{content_versus}; {shop_versus}; on {len(shop_gain)} hidden items"
    # each contender on the margin rule; of those that pass, the higher mean (content on a tie)
    passed = [(gain.mean(), name) for gain, name in ((content_gain, BY_CONTENT), (shop_gain, BY_SHOP)) if _beats(gain)]
    if not passed:
        why = f"the category's best-sellers: neither content nor the shop's beat them by {MARGIN_Z:g} s.e. ({versus})"
        return NewItemsReport(BY_CATEGORY, weight, why, len(shop_gain), figures)
    chosen = max(passed, key=lambda p: (p[0], p[1] == BY_CONTENT))[1]
    what = "content" if chosen == BY_CONTENT else "the shop's best-sellers"
    return NewItemsReport(
        chosen, weight, f"{what} beat the category's best-sellers ({versus})", len(shop_gain), figures
    )


def _versus(scores: dict[str, np.ndarray], name: str, label: str) -> tuple[np.ndarray, str]:
    """A contender's NDCG@10 minus the category's best-sellers', subject by subject, and how it reads."""
    gain = scores[name] - scores[BY_CATEGORY]
    return gain, (
        f"NDCG@10 {scores[name].mean():.4f} for {label} against {scores[BY_CATEGORY].mean():.4f}, difference "
        f"{gain.mean():+.4f} ± {_standard_error(gain):.4f} (1 s.e.)"
    )


def _beats(gain: np.ndarray) -> bool:
    """Whether a contender beats the category's best-sellers by ``MARGIN_Z`` standard errors."""
    return bool(gain.mean() > MARGIN_Z * _standard_error(gain))


def _standard_error(gain: np.ndarray) -> float:
    """The standard error of the mean of a paired difference."""
    return float(gain.std(ddof=1) / np.sqrt(len(gain)))


def _named(weight: float) -> str:
    """The figures' name of content at a popularity weight."""
    return f"{BY_CONTENT} {weight:g}"


def _rows(events: Events, keep: np.ndarray) -> Events:
    columns = ("timestamp", "user", "item", "event", "quantity")
    return replace(events, **{c: getattr(events, c)[keep] for c in columns})


def _category_fills(
    events: np.ndarray, catalogue: CodedCatalog, eligible: np.ndarray, subjects: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """Each subject's category's best-sellers by events (children included), then the shop's; and the shop's."""
    weight = np.where(eligible, events, 0).astype(np.float32)
    items = np.flatnonzero(weight > 0)
    overall = top_per_row(np.zeros(len(items), np.int64), items, weight[items], 1, BEST_SELLERS).row(0)[0]
    member = catalogue.membership()[items].tocoo()
    per_category = top_per_row(
        member.col, items[member.row], weight[items[member.row]], catalogue.n_categories, BEST_SELLERS
    )
    return [item_task.category_fill(per_category, catalogue.category[x], overall) for x in subjects.tolist()], overall
