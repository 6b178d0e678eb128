"""Complements and substitutes: also-bought from what buyers bought next, similar with a same-category boost.

"You bought X, see Y" wants complements: what X's buyers bought in the same order or in
the days after X (running shoes, then socks), scored like a cosine so that best-sellers,
bought after everything, do not crowd every list, with near-copies of X (same category)
damped. "Similar" wants substitutes: ALS neighbours, those of X's own category first.
"""

from dataclasses import asdict, dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from recsvc.contract.units import ALSO_BOUGHT_FILLS
from training import sorted_keys
from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.inputs.readers import PURCHASE, Events
from training.interactions import DAY
from training.lists import candidates, near_copies, use_tasks
from training.lists.generators import row_max_scaled
from training.lists.holdout import Holdout
from training.orders import SAME_ORDER_S
from training.ragged import Ragged, grouped, rank_in_row, stacked, top_of_sparse

SUBSTITUTE_BLOCK = 262_144  # items whose substitutes are ranked at a time


def _pairs_after(events: Events, window_s: float, reach: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, x, y): y bought by the user within ``window_s`` after x (or in the same order), x != y."""
    p = events.event == PURCHASE
    user, item, ts = events.user[p].astype(np.int64), events.item[p].astype(np.int64), events.timestamp[p]
    order = np.lexsort((item, ts, user))
    user, item, ts = user[order], item[order], ts[order]
    users, xs, ys = [], [], []
    for step in range(1, reach + 1):  # the next ``reach`` purchases of the same user
        if step >= len(user):
            break
        gap = ts[step:] - ts[:-step]
        ok = (user[step:] == user[:-step]) & (gap <= window_s) & (item[step:] != item[:-step])
        users.append(user[:-step][ok])
        xs.append(item[:-step][ok])
        ys.append(item[step:][ok])
        basket = ok & (gap < SAME_ORDER_S)  # the same order: no before or after
        users.append(user[:-step][basket])
        xs.append(item[step:][basket])
        ys.append(item[:-step][basket])
    if not users:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(users), np.concatenate(xs), np.concatenate(ys)


@dataclass
class Together:
    """Distinct buyers of x who bought y next (y bought before x counted at ``complement_before_weight``)."""

    counts: sp.coo_matrix  # items x items
    buyers: np.ndarray  # distinct buyers per item
    after: sp.csr_matrix  # items x items: distinct buyers of x who bought y next (or in the same order)
    customers: int  # distinct buyers of anything

    @classmethod
    def of(cls, events: Events, n_items: int, config: TrainConfig) -> "Together":
        user, x, y = _pairs_after(events, config.complement_days * DAY, config.complement_reach)
        if len(events.user_ids) * float(n_items) ** 2 < 2**62:  # each buyer counts once per pair
            pair = sorted_keys.unique((user * n_items + x) * n_items + y) % (n_items * n_items)
            x, y = pair // n_items, pair % n_items
        else:
            order = np.lexsort((y, x, user))
            user, x, y = user[order], x[order], y[order]
            first = np.r_[True, (user[1:] != user[:-1]) | (x[1:] != x[:-1]) | (y[1:] != y[:-1])]
            x, y = x[first], y[first]
        after = sp.csr_matrix((np.ones(len(x), np.float32), (x, y)), shape=(n_items, n_items))
        p = events.event == PURCHASE
        buyer_pairs = sorted_keys.unique(events.user[p].astype(np.int64) * n_items + events.item[p])
        buyers = np.bincount(buyer_pairs % n_items, minlength=n_items).astype(np.float64)
        customers = len(sorted_keys.unique(buyer_pairs // n_items))
        return cls((after + config.complement_before_weight * after.T).tocoo(), buyers, after, customers)

    def scores(self, exponent: float = 0.5, min_buyers: float = 1) -> sp.coo_matrix:
        """count / (buyers of x ** 0.5 * buyers of y ** exponent): at 0.5 a cosine (best-sellers, bought
        after everything, do not crowd the list); at 0 the share of x's buyers who bought y next; below 0
        best-sellers among them first (a grocer's staples). Pairs counted fewer than ``min_buyers`` times
        are left out (one buyer's basket is weak evidence)."""
        keep = self.counts.data >= min_buyers
        x, y, count = self.counts.row[keep], self.counts.col[keep], self.counts.data[keep]
        score = count / (np.sqrt(self.buyers[x]) * np.power(self.buyers[y], exponent))
        return sp.coo_matrix((score.astype(np.float32), (x, y)), shape=self.counts.shape)

    def associated(self, min_co_buyers: float, min_rate: float = 0.0) -> sp.csr_matrix:
        """items x items, 1 where ``min_co_buyers`` or more of x's buyers bought y next, a share of x's buyers
        (the conditional rate) of at least ``min_rate`` and above y's base rate (its share of every buyer)."""
        a = self.after.tocoo()
        rate = a.data / np.maximum(self.buyers[a.row], 1)
        ok = (a.data >= min_co_buyers) & (rate >= min_rate) & (rate > self.buyers[a.col] / max(self.customers, 1))
        return sp.csr_matrix((np.ones(int(ok.sum()), np.float32), (a.row[ok], a.col[ok])), shape=a.shape)

    def evidenced(self, config: TrainConfig) -> sp.csr_matrix:
        """The pairs a list may show as bought together (``also_bought_min_co_buyers``, above the base rate)."""
        return self.associated(config.also_bought_min_co_buyers)

    def strong(self, config: TrainConfig) -> sp.csr_matrix:
        """The strongest associations, which an order must keep in its top 10 (``also_bought_strong_*``)."""
        return self.associated(config.also_bought_strong_co_buyers, config.also_bought_strong_rate)

    def near_copies(self, catalogue: CodedCatalog) -> np.ndarray:
        """Per category: whether its items are bought instead of each other (``near_copies.categories``)."""
        return near_copies.categories(self.after, catalogue.category, catalogue.n_categories)


@dataclass
class BoughtNext(Ragged):
    """``also_bought_next``'s lists, and per category whether its items were taken for near-copies."""

    near: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # ``near_copies.categories``


def also_bought_next(
    events: Events, catalogue: CodedCatalog, config: TrainConfig, k: int, order: "AlsoBoughtOrder | None" = None
) -> BoughtNext:
    """Per item x: the k items its buyers bought next (``Together``), near-copies of x damped
    (``near_copies``); an entry below the evidence floor (``Together.evidenced``) has a negative score."""
    order = order or AlsoBoughtOrder.of(config)
    n_items = len(catalogue.category)
    counted = Together.of(events, n_items, config)
    near = counted.near_copies(catalogue)
    together = counted.scores(order.popularity_exponent, order.min_buyers)
    x, y = together.row, together.col
    score = near_copies.damped(x, y, together.data, catalogue.category, near, order.same_category_factor)
    ok = catalogue.available[y] & (score > 0)
    top = _top_positive(x[ok], y[ok], score[ok], n_items, k)
    rows = np.repeat(np.arange(top.rows), top.lengths())
    shown = has(counted.evidenced(config), rows, top.values)
    scores = np.where(shown, top.scores, -top.scores).astype(np.float32)  # below the evidence floor
    return BoughtNext(top.indptr, top.values, scores, near)


def has(m: sp.spmatrix, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Whether m has a nonzero at each (row, item): a search among its sorted keys, a tenth of indexing's time."""
    c = sp.csr_matrix(m)
    c.eliminate_zeros()
    c.sum_duplicates()  # canonical: row-major keys, ascending
    keys = np.repeat(np.arange(c.shape[0], dtype=np.int64), np.diff(c.indptr)) * c.shape[1] + c.indices
    return sorted_keys.member(np.asarray(rows, np.int64) * c.shape[1] + items, keys)


def co_viewed_alternatives(strength: sp.csr_matrix, catalogue: CodedCatalog, per_user: int) -> sp.csr_matrix:
    """items x items: cosine of the users who looked at both, for pairs in the same category.

    Shoppers compare alternatives before they buy one; each user's ``per_user`` strongest items
    bound the cost.
    """
    top = top_of_sparse(strength, per_user)
    rows = np.repeat(np.arange(top.rows), top.lengths())
    seen = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, top.values)), shape=strength.shape)
    del top, rows
    users = np.asarray(seen.sum(axis=0)).ravel()
    co = (seen.T @ seen).tocsr()
    del seen
    x = np.repeat(np.arange(co.shape[0], dtype=np.int32), np.diff(co.indptr))
    cat = catalogue.category
    keep = (x != co.indices) & (cat[x] == cat[co.indices]) & (cat[x] >= 0)
    x, y = x[keep], co.indices[keep]
    cosine = co.data[keep] / np.sqrt(users[x] * users[y])
    indptr = np.concatenate(([0], np.cumsum(np.bincount(x, minlength=co.shape[0]))))
    return sp.csr_matrix((cosine.astype(np.float32), y, indptr), shape=co.shape)


def substitutes(similar: Ragged, alternatives: sp.spmatrix, catalogue: CodedCatalog, boost: float, k: int) -> Ragged:
    """Similar lists for substitutes: ALS neighbours plus co-viewed alternatives, the item's own category
    scored ``1 + boost`` times higher. Computed ``SUBSTITUTE_BLOCK`` items at a time: memory stays that of the lists."""
    cat = catalogue.category
    alternatives = sp.csr_matrix(alternatives)
    n_items = similar.rows
    blocks = []
    for lo in range(0, n_items, SUBSTITUTE_BLOCK):
        hi = min(lo + SUBSTITUTE_BLOCK, n_items)
        start, stop = similar.indptr[lo], similar.indptr[hi]
        near = np.repeat(np.arange(lo, hi), similar.lengths()[lo:hi])
        near_items, near_scores = similar.values[start:stop], similar.scores[start:stop]
        same = (cat[near] == cat[near_items]) & (cat[near] >= 0)
        alt = alternatives[lo:hi].tocoo()
        ok = catalogue.available[alt.col]
        x = np.concatenate((near - lo, alt.row[ok]))
        y = np.concatenate((near_items, alt.col[ok]))
        s = np.concatenate((np.where(same, near_scores * (1 + boost), near_scores), alt.data[ok] * (1 + boost)))
        summed = sp.csr_matrix((s.astype(np.float64), (x, y)), shape=(hi - lo, n_items)).tocoo()
        blocks.append(_top_positive(summed.row, summed.col, summed.data, hi - lo, k))
    return stacked(blocks, n_items)


def _top_positive(row_of: np.ndarray, values: np.ndarray, scores: np.ndarray, rows: int, k: int) -> Ragged:
    """``ragged.top_per_row`` for positive scores (ties keep the given order), a tenth of its time at scale:
    one stable sort of a float key in [row, row + 0.5) instead of a sort on two keys."""
    scores = np.asarray(scores, np.float64)
    top = float(scores.max(initial=0.0)) * (1 + 1e-6) or 1.0
    order = np.argsort(row_of + 0.5 * (1.0 - scores / top), kind="stable")
    keep = order[rank_in_row(row_of[order], rows) < k]
    return grouped(row_of[keep], values[keep], scores[keep].astype(np.float32), rows)


@dataclass(frozen=True)
class AlsoBoughtOrder:
    """How an also-bought list is scored: what buyers bought next and the item-kNN neighbours, each scaled to
    0..1 per item and weighted, near-copies damped."""

    next_weight: float = 0.3
    knn_weight: float = 1.0
    same_category_factor: float = 0.5
    popularity_exponent: float = 0.5  # of the bought-next score (``Together.scores``)
    min_buyers: int = 1  # pairs bought next by fewer distinct buyers are left out
    fill: str = ALSO_BOUGHT_FILLS[0]  # what the service shows after the entries (``recsvc.contract.units``)

    @classmethod
    def of(cls, config: TrainConfig) -> "AlsoBoughtOrder":
        """The fixed order the configuration sets: what buyers bought next counts only from the evidence floor on
        (``also_bought_min_co_buyers``), as a list shows it: a single co-buyer is no evidence (docs/quality.md)."""
        next_weight, damping = config.also_bought_next_weight, config.same_category_factor
        return cls(next_weight, 1.0, damping, 0.5, min_buyers=config.also_bought_min_co_buyers)

    def describe(self) -> str:
        evidence = f", pairs of {self.min_buyers}+ buyers" if self.min_buyers > 1 else ""
        return (
            f"bought next x {self.next_weight:g} (popularity exponent {self.popularity_exponent:g}{evidence}) + "
            f"item-kNN x {self.knn_weight:g}, near-copies x {self.same_category_factor:g}, then {self.fill} items"
        )


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


def ndcg_of_rows(scores: sp.csr_matrix, relevant: sp.csr_matrix, at: int = 10) -> np.ndarray:
    """Per row: NDCG@at of the row's positive entries, best first, against its relevant items (binary)."""
    row, col, rank = use_tasks.ranked_entries(scores)
    top = rank < at
    row, col, rank = row[top], col[top], rank[top]
    wanted = relevant.tocoo()
    keys = sorted_keys.unique(wanted.row.astype(np.int64) * scores.shape[1] + wanted.col)
    hit = sorted_keys.member(row * scores.shape[1] + col, keys)
    discount = 1.0 / np.log2(np.arange(at) + 2)
    dcg = np.bincount(row[hit], weights=discount[rank[hit]], minlength=scores.shape[0])
    ideal = np.cumsum(discount)[np.clip(np.diff(relevant.indptr), 1, at) - 1]
    return dcg / ideal


def also_bought_blend(
    bought_next: BoughtNext,
    neighbours: sp.csr_matrix,
    catalogue: CodedCatalog,
    config: TrainConfig,
    k: int,
    order: AlsoBoughtOrder | None = None,
) -> Ragged:
    """Per item: what its buyers bought next, blended with its item-kNN neighbours (BM25 of every event).

    Purchases alone are too sparse on most shops (measured: item-kNN of all events finds the next purchase
    about twice as often); the bought-next part lifts complements where buyers show them. Each part is
    scaled to 0..1 per item and weighted as ``order`` says (the configuration's fixed order by default);
    an item in both gets both; near-copies are damped in the categories ``bought_next`` took for them. Entries
    not bought together by enough buyers (``Together.evidenced``) get a negative score (their reason is then
    ``viewed_together``, not ``bought_together``), or are left out where they are not item-kNN neighbours
    either."""
    order = order or AlsoBoughtOrder.of(config)
    n_items = len(catalogue.category)
    rows = np.repeat(np.arange(bought_next.rows), bought_next.lengths())
    after = sp.csr_matrix((np.abs(bought_next.scores), (rows, bought_next.values)), shape=(n_items, n_items))
    shown = sp.csr_matrix(((bought_next.scores > 0).astype(np.float32), (rows, bought_next.values)), after.shape)
    shown.eliminate_zeros()
    knn = (neighbours @ sp.diags(catalogue.available.astype(np.float32))).tocoo()
    factor = order.same_category_factor
    damped = near_copies.damped(knn.row, knn.col, knn.data, catalogue.category, bought_next.near, factor)
    knn = sp.csr_matrix((damped, (knn.row, knn.col)), shape=knn.shape)
    blend = (order.next_weight * row_max_scaled(after) + order.knn_weight * row_max_scaled(knn)).tocoo()
    keep = (blend.data > 0) & (blend.row != blend.col)
    top = _top_positive(blend.row[keep], blend.col[keep], blend.data[keep], n_items, k)
    # the sign says what an entry rests on (``recsvc.contract.records.ItemRecord``): bought together (above the
    # evidence floor) or viewed together; what only a buyer or two below the floor bought next is left out
    rows = np.repeat(np.arange(top.rows), top.lengths())
    bought = has(shown, rows, top.values)
    viewed = has(knn, rows, top.values)
    top.scores = np.where(bought, top.scores, -top.scores).astype(np.float32)
    keep = bought | viewed
    return grouped(rows[keep], top.values[keep], top.scores[keep], n_items)
