"""Personalized picks ordered by a ranking model learned from the shop's own history.

At every training run the newest ``ranker_label_days`` of events are held out as labels: the
generators (``generators.py``) are fitted on the events before them, and a LightGBM lambdarank
model learns to order each user's candidates by what the user went on to buy (relevance 2) or
cart (1). Features are every generator's score and rank, the item's popularity, trend and
price, the user's activity and idleness, their share of interest in the item's category, and
whether and how long ago they viewed or carted the item. The model then ranks the candidates
the generators give from the full history.

The label window is ``ranker_label_days``, or ``ranker_label_share`` of the history's span where
that is shorter. The fixed blend (``pick_features.blend_score``, the ``blend_*`` weights) is the fallback: it
ranks when too few users bought or carted in the label window. The learned order must also beat
every fixed order on held-out users of the window: where the blend, or ALS, item-kNN or EASE
alone, scores as high or higher, that one ranks. The summary says which ranked and why.
"""

import logging
import os
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from training import model, sorted_keys
from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.inputs.dataset import Dataset
from training.inputs.readers import ADDTOCART, PURCHASE, Events
from training.interactions import Interactions
from training.lists import candidates
from training.lists.generators import Generators
from training.lists.holdout import Holdout
from training.lists.pick_features import FEATURES, Candidates, EventFacts, gather
from training.model import Factors

log = logging.getLogger(__name__)

FIXED_ORDERS = ("blend", "als", "knn", "ease")
"""The orders that need no model, by the feature they rank on: the learned one must beat each on held-out users."""
ORDER_NAMES = {"blend": "fixed blend", "als": "ALS", "knn": "item-kNN (BM25)", "ease": "EASE"}


@dataclass
class RankerReport:
    """Which order ranks the picks, and the held-out figures it was chosen on."""

    kind: str  # "learned", or the fixed order that ranks instead (``FIXED_ORDERS``)
    why: str
    labelled_users: int = 0
    holdout_ndcg10: dict[str, float] = field(default_factory=dict)
    importance: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "why": self.why,
            "labelled_users": self.labelled_users,
            "holdout_ndcg@10": self.holdout_ndcg10,
            "feature_importance": self.importance,
        }


def _labels(events: Events, cut: int, users: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
    """Relevance of each pair in the label window: 2 bought, 1 carted, 0 otherwise."""
    after = events.timestamp >= cut
    keys = events.user.astype(np.int64) * n_items + events.item
    wanted = users.astype(np.int64) * n_items + items
    bought = sorted_keys.member(wanted, sorted_keys.unique(keys[after & (events.event == PURCHASE)]))
    carted = sorted_keys.member(wanted, sorted_keys.unique(keys[after & (events.event == ADDTOCART)]))
    return np.where(bought, 2, np.where(carted, 1, 0)).astype(np.int32)


def ndcg_at(scores: np.ndarray, labels: np.ndarray, users: np.ndarray, k: int = 10) -> np.ndarray:
    """NDCG@k of each user with any relevant pair (ascending user code), ranking their pairs by score."""
    order = np.lexsort((-scores, users))
    u, rel = users[order], labels[order].astype(np.float64)
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    rank = np.arange(len(u)) - np.repeat(starts, np.diff(np.r_[starts, len(u)]))
    gain = np.where(rank < k, (2**rel - 1) / np.log2(rank + 2), 0.0)
    dcg = np.add.reduceat(gain, starts) if len(u) else np.zeros(0)
    ideal_order = np.lexsort((-rel, u))
    ideal_rel = rel[ideal_order]
    ideal = np.where(rank < k, (2**ideal_rel - 1) / np.log2(rank + 2), 0.0)
    idcg = np.add.reduceat(ideal, starts) if len(u) else np.zeros(0)
    has = idcg > 0
    return dcg[has] / idcg[has]


def learn(
    data: Dataset, hold: Holdout | None, pool_size: int, config: TrainConfig
) -> tuple[object | None, RankerReport]:
    """Fit the ranking model on the label window; None (and why) where a fixed order should rank."""
    if hold is None:
        return None, RankerReport("blend", "the history is shorter than the label window")
    events, cut, window, inter, n_items = hold.events, hold.cut, hold.window_days, hold.inter, hold.n_items
    later = (events.timestamp >= cut) & ((events.event == PURCHASE) | (events.event == ADDTOCART))
    labelled = sorted_keys.unique(events.user[later])
    active = np.diff(inter.strength.indptr) >= config.picks_min_items
    labelled = labelled[active[labelled]]
    if len(labelled) > config.ranker_max_users:
        labelled = np.sort(np.random.default_rng(0).choice(labelled, config.ranker_max_users, replace=False))
    if len(labelled) < config.ranker_min_users:
        return None, RankerReport(
            "blend",
            f"{len(labelled)} users with history bought or carted in the last {window:.1f} days "
            f"(a learned order needs {config.ranker_min_users})",
            labelled_users=int(len(labelled)),
        )
    factors = model.fit(_rows_of(inter.strength, _fit_sample(inter.strength, labelled, config)), config)
    pool = candidates.candidate_pool(inter, factors, data.catalogue, pool_size)
    gens = generators_for(inter, factors, pool, data.catalogue, config, hold.neighbours)
    facts = EventFacts.of(hold.past, inter.now, len(hold.past.user_ids), n_items)
    found = gather(gens, data, facts, labelled, config)
    labels = _labels(events, cut, found.users, found.items, n_items)
    with_positive = sorted_keys.unique(found.users[labels > 0])
    if len(with_positive) < config.ranker_min_users:
        return None, RankerReport(
            "blend",
            f"{len(with_positive)} users bought or carted one of their candidates in the label window "
            f"(a learned order needs {config.ranker_min_users})",
            labelled_users=int(len(with_positive)),
        )
    keep = sorted_keys.member(found.users, with_positive)
    features, labels, users = found.features[keep], labels[keep], found.users[keep]
    held_out, held_out_model = _cross_validated(features, labels, users, with_positive, config)
    learned = held_out.pop("learned")
    best = best_fixed(held_out)
    gain = learned - held_out[best]
    spread = 1.96 * gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else 0.0
    # with many users the model of the one held-out fifth is kept; with few, one more fit on all of them
    booster = held_out_model if held_out_model is not None else _fit(features, labels, users, config)
    importance = dict(zip(FEATURES, (round(float(g), 1) for g in booster.feature_importance("gain"))))
    figures = {"learned": round(float(learned.mean()), 4)}
    figures |= {name: round(float(v.mean()), 4) for name, v in held_out.items()}
    figures["difference_95ci"] = round(float(spread), 4)
    report = RankerReport("learned", "", int(len(with_positive)), figures, importance)
    name = ORDER_NAMES[best]
    if not learned_ranks(learned, held_out):
        report.kind = best
        report.why = (
            f"the learned order did not beat the best fixed order ({name}) on {len(gain)} held-out users "
            f"(NDCG@10 {learned.mean():.4f} against {held_out[best].mean():.4f}, ± {spread:.4f})"
        )
        return None, report
    within = " (within noise)" if abs(gain.mean()) <= spread else ""
    report.why = (
        f"{gain.mean():+.4f} NDCG@10 against the best fixed order ({name}) on {len(gain)} held-out users{within}"
    )
    return booster, report


def best_fixed(held_out: dict[str, np.ndarray]) -> str:
    """The fixed order with the highest mean held-out NDCG (the blend on a tie)."""
    return max(held_out, key=lambda name: (held_out[name].mean(), name == "blend"))


def learned_ranks(learned: np.ndarray, held_out: dict[str, np.ndarray]) -> bool:
    """Whether the learned order ranks: its mean held-out NDCG above every fixed order's, each user paired.

    A tie, or a loss within noise, goes to the fixed order: on a small window the learned model is the
    less certain of the two, and a fixed order ranks the same whatever the window's sample."""
    return bool(len(learned)) and float((learned - held_out[best_fixed(held_out)]).mean()) > 0


def _cross_validated(features, labels, users, labelled: np.ndarray, config: TrainConfig):
    """Per held-out user NDCG@10 of the learned order and of each fixed one (``FIXED_ORDERS``): k folds
    over the users when they are few, one fifth held out otherwise. Also the model of the one fold."""
    folds = config.ranker_folds if len(labelled) < config.ranker_fold_below else 1
    fold_of = np.random.default_rng(1).permutation(len(labelled)) % max(folds, 5)
    fold = fold_of[np.searchsorted(labelled, users)]
    held_out: dict[str, list[np.ndarray]] = {name: [] for name in ("learned", *FIXED_ORDERS)}
    for f in range(folds):
        test = fold == f
        booster = _fit(features[~test], labels[~test], users[~test], config)
        held_out["learned"].append(ndcg_at(booster.predict(features[test]), labels[test], users[test]))
        for name in FIXED_ORDERS:
            held_out[name].append(ndcg_at(features[test, FEATURES.index(name)], labels[test], users[test]))
    return {name: np.concatenate(v) for name, v in held_out.items()}, booster if folds == 1 else None


def _fit_sample(strength: sp.csr_matrix, labelled: np.ndarray, config: TrainConfig) -> np.ndarray:
    """The users the label-window ALS is fitted on: every labelled user, and others up to ``ranker_fit_users``."""
    others = np.setdiff1d(np.flatnonzero(np.diff(strength.indptr) >= config.min_user_items), labelled)
    room = max(0, config.ranker_fit_users - len(labelled))
    if len(others) > room:
        others = np.random.default_rng(2).choice(others, room, replace=False)
    return np.union1d(labelled, others)


def _rows_of(m: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """m with every row outside ``rows`` emptied (same shape, so codes stay)."""
    keep = np.zeros(m.shape[0], np.float32)
    keep[rows] = 1.0
    out = (sp.diags(keep) @ m).tocsr()
    out.eliminate_zeros()
    return out


def _fit(features: np.ndarray, labels: np.ndarray, users: np.ndarray, config: TrainConfig):
    import lightgbm

    groups = np.diff(np.flatnonzero(np.r_[True, users[1:] != users[:-1], True]))
    params = {
        "objective": "lambdarank",
        "num_threads": 1,  # its OpenMP threads spin: on a busy machine one thread is faster
        "learning_rate": 0.05,
        "num_leaves": 7,
        "min_data_in_leaf": 50,
        "lambda_l2": 1.0,
        "feature_fraction": 0.8,
        "lambdarank_truncation_level": 20,
        "seed": 0,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }
    dataset = lightgbm.Dataset(features, labels, group=groups, feature_name=list(FEATURES), free_raw_data=True)
    return lightgbm.train(params, dataset, num_boost_round=config.ranker_rounds)


def generators_for(
    inter: Interactions,
    factors: Factors,
    pool: np.ndarray,
    catalogue: CodedCatalog,
    config: TrainConfig,
    neighbours: sp.csr_matrix | None = None,
) -> Generators:
    """The generators of one history, as the configuration sets them (item-kNN computed unless given)."""
    return Generators(
        inter,
        factors,
        pool,
        catalogue,
        per_generator=config.ranker_candidates,
        knn_neighbours=config.knn_neighbours,
        popular=config.ranker_popular,
        ease_items=config.ease_items,
        neighbours=neighbours,
    )


def top_picks(found: Candidates, order_by, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each user's k best candidates, best first, by a learned model or by one feature ("blend", "als"):
    (pair indices into ``found``, their scores).

    Scores: the learned model's output through a logistic (0..1), else the feature's value; either way
    comparable within one user's list only."""
    if isinstance(order_by, str):
        score = found.column(order_by)
    elif len(found.users):
        # scoring millions of pairs is one pass over independent rows: every core helps, even on a busy machine
        raw = order_by.predict(found.features, num_threads=os.cpu_count() or 1)
        score = (1.0 / (1.0 + np.exp(-raw))).astype(np.float32)
    else:
        score = np.zeros(0, np.float32)
    keep = np.flatnonzero(score > 0)
    order = keep[np.lexsort((-score[keep], found.users[keep]))]
    users = found.users[order]
    starts = np.r_[0, np.flatnonzero(users[1:] != users[:-1]) + 1] if len(users) else np.zeros(0, np.int64)
    rank = np.arange(len(users)) - np.repeat(starts, np.diff(np.r_[starts, len(users)]))
    chosen = order[rank < k]
    return chosen, score[chosen]
