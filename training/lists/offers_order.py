"""Which categories open a user's category offers, chosen on the shop's newest window.

By default the user's own categories open them: those viewed and never bought from, then those of their
affinity (``candidates.category_offers``); the categories of the shop's best-sellers fill the rest. Where
views say little about what customers buy next, or a grocer's customers try new aisles by what everyone
buys, the best-sellers' categories the user never bought from find more of the categories they go on to
buy from. The window decides, scored as the service answers: for each user with events before the cut who
buys in a category new to them after it, the offers built from the history before the cut against those
categories (NDCG@10). Best-sellers first where that scores above the default on the window (the default keeps
ties), as the buy-again order is chosen (``buy_again_order.py``); the why gives the paired 95% interval.
"""

from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse as sp

from recsvc.contract.units import OFFERS_ORDERS
from training import sorted_keys
from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.inputs.readers import PURCHASE, Events
from training.lists import candidates, use_tasks
from training.lists.holdout import Holdout
from training.ragged import Ragged

DEFAULT, POPULAR_FIRST = OFFERS_ORDERS


@dataclass
class OffersReport:
    """The order category offers open with, and the held-out figures it was chosen on."""

    order: str
    why: str
    users: int = 0
    holdout_ndcg10: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def choose(hold: Holdout | None, catalogue: CodedCatalog, config: TrainConfig) -> OffersReport:
    """The order of ``OFFERS_ORDERS`` the window's users bear out: the default unless the other scores above it."""
    if hold is None:
        return OffersReport(DEFAULT, "the history is shorter than the label window")
    users, relevant = _task(hold, catalogue)
    if len(users) < config.ranker_min_users:
        why = (
            f"{len(users)} users bought in a category new to them in the last {hold.window_days:.1f} days "
            f"(a choice needs {config.ranker_min_users})"
        )
        return OffersReport(DEFAULT, why, int(len(users)))
    purchases = hold.inter.purchases[users]
    offers, _ = candidates.category_offers(
        hold.inter.strength[users], purchases, Ragged.empty(len(users)), catalogue, config.offers_per_user
    )
    overall, _ = candidates.popular(hold.inter, catalogue, config.popular_items)
    popular = _categories_of(overall.row(0)[0], catalogue)
    leaf = catalogue.leaf()
    bought_from = ((purchases @ leaf) > 0).astype(np.float32).tocsr()
    own = _ranked(offers, np.arange(len(users)), catalogue.n_categories)
    best_sellers = _ranked_same(popular, len(users), catalogue.n_categories)
    new_best_sellers = best_sellers - best_sellers.multiply(bought_from)
    scored = {
        DEFAULT: _first_of(own, best_sellers),
        POPULAR_FIRST: _first_of(new_best_sellers, own, best_sellers),
    }
    ndcg = {name: use_tasks.ndcg_of_rows(m, relevant) for name, m in scored.items()}
    gain = ndcg[POPULAR_FIRST] - ndcg[DEFAULT]
    spread = 1.96 * gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else 0.0
    figures = {name: round(float(v.mean()), 4) for name, v in ndcg.items()}
    versus = (
        f"NDCG@10 {ndcg[POPULAR_FIRST].mean():.4f} against {ndcg[DEFAULT].mean():.4f} ± {spread:.4f} "
        f"on {len(users)} users who bought in a category new to them"
    )
    if gain.mean() > 0:
        return OffersReport(
            POPULAR_FIRST, f"the best-sellers' categories first won ({versus})", int(len(users)), figures
        )
    why = f"the user's own categories first (the best-sellers' first: {versus})"
    return OffersReport(DEFAULT, why, int(len(users)), figures)


def new_category_purchases(
    before: Events, after: Events, counted: np.ndarray, category: np.ndarray, n_categories: int
) -> np.ndarray:
    """Keys ``user * n_categories + category``, sorted: the categories of the ``counted`` purchases of ``after``
    (a mask over its rows) by users with events in ``before``, in categories they never bought from there (each
    item's own category). What category offers are for; the evaluation measures them on it too."""

    def pairs(events: Events, keep: np.ndarray) -> np.ndarray:
        keep = keep & (category[events.item] >= 0)
        return sorted_keys.unique(events.user[keep].astype(np.int64) * n_categories + category[events.item[keep]])

    bought_before = pairs(before, before.event == PURCHASE)
    bought_after = pairs(after, counted & (after.event == PURCHASE) & np.isin(after.user, np.unique(before.user)))
    return bought_after[~sorted_keys.member(bought_after, bought_before)]


def _task(hold: Holdout, catalogue: CodedCatalog) -> tuple[np.ndarray, sp.csr_matrix]:
    """Users with events before the cut who buy after it in a category they never bought from; users x categories."""
    n = catalogue.n_categories
    window = hold.events.timestamp >= hold.cut
    found = new_category_purchases(hold.past, hold.events, window, catalogue.category, n)
    users = sorted_keys.unique(found // n)
    rows = np.searchsorted(users, found // n)
    relevant = sp.csr_matrix((np.ones(len(found), np.float32), (rows, found % n)), shape=(len(users), n))
    return users, relevant


def _categories_of(items: np.ndarray, catalogue: CodedCatalog) -> np.ndarray:
    """The leaf categories of items, in the items' order, each once (the service's best-sellers' categories)."""
    found = catalogue.category[items]
    found = found[found >= 0]
    _, first = np.unique(found, return_index=True)
    return found[np.sort(first)]


def _ranked(lists: Ragged, users: np.ndarray, n_categories: int) -> sp.csr_matrix:
    """users x categories: each user's list as scores in (0, 1], best first."""
    lengths = lists.lengths()[users]
    starts = lists.indptr[users]
    rows = np.repeat(np.arange(len(users)), lengths)
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    values = lists.values[np.repeat(starts, lengths) + rank]
    return sp.csr_matrix(((1.0 / (1.0 + rank)).astype(np.float32), (rows, values)), shape=(len(users), n_categories))


def _ranked_same(categories: np.ndarray, n_users: int, n_categories: int) -> sp.csr_matrix:
    """users x categories: the same list for every user, as ``_ranked`` scores it."""
    scores = np.tile((1.0 / (1.0 + np.arange(len(categories)))).astype(np.float32), n_users)
    rows = np.repeat(np.arange(n_users), len(categories))
    return sp.csr_matrix((scores, (rows, np.tile(categories, n_users))), shape=(n_users, n_categories))


def _first_of(*parts: sp.csr_matrix) -> sp.csr_matrix:
    """The lists one after another: every entry of a part above every entry of the parts after it, each
    category where it first comes."""
    total = None
    for n, part in enumerate(reversed(parts)):
        lifted = part.copy()
        lifted.data = lifted.data + 2.0 * n  # scores of a part lie in (0, 1]
        total = lifted if total is None else total.maximum(lifted)
    assert total is not None
    return total.tocsr()
