"""The task of an item's own list: what the same customers took with it, beyond what everyone takes.

For a subject item X, the items the same customers took (viewed, carted, wished for or bought) within
``CO_DAYS`` of taking X; an item counts for X only where X's customers took it more often than customers at
large did, by ``CHANCE_Z`` standard errors (the shop's staples, taken with anything, are no item like X: the
also-bought task's rule, ``use_tasks.py``). A list for X is scored by NDCG@10 against them. The order of a new
item's list is chosen on it (``content_order.py``) and the evaluation measures it on it
(``training/evaluation/new_items.py``).
"""

from dataclasses import dataclass

import numpy as np

from recsvc.contract.units import DAY
from training import sorted_keys
from training.inputs.readers import Events
from training.ragged import rank_in_row

CO_DAYS = 7.0
"""Items taken this close to the subject by the same customer (either side) count as taken with it."""
CHANCE_Z = 2.0
"""Standard errors above the base rate an item's share of the subject's takers must be."""
K = 10


@dataclass
class ItemTask:
    """Subject items and, per subject, the items taken with it after the cut."""

    subjects: np.ndarray
    relevant: list[np.ndarray]


def co_taken(
    after: Events,
    n_items: int,
    subjects: np.ndarray | None = None,
    days: float = CO_DAYS,
    beyond: bool = True,
    reach: int | None = None,
) -> ItemTask:
    """The task over the events ``after`` (``subjects``: the items to score, default all; ``reach``: at most this
    many of a customer's later events are paired with each, to bound the cost on customers with very many)."""
    order = np.lexsort((after.timestamp, after.user))
    user, item, ts = after.user[order].astype(np.int64), after.item[order].astype(np.int64), after.timestamp[order]
    ends = np.searchsorted(user, user, "right")
    xs, ys, us = [], [], []
    longest = int(np.max(ends - np.arange(len(user)), initial=1))
    for shift in range(1, longest if reach is None else min(longest, reach + 1)):  # each later event of the user
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
    sequences = [part for own, fill in zip(lists, fills) for part in (own, fill)]
    if not sequences:
        return out
    lengths = np.array([len(part) for part in sequences], np.int64).reshape(-1, 2).sum(axis=1)
    row_of = np.repeat(np.arange(len(lists)), lengths)
    items = np.concatenate(sequences).astype(np.int64)
    keep = items != np.asarray(blocked, np.int64)[row_of]
    row_of, items = row_of[keep], items[keep]
    span = int(items.max(initial=0)) + 1
    first = np.sort(np.unique(row_of * span + items, return_index=True)[1])  # each item's first place in its row
    row_of, items = row_of[first], items[first]
    place = rank_in_row(row_of, len(lists))
    taken = place < k
    out[row_of[taken], place[taken]] = items[taken]
    return out


def category_fill(per_category, category: int, overall: np.ndarray) -> np.ndarray:
    """A category's best-sellers (a row of ``per_category``, a Ragged), then the shop's: the service's fill of
    an item's list."""
    own = per_category.row(category)[0] if category >= 0 else np.zeros(0, np.int64)
    return np.concatenate((own, overall))


def ndcg(ranked: np.ndarray, relevant: list[np.ndarray], k: int = K) -> np.ndarray:
    """Per subject: NDCG@k of its row of ``ranked`` (item codes, -1 for none) against its relevant items."""
    discount = 1.0 / np.log2(np.arange(k) + 2)
    out = np.zeros(len(relevant))
    sizes = np.array([len(wanted) for wanted in relevant], np.int64)
    if not sizes.sum():
        return out
    rows = np.repeat(np.arange(len(relevant)), sizes)
    wanted = np.concatenate(relevant).astype(np.int64)
    ranked = np.asarray(ranked[:, :k], np.int64)
    span = max(int(wanted.max()), int(ranked.max(initial=-1))) + 2  # -1 (no item) keys no relevant item
    pairs = np.unique(rows * span + wanted)
    distinct = np.bincount(pairs // span, minlength=len(relevant))
    hits = np.isin(np.arange(len(relevant))[:, None] * span + ranked, pairs)
    ideal = np.array([discount[:m].sum() for m in range(k + 1)])
    # each distinct pattern of places hit summed as one row's hits are (the same float sum, not a reordered one)
    patterns, each = np.unique(hits, axis=0, return_inverse=True)
    gained = np.array([discount[: hits.shape[1]][pattern].sum() for pattern in patterns])[each.ravel()]
    scored = sizes > 0
    out[scored] = gained[scored] / ideal[np.minimum(distinct, k)][scored]
    return out
