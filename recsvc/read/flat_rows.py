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


def held(users: int, items: np.ndarray, *flats: FlatRows) -> np.ndarray:
    """For each user and each of ``items``, whether the user's rows in ``flats`` hold the item."""
    first = np.full(int(max(items.max(initial=0), *(flat.items.max(initial=0) for flat in flats))) + 1, -1)
    first[items[::-1]] = np.arange(len(items))[::-1]  # an item's first place in ``items``
    out = np.zeros((users, len(items)), bool)
    for flat in flats:
        where = first[flat.items]
        out[flat.rows[where >= 0], where[where >= 0]] = True
    return out[:, first[items]]  # an item named twice answers as at its first place


def known_or_repeated(users: int, top: np.ndarray, owned: FlatRows, picked: FlatRows) -> np.ndarray:
    """For each user and each of the popular items ``top``, whether the user bought it, has it among their picks
    (read already, or kept out) or it came earlier in ``top``: the popular items that fill a list skip those."""
    known = held(users, top, owned, picked)
    _, firsts = np.unique(top, return_index=True)
    repeated = np.ones(len(top), bool)
    repeated[firsts] = False
    known[:, repeated] = True
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
