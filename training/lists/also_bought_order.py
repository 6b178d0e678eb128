"""The also-bought order chosen on the shop's newest window: the orders tried, scored on the list's use task and
guarded against the fixed order."""

from dataclasses import asdict, dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.lists import candidates, near_copies, use_tasks
from training.lists.complements import AlsoBoughtOrder, Together
from training.lists.generators import row_max_scaled
from training.lists.holdout import Holdout

ORDERS_TRIED = tuple(
    AlsoBoughtOrder(next_weight, knn_weight, damping, exponent)
    for next_weight, knn_weight in ((0.0, 1.0), (0.3, 1.0), (1.0, 1.0), (1.0, 0.3), (1.0, 0.0))
    for damping in (0.5, 1.0)
    for exponent in ((0.5,) if next_weight == 0 else (0.5, 0.0, -0.5))
)
"""The also-bought orders the shop's own newest window chooses between."""


@dataclass
class AlsoBoughtReport:
    """Which order scores the also-bought lists, and the window's figures it was chosen on."""

    kind: str  # "learned", "validated" or "fixed"
    why: str
    order: AlsoBoughtOrder
    users: int = 0  # the use task's subject items (``use_tasks.also_bought_task``)
    holdout_ndcg10: dict[str, float] = field(default_factory=dict)
    guard: dict = field(default_factory=dict)  # the served order beside the fixed one: use task and strong pairs
    model: object = field(default=None, repr=False, compare=False)  # the booster of a "learned" order

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "why": self.why,
            "order": asdict(self.order),
            "users": self.users,  # kept for readers of earlier versions: the subject items now
            "subjects": self.users,
            "holdout_ndcg@10": self.holdout_ndcg10,
            **self.guard,
        }


def choose_order(hold: Holdout | None, catalogue: CodedCatalog, config: TrainConfig) -> AlsoBoughtReport:
    """The order (of ``ORDERS_TRIED``) whose lists, built on the history before the label window, score best on
    the also-bought use task (``use_tasks.also_bought_task``: per subject item, NDCG@10 against the lift of
    what its buyers bought new within the horizon), and that keeps the strongest associations in its top 10
    as the fixed order does (``guarded``). The fixed order where the window has too few subject items; on a
    tie, the fixed order."""
    return chosen_on_window(hold, catalogue, config)[0]


@dataclass
class WindowTask:
    """The window's also-bought use task, and what the fixed and the chosen orders scored on it."""

    task: use_tasks.AlsoBoughtTask
    strong: sp.csr_matrix  # the task's rows x items: the strongest associations of the history before the cut
    fixed: "Scored"
    chosen: "Scored"
    together: Together  # of the history before the cut


@dataclass
class Scored:
    """One order's figures on the window's use task, per subject item."""

    ndcg: np.ndarray  # NDCG@10 against the lift of what the subject's buyers bought new
    kept: np.ndarray  # share of its strongest associations in its top 10 (nan where it has none)

    @classmethod
    def of(cls, scores: sp.csr_matrix, task: use_tasks.AlsoBoughtTask, strong: sp.csr_matrix) -> "Scored":
        return cls(use_tasks.ndcg_graded(scores, task.gains), use_tasks.kept_in_top(strong, scores))

    def kept_share(self) -> float:
        """The share of the strongest associations kept, over every subject item that has one (nan: none)."""
        return float(np.nanmean(self.kept)) if np.isfinite(self.kept).any() else float("nan")


def guarded(name: str, mine: Scored, fixed: Scored) -> tuple[bool, str, dict]:
    """Whether an order may serve beside the fixed one: on the use task at least as good within noise (95%,
    paired over the subject items), and keeping as large a share of the strongest associations in its top 10;
    the reason, and both figures for ``/v1/model``."""
    gain, spread = use_tasks.paired_gain(mine.ndcg, fixed.ndcg)
    kept, kept_fixed = mine.kept_share(), fixed.kept_share()
    figures = {
        "use_task_ndcg@10": {
            name: round(float(mine.ndcg.mean()), 4),
            "fixed": round(float(fixed.ndcg.mean()), 4),
            "difference": round(gain, 4),
            "ci95": [round(gain - spread, 4), round(gain + spread, 4)],
        },
        "strong_pairs_kept@10": {
            name: None if np.isnan(kept) else round(kept, 4),
            "fixed": None if np.isnan(kept_fixed) else round(kept_fixed, 4),
            "subjects": int(np.isfinite(fixed.kept).sum()),
        },
    }
    if gain < -spread:
        return False, f"{name} scores below the fixed order on the use task beyond noise", figures
    if not np.isnan(kept_fixed) and (np.isnan(kept) or kept < kept_fixed - 1e-9):
        why = f"{name} keeps {kept:.0%} of the strongest associations in its top 10 against the fixed order's"
        return False, f"{why} {kept_fixed:.0%}", figures
    return True, "", figures


def window_task(hold: Holdout, config: TrainConfig) -> use_tasks.AlsoBoughtTask:
    """The also-bought use task of the window: the history before its cut, its events after."""
    later = hold.events.timestamp >= hold.cut
    columns = ("timestamp", "user", "item", "event", "quantity")
    after = replace(hold.events, **{f: getattr(hold.events, f)[later] for f in columns})
    return use_tasks.also_bought_task(
        hold.past, after, hold.cut, hold.n_items, config.also_bought_horizon_days, config.also_bought_task_min_buyers
    )


def chosen_on_window(
    hold: Holdout | None, catalogue: CodedCatalog, config: TrainConfig
) -> tuple[AlsoBoughtReport, WindowTask | None]:
    """``choose_order``'s report, with the window's task (None where the order is the fixed one for want of
    subject items)."""
    fixed = AlsoBoughtOrder.of(config)
    if hold is None:
        return AlsoBoughtReport("fixed", "the history is shorter than the label window", fixed), None
    task = window_task(hold, config)
    subjects = task.subjects
    if len(task) < config.also_bought_min_subjects:
        report = AlsoBoughtReport(
            "fixed",
            f"the last {hold.window_days:.1f} days hold {task.describe()} "
            f"(a validated choice needs {config.also_bought_min_subjects})",
            fixed,
            len(task),
        )
        return report, None
    n_items = hold.n_items
    available = sp.diags(catalogue.available.astype(np.float32))
    knn = (hold.neighbours[subjects] @ available).tocoo()
    counted = Together.of(hold.past, n_items, config)
    strong = counted.strong(config)[subjects]
    itself = sp.csr_matrix(
        (np.ones(len(subjects)), (np.arange(len(subjects)), subjects)), shape=(len(subjects), n_items)
    )
    orders = tuple(dict.fromkeys((fixed, *ORDERS_TRIED)))
    evidence = {(o.popularity_exponent, o.min_buyers) for o in orders}
    after = {e: (counted.scores(*e).tocsr()[subjects] @ available).tocoo() for e in evidence}
    near = counted.near_copies(catalogue)
    held_out: dict[AlsoBoughtOrder, Scored] = {}
    for order in orders:
        after_order = after[order.popularity_exponent, order.min_buyers]
        scores = _blended(after_order, knn, catalogue.category, near, order, subjects)
        held_out[order] = Scored.of((scores - scores.multiply(itself)).tocsr(), task, strong)
    best = max(held_out, key=lambda o: (held_out[o].ndcg.mean(), o == fixed))
    best = _with_evidence_and_fill(best, held_out, counted, knn, hold, catalogue, task, strong, itself)
    ok, refused, figures = guarded("chosen", held_out[best], held_out[fixed])
    ranked = sorted(held_out.items(), key=lambda kv: -kv[1].ndcg.mean())
    table = {o.describe(): round(float(v.ndcg.mean()), 4) for o, v in ranked}
    if not ok:
        why = f"{fixed.describe()}: the fixed order ({refused})"
        report = AlsoBoughtReport("fixed", why, fixed, len(task), dict(list(table.items())[:5]), figures)
        return report, WindowTask(task, strong, held_out[fixed], held_out[fixed], counted)
    gain, spread = use_tasks.paired_gain(held_out[best].ndcg, held_out[fixed].ndcg)
    within = " (within noise)" if gain <= spread else ""
    why = (
        f"{best.describe()}: the best of {len(held_out)} orders on the use task of {task.describe()}, NDCG@10 "
        f"{held_out[best].ndcg.mean():.4f} against the fixed order's {held_out[fixed].ndcg.mean():.4f}{within}"
    )
    report = AlsoBoughtReport("validated", why, best, len(task), dict(list(table.items())[:5]), figures)
    return report, WindowTask(task, strong, held_out[fixed], held_out[best], counted)


FILL_CANDIDATES = 50
"""Best-sellers a list may be filled from in the validation (a list shows 10)."""


def _with_evidence_and_fill(
    best: AlsoBoughtOrder,
    held_out: dict[AlsoBoughtOrder, Scored],
    counted: Together,
    knn: sp.coo_matrix,
    hold: Holdout,
    catalogue: CodedCatalog,
    task: use_tasks.AlsoBoughtTask,
    strong: sp.csr_matrix,
    itself: sp.csr_matrix,
) -> AlsoBoughtOrder:
    """``best`` with the evidence its pairs need and what fills a short list, as the window's use task shows.

    Scored as the service answers: the entries, then the fill. A similar item's list is not built on the
    window's history, so the item-kNN neighbours stand for it. Best-sellers fill only when that beats the
    other fill beyond noise (95%, paired over the subject items)."""
    available = sp.diags(catalogue.available.astype(np.float32))
    subjects = task.subjects
    overall, _ = candidates.popular(hold.inter, catalogue, FILL_CANDIDATES)
    top = overall.row(0)[0]
    popular = sp.csr_matrix(
        (
            np.tile(np.linspace(0.99, 0.01, len(top)), len(subjects)).astype(np.float32),
            (np.repeat(np.arange(len(subjects)), len(top)), np.tile(top, len(subjects))),
        ),
        shape=itself.shape,
    )
    fills = {"similar": row_max_scaled(knn.tocsr()) * 0.99, "popular": popular}
    near = counted.near_copies(catalogue)
    scored: dict[AlsoBoughtOrder, Scored] = {}
    for min_buyers in (1, 2):
        after = (counted.scores(best.popularity_exponent, min_buyers).tocsr()[subjects] @ available).tocoo()
        entries = row_max_scaled(_blended(after, knn, catalogue.category, near, best, subjects)).tocsr()
        entries.eliminate_zeros()
        entries.data += 1.0  # every entry before any fill
        for fill, filler in fills.items():
            scores = entries.maximum(filler).tocsr()
            scored[replace(best, min_buyers=min_buyers, fill=fill)] = Scored.of(
                (scores - scores.multiply(itself)).tocsr(), task, strong
            )
    default = replace(best, fill="similar")
    chosen = max(scored, key=lambda o: (scored[o].ndcg.mean(), o == default))
    gain, spread = use_tasks.paired_gain(scored[chosen].ndcg, scored[default].ndcg)
    if gain <= spread:  # within noise: as the entries' own order was chosen
        return best
    held_out[chosen] = scored[chosen]
    return chosen


def _blended(
    after: sp.coo_matrix, knn: sp.coo_matrix, category: np.ndarray, near: np.ndarray, order: AlsoBoughtOrder, subjects
) -> sp.csr_matrix:
    """The order's scores for the rows of ``after`` and ``knn`` (one per subject item), all kept; near-copies of
    the categories ``near`` holds damped."""
    parts = []
    for m, weight in ((after, order.next_weight), (knn, order.knn_weight)):
        values = near_copies.damped(subjects[m.row], m.col, m.data, category, near, order.same_category_factor)
        damped = sp.csr_matrix((values, (m.row, m.col)), shape=m.shape)
        parts.append(weight * row_max_scaled(damped))
    return (parts[0] + parts[1]).tocsr()
