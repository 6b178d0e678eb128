"""How the buy-again list is ordered, chosen on the shop's newest window.

The fixed order is due-ness (``recsvc.read.retention.due_score``): how often the user bought the item,
weighted by how close it is to its repurchase interval. Next-basket studies find a user's recent purchases
say more than their old ones (TIFU-KNN's decayed baskets); the service can compute that from what a buy-again
record stores, so the candidates are the due-ness score times ``exp(-days since the last purchase / r)`` for a
few time scales r. The window decides, on the re-purchase task (``repurchase_task.py``): the lists built from
the history before the cut, scored at the cut, against the items each user bought again in the window
(NDCG@10). The best scale serves where it scores above the fixed order; the fixed order keeps ties and
windows with fewer than ``ranker_min_users`` such users.

A LightGBM ranker over these features and a TIFU-style decayed basket score, the item's repurchase rate and
the user's order count scored higher on the Instacart sample (docs/quality.md), but its score moves with the
time since each purchase and the records do not store those features: serving it needs the record format and
the model in the service, so it is not a candidate here.
"""

from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse as sp

from recsvc.contract.units import DAY, OVERDUE_FADE
from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.inputs.readers import Events
from training.lists import repurchase_task, use_tasks
from training.lists.holdout import Holdout
from training.lists.retention import BuyAgain, buy_again, repurchase_intervals

FIXED = 0.0
RECENCY_TRIED = (FIXED, 7.0, 14.0, 30.0, 60.0, 120.0, 240.0)
"""The time scales (days) of the recency factor tried on the window; 0 is none: the fixed due-ness order."""


@dataclass
class BuyAgainReport:
    """The recency scale buy-again is ordered with (0: the fixed due-ness order), and the figures it was chosen on."""

    recency_days: float
    why: str
    users: int = 0
    holdout_ndcg10: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def label(recency_days: float) -> str:
    return "due-ness" if recency_days == FIXED else f"due-ness x recency {recency_days:g} days"


def scores(again: BuyAgain, now: np.ndarray, recency_days: float) -> np.ndarray:
    """The service's score of every entry of ``again`` at ``now`` (per user, unix s), as ``due_candidates``
    computes it one at a time."""
    user = np.repeat(np.arange(again.items.rows), again.items.lengths())
    days = np.maximum(0.0, (now[user] - again.items.scores) / DAY)
    ratio = days / again.interval_days.astype(np.float64)
    due = np.where(ratio <= 1, ratio, 1 / (1 + OVERDUE_FADE * (ratio - 1)))
    score = again.counts * (0.5 + 0.5 * due)
    return score * np.exp(-days / recency_days) if recency_days > 0 else score


def ndcg(again: BuyAgain, now: np.ndarray, recency_days: float, users: np.ndarray, relevant: sp.csr_matrix):
    """NDCG@10 of each of ``users``' buy-again lists, ordered as the service orders them at ``now``, against
    ``relevant`` (users x items)."""
    return ndcg_of_scores(again, scores(again, now, recency_days), users, relevant)


def ndcg_of_scores(again: BuyAgain, score: np.ndarray, users: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """NDCG@10 of ``users``' lists ordered by ``score`` (per entry of ``again``; ties keep the list's order)."""
    n_users, n_items = again.items.rows, relevant.shape[1]
    user = np.repeat(np.arange(n_users), again.items.lengths())
    position = np.arange(len(user))
    order = np.lexsort((position, -score, user))  # the service's sort: best first, the record's order on ties
    rank = position - np.repeat(again.items.indptr[:-1], again.items.lengths())
    ranked = np.empty(len(user), np.float32)
    ranked[order] = 1.0 / (1.0 + rank)
    row_of = np.full(n_users, -1)
    row_of[users] = np.arange(len(users))
    keep = row_of[user] >= 0
    m = sp.csr_matrix((ranked[keep], (row_of[user[keep]], again.items.values[keep])), shape=(len(users), n_items))
    return use_tasks.ndcg_of_rows(m, relevant)


def task_matrix(found: np.ndarray, n_items: int) -> tuple[np.ndarray, sp.csr_matrix]:
    """The users of re-purchase keys ``found`` and their items (users x items)."""
    users = np.unique(found // n_items)
    relevant = sp.csr_matrix(
        (np.ones(len(found), np.float32), (np.searchsorted(users, found // n_items), found % n_items)),
        shape=(len(users), n_items),
    )
    return users, relevant


def choose_on(
    past: Events, catalogue: CodedCatalog, found: np.ndarray, now: np.ndarray, config: TrainConfig, span: str
) -> BuyAgainReport:
    """The choice from a history ``past``, the re-purchase keys ``found`` (``user * n_items + item``) and each
    user's moment of scoring ``now``."""
    users, relevant = task_matrix(found, len(past.item_ids))
    if len(users) < config.ranker_min_users:
        why = f"{len(users)} users bought an item again {span} (a choice needs {config.ranker_min_users})"
        return BuyAgainReport(FIXED, why, int(len(users)))
    intervals = repurchase_intervals(past, catalogue.category, catalogue.n_categories, config)
    again = buy_again(past, intervals, len(past.user_ids), config.buy_again_per_user)
    per_user = {r: ndcg(again, now, r, users, relevant) for r in RECENCY_TRIED}
    figures = {label(r): round(float(v.mean()), 4) for r, v in per_user.items()}
    best = max(RECENCY_TRIED, key=lambda r: (per_user[r].mean(), r == FIXED))
    gain = per_user[best] - per_user[FIXED]
    spread = 1.96 * gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else 0.0
    versus = (
        f"NDCG@10 {per_user[best].mean():.4f} against due-ness {per_user[FIXED].mean():.4f} ± {spread:.4f} "
        f"on {len(users)} users who bought an item again {span}"
    )
    if best == FIXED:
        return BuyAgainReport(FIXED, f"no recency scale scored above due-ness ({versus})", int(len(users)), figures)
    return BuyAgainReport(best, f"{label(best)} scored highest ({versus})", int(len(users)), figures)


def choose(hold: Holdout | None, catalogue: CodedCatalog, config: TrainConfig) -> BuyAgainReport:
    """The order the window's re-purchases bear out: lists of the history before the cut, scored at the cut."""
    if hold is None:
        return BuyAgainReport(FIXED, "the history is shorter than the label window")
    found = repurchase_task.repurchases(hold.events, hold.cut, np.inf)  # the whole window
    now = np.full(len(hold.past.user_ids), float(hold.cut))
    return choose_on(hold.past, catalogue, found, now, config, f"in the last {hold.window_days:.1f} days")
