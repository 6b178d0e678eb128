"""Ragged arrays (one short list per row) built and cut with vectorized numpy."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class Ragged:
    """Row r holds ``values[indptr[r]:indptr[r+1]]`` and the same slice of ``scores``."""

    indptr: np.ndarray
    values: np.ndarray
    scores: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)

    def rank(self) -> np.ndarray:
        """Each entry's position within its row."""
        return np.arange(len(self.values)) - np.repeat(self.indptr[:-1], self.lengths())

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.indptr[r], self.indptr[r + 1]
        return self.values[lo:hi], self.scores[lo:hi]

    def rows_between(self, lo: int, hi: int) -> "Ragged":
        """Rows lo to hi (excluded) as a Ragged of their own."""
        start, stop = self.indptr[lo], self.indptr[hi]
        return Ragged(self.indptr[lo : hi + 1] - start, self.values[start:stop], self.scores[start:stop])

    @classmethod
    def empty(cls, rows: int) -> "Ragged":
        return cls(np.zeros(rows + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))


def stacked(blocks: list[Ragged], rows: int) -> Ragged:
    """Blocks of consecutive rows, one after the other, as one Ragged of ``rows`` rows (empty without blocks)."""
    if not blocks:
        return Ragged.empty(rows)
    lengths = np.concatenate([block.lengths() for block in blocks])
    indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    return Ragged(indptr, np.concatenate([b.values for b in blocks]), np.concatenate([b.scores for b in blocks]))


def rank_in_row(row_of: np.ndarray, rows: int) -> np.ndarray:
    """Each entry's position within its row, for entries already grouped by row."""
    counts = np.bincount(row_of, minlength=rows)
    starts = np.cumsum(counts) - counts  # also right for zero rows
    return np.arange(len(row_of)) - np.repeat(starts, counts)


def top_per_row(row_of: np.ndarray, values: np.ndarray, scores: np.ndarray, rows: int, k: int) -> Ragged:
    """The k highest-scored entries of each row, best first (ties keep the given order)."""
    order = by_row_best_first(row_of, scores)
    row_of, values, scores = row_of[order], values[order], scores[order]
    keep = rank_in_row(row_of, rows) < k
    return grouped(row_of[keep], values[keep], scores[keep], rows)


def by_row_best_first(row_of: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The order of the entries by row, then highest score first, ties in the given order: ``np.lexsort((-scores,
    row_of))``. For float32 scores without NaN it is one stable sort of a 64-bit key, the row above the score's bits
    made to sort descending: 2-4 times faster than lexsort, the same order."""
    if (
        scores.dtype != np.float32
        or not len(scores)
        or row_of.min() < 0
        or row_of.max() >= 2**32
        or np.isnan(scores).any()
    ):
        return np.lexsort((-scores, row_of))
    bits = (scores + np.float32(0)).view(np.uint32)  # + 0: -0.0 ties with 0.0, as in lexsort
    ascending = np.where(bits >> np.uint32(31), ~bits, bits | np.uint32(2**31))  # the float order as unsigned
    key = (row_of.astype(np.uint64) << np.uint64(32)) | (~ascending).astype(np.uint64)
    return np.argsort(key, kind="stable")


def grouped(row_of: np.ndarray, values: np.ndarray, scores: np.ndarray, rows: int) -> Ragged:
    """Entries already ordered by row (and within a row as wanted) -> Ragged."""
    indptr = np.concatenate(([0], np.cumsum(np.bincount(row_of, minlength=rows))))
    return Ragged(indptr.astype(np.int64), values, scores)


def top_of_sparse(matrix: sp.spmatrix, k: int) -> Ragged:
    """The k largest stored entries of each row of a sparse matrix (column index, value)."""
    coo = matrix.tocoo()
    return top_per_row(coo.row, coo.col, coo.data, matrix.shape[0], k)
