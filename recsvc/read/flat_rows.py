"""Many users' rows of items as flat arrays, row after row (``recsvc.read.batch_pools``): counts and places
within rows, running counts, and which items a row has seen before."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


def heads(counts: np.ndarray) -> np.ndarray:
    """Where each row starts in flat arrays of rows of these lengths."""
    return np.cumsum(counts) - counts


def joined(parts: Iterable[Sequence | np.ndarray], dtype: type = np.uint32) -> np.ndarray:
    """The records' arrays (of 4-byte values: views or numpy arrays) one after the other, as one array."""
    return np.frombuffer(b"".join(parts), dtype)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FlatRows:
    """Items of many users, flat: each one's user (row), its place in the row and the item."""

    rows: np.ndarray
    place: np.ndarray
    items: np.ndarray


def seen_before(users: int, owned: FlatRows, picked: FlatRows) -> np.ndarray:
    """For each of the users' picks, whether the user bought the item or an earlier pick is it."""
    first = int(owned.place.max(initial=-1)) + 1  # the picks' column of the table
    width = first + int(picked.place.max(initial=-1)) + 1
    table = np.broadcast_to(-1 - np.arange(width), (users, width)).copy()  # distinct until filled
    table[owned.rows, owned.place] = owned.items
    table[picked.rows, first + picked.place] = picked.items
    order = np.argsort(table, axis=1, kind="stable")  # an item's first place comes first
    ordered = np.take_along_axis(table, order, 1)
    again = np.zeros(table.shape, bool)
    np.put_along_axis(again, order[:, 1:], ordered[:, 1:] == ordered[:, :-1], 1)
    return again[picked.rows, first + picked.place]


def known_or_repeated(users: int, top: np.ndarray, owned: FlatRows, picked: FlatRows) -> np.ndarray:
    """For each user and each of the popular items ``top``, whether the user bought it, has it among their picks
    (read already, or kept out) or it came earlier in ``top``: the popular items that fill a list skip those."""
    place = np.full(int(max(top.max(initial=0), owned.items.max(initial=0), picked.items.max(initial=0))) + 1, -1)
    place[top[::-1]] = np.arange(len(top))[::-1]  # an item's first place in ``top``
    known = np.zeros((users, len(top)), bool)
    for flat in (owned, picked):
        where = place[flat.items]
        known[flat.rows[where >= 0], where[where >= 0]] = True
    known[:, place[top] != np.arange(len(top))] = True
    return known


def within(lengths: Sequence[int]) -> np.ndarray:
    """Each entry's place within its row, for flat rows of these lengths."""
    counts = np.asarray(lengths, np.int64)
    return np.arange(int(counts.sum())) - np.repeat(heads(counts), counts)


def running(flags: np.ndarray, head: np.ndarray) -> np.ndarray:
    """The count of true flags up to each entry, within its row (``head``: where each entry's row starts)."""
    total = np.cumsum(flags, dtype=np.int64)
    return total - (total[head] - flags[head])


def occurrence(groups: np.ndarray) -> np.ndarray:
    """How many entries before each one have its group value."""
    order = np.argsort(groups, kind="stable")
    ordered = groups[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, len(groups)])
    seen = np.empty(len(groups), np.int64)
    seen[order] = np.arange(len(groups)) - np.repeat(starts, sizes)
    return seen
