"""A learned also-bought order: LightGBM's lambdarank over each item's candidates, learned on the newest window.

An item x's candidates are its item-kNN (BM25) neighbours and the ``NEXT_CANDIDATES`` items its buyers
bought next most often (``complements.Together``, by cosine). Each candidate carries what both sources
say of the pair (score, score scaled to the list's best, rank; buyers in common, their cosine and their
share of x's buyers), whether it shares x's category, and how many buyers x and the candidate have. The
labels are the also-bought use task on the held-out window (``use_tasks.also_bought_task``): each pair's lift
of what the subject's buyers bought new within the horizon over what everyone buys anyway. The learned order
serves only where, cross-validated over the subject items, it scores at least the order the window chose (whose
figure is in-sample, the best of 27) and passes ``also_bought_order.guarded`` (as good as the fixed order, the
strongest associations kept).
"""

import os
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.lists import also_bought_order, complements, use_tasks
from training.lists.holdout import Holdout
from training.ragged import Ragged, rank_in_row, stacked, top_per_row

FEATURES = (
    "knn",
    "knn_scaled",
    "knn_rank",
    "next_buyers",
    "next_cosine",
    "next_share",
    "next_rank",
    "same_category",
    "buyers_of_item",
    "buyers_of_subject",
)
NEXT_CANDIDATES = 20
"""Items bought next after x (the most by cosine) that join its neighbours as candidates."""
FOLDS = 5
ROUNDS = 40
PARAMS = {
    "objective": "lambdarank",
    "lambdarank_truncation_level": 20,
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "feature_fraction": 0.8,
    "num_threads": 1,  # its OpenMP threads spin: on a busy machine one thread is faster (as the picks' ranker)
    "seed": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
ITEM_BLOCK = 65_536
"""Items whose lists are scored at a time (their candidates' features are held together)."""
ABSENT_RANK = 999.0
LABEL_STEPS = 10
"""A pair's label: its gain on the use task (a lift over the base rate, 0..1) in this many graded steps."""


@dataclass
class PairEvidence:
    """What the features of an (item, candidate) pair are read from: one history's neighbours and purchases."""

    neighbours: sp.csr_matrix  # items x items, item-kNN (BM25)
    together: sp.csr_matrix  # items x items, distinct buyers of x who bought y next (``Together.counts``)
    buyers: np.ndarray  # distinct buyers per item
    category: np.ndarray  # leaf category per item, -1 unknown
    evidenced: sp.csr_matrix | None = None  # items x items: pairs shown as bought together (``Together.evidenced``)

    @classmethod
    def of(
        cls,
        together: complements.Together,
        neighbours: sp.csr_matrix,
        catalogue: CodedCatalog,
        evidenced: sp.csr_matrix | None = None,
    ) -> "PairEvidence":
        """The evidence of one history's purchases and item-kNN neighbours; unavailable items are never candidates."""
        available = sp.diags(catalogue.available.astype(np.float32))
        counts = (together.counts.tocsr() @ available).tocsr()
        counts.eliminate_zeros()
        return cls((neighbours.tocsr() @ available).tocsr(), counts, together.buyers, catalogue.category, evidenced)

    def shown_bought(self, rows: np.ndarray, items: np.ndarray, subjects: np.ndarray) -> np.ndarray:
        """Whether each (subject of row, item) pair may be shown as bought together: above the evidence floor
        where it is known, else bought next by anyone."""
        if self.evidenced is None:
            return complements.has(self.together, subjects[rows], items)
        return complements.has(self.evidenced, subjects[rows], items)

    def candidates(self, subjects: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, candidate item, features) for each row's subject item, grouped by row, items ascending."""
        knn = self.neighbours[subjects]
        together = self.together[subjects]
        counts = together.tocoo()
        cosine = counts.data / np.sqrt(self.buyers[subjects[counts.row]] * self.buyers[counts.col])
        top = top_per_row(counts.row, counts.col, cosine, len(subjects), NEXT_CANDIDATES)
        top_rows = np.repeat(np.arange(top.rows), top.lengths())
        chosen = sp.csr_matrix((np.ones(len(top_rows), np.float32), (top_rows, top.values)), shape=knn.shape)
        union = ((knn > 0).astype(np.float32) + chosen).tocsr()
        union.sum_duplicates()
        union.sort_indices()
        rows = np.repeat(np.arange(len(subjects)), np.diff(union.indptr))
        items = union.indices.astype(np.int64)
        x = subjects[rows]
        knn_at = _at(knn, rows, items)
        buyers_x, buyers_y = self.buyers[x], self.buyers[items]
        next_buyers = _at(together, rows, items)
        with np.errstate(divide="ignore", invalid="ignore"):
            next_cosine = np.where(next_buyers > 0, next_buyers / np.sqrt(buyers_x * buyers_y), 0.0)
            next_share = np.where(next_buyers > 0, next_buyers / buyers_x, 0.0)
        best = _row_max(rows, knn_at, len(subjects))
        columns = {
            "knn": knn_at,
            "knn_scaled": np.divide(knn_at, best[rows], out=np.zeros(len(rows)), where=best[rows] > 0),
            "knn_rank": _rank(rows, knn_at, len(subjects)),
            "next_buyers": next_buyers,
            "next_cosine": next_cosine,
            "next_share": next_share,
            "next_rank": _rank(rows, next_cosine, len(subjects)),
            "same_category": (self.category[x] == self.category[items]) & (self.category[items] >= 0),
            "buyers_of_item": np.log1p(buyers_y),
            "buyers_of_subject": np.log1p(buyers_x),
        }
        features = np.empty((len(rows), len(FEATURES)), np.float32)
        for n, name in enumerate(FEATURES):
            features[:, n] = columns[name]
        return rows, items, features


def _at(m: sp.csr_matrix, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """m's values at (row, item), 0 where it has none."""
    if not len(rows):
        return np.zeros(0)
    return np.asarray(m[rows, items], dtype=np.float64).ravel()


def _row_max(rows: np.ndarray, values: np.ndarray, n_rows: int) -> np.ndarray:
    """The largest value of each row (entries grouped by row), 0 for an empty row."""
    best = np.zeros(n_rows)
    if len(rows):
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        best[rows[starts]] = np.maximum.reduceat(values, starts)
    return best


def _rank(rows: np.ndarray, values: np.ndarray, n_rows: int) -> np.ndarray:
    """Each entry's rank by value within its row (0 = best); ``ABSENT_RANK`` where the value is 0."""
    order = np.lexsort((-values, rows))
    rank = np.empty(len(rows))
    rank[order] = rank_in_row(rows[order], n_rows)
    return np.where(values > 0, rank, ABSENT_RANK)


def _booster(features: np.ndarray, labels: np.ndarray, rows: np.ndarray):
    import lightgbm

    groups = np.bincount(rows)
    data = lightgbm.Dataset(features, labels.astype(np.float32), group=groups[groups > 0], feature_name=list(FEATURES))
    return lightgbm.train(PARAMS, data, num_boost_round=ROUNDS)


def _scores(booster, features: np.ndarray) -> np.ndarray:
    """The model's scores as positive numbers, in its order: a list's scores compare within the list."""
    if not len(features):
        return np.zeros(0, np.float32)
    raw = booster.predict(features, num_threads=os.cpu_count() or 1)
    return (expit(raw) + 1e-6).astype(np.float32)


def choose(hold: Holdout | None, catalogue: CodedCatalog, config: TrainConfig) -> also_bought_order.AlsoBoughtReport:
    """``also_bought_order.choose_order``, then a learned order where, cross-validated in ``FOLDS`` folds by subject
    item on the window's use task, it scores at least the chosen one's in-sample figure and passes the guard
    (``also_bought_order.guarded``: as good as the fixed order within noise, the strongest associations kept). The
    report's ``model`` is the booster, fitted on every subject item, when the learned order serves."""
    report, window = also_bought_order.chosen_on_window(hold, catalogue, config)
    if window is None or not config.also_bought_learned:
        return report
    assert hold is not None
    task = window.task
    subjects = task.subjects
    evidence = PairEvidence.of(window.together, hold.neighbours, catalogue, window.together.evidenced(config))
    rows, items, features = evidence.candidates(subjects)
    keep = items != subjects[rows]
    rows, items, features = rows[keep], items[keep], features[keep]
    labels = np.clip(np.ceil(np.asarray(task.gains[rows, items]).ravel() * LABEL_STEPS), 0, LABEL_STEPS)
    if (labels > 0).sum() < config.also_bought_min_subjects:
        found = int((labels > 0).sum())
        return replace(report, why=f"{report.why}; no learned order: {found} gaining pairs among the candidates")
    fold = np.arange(len(subjects)) % FOLDS
    scores = np.zeros(len(rows), np.float32)
    for k in range(FOLDS):
        test = fold[rows] == k
        scores[test] = _scores(_booster(features[~test], labels[~test], rows[~test]), features[test])
    shape = (len(subjects), hold.n_items)
    learned = also_bought_order.Scored.of(sp.csr_matrix((scores, (rows, items)), shape=shape), task, window.strong)
    gain, spread = use_tasks.paired_gain(learned.ndcg, window.chosen.ndcg)
    figures = {"learned (cross-validated)": round(float(learned.ndcg.mean()), 4), **report.holdout_ndcg10}
    versus = (
        f"use-task NDCG@10 {learned.ndcg.mean():.4f} against {window.chosen.ndcg.mean():.4f} ± {spread:.4f}, "
        f"{task.describe()}"
    )
    if gain < 0:  # the chosen order's figure is in-sample (the best of 27), the learned one's cross-validated
        why = f"{report.why}; a learned order did not beat it ({versus})"
        return replace(report, why=why, holdout_ndcg10=figures)
    ok, refused, guard = also_bought_order.guarded("learned", learned, window.fixed)
    if not ok:
        return replace(report, why=f"{report.why}; a learned order was refused: {refused}", holdout_ndcg10=figures)
    why = (
        f"learned (LightGBM lambdarank, {ROUNDS} trees over {len(FEATURES)} features of each item's item-kNN "
        f"neighbours and next purchases) beat {report.order.describe()} ({versus}, cross-validated in {FOLDS} folds)"
    )
    model = _booster(features, labels, rows)
    return replace(report, kind="learned", why=why, holdout_ndcg10=figures, guard=guard, model=model)


def also_bought_learned(model, evidence: PairEvidence, k: int) -> Ragged:
    """Per item: its top k candidates by the learned model, over the history ``evidence`` is of. An entry below the
    evidence floor gets a negative score (its reason is then ``viewed_together``), or is left out where it is no
    item-kNN neighbour."""
    n_items = evidence.neighbours.shape[0]
    blocks = []
    for start in range(0, n_items, ITEM_BLOCK):
        subjects = np.arange(start, min(start + ITEM_BLOCK, n_items))
        rows, items, features = evidence.candidates(subjects)
        keep = items != subjects[rows]
        rows, items, features = rows[keep], items[keep], features[keep]
        bought = evidence.shown_bought(rows, items, subjects)
        viewed = features[:, FEATURES.index("knn")] > 0
        keep = bought | viewed  # what only a buyer or two below the evidence floor bought next is left out
        rows, items, features, bought = rows[keep], items[keep], features[keep], bought[keep]
        score = _scores(model, features)
        top = top_per_row(rows, np.arange(len(rows)), score, len(subjects), k)
        signed = np.where(bought[top.values], top.scores, -top.scores).astype(np.float32)
        blocks.append(Ragged(top.indptr, items[top.values], signed))
    return stacked(blocks, n_items)
