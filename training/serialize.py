"""Ragged lists -> the binary records of ``recsvc.contract.records``, one bytes value per user or item.

Records are laid out with whole-array numpy operations, a chunk of rows at a time: each
record's header and sections are scattered into one buffer, and each record is then a slice
of it. That is several times faster than packing record by record.
"""

from collections.abc import Iterator

import numpy as np

from recsvc.contract.records import FORMAT, ITEM_HEADER, NO_ITEM, USER_HEADER
from training.ragged import Ragged

CHUNK_ROWS = 100_000

_USER_HEADER_DTYPE = np.dtype(
    [("format", "u1"), ("picks", "<u2"), ("bought", "<u2"), ("recent", "<u2"), ("offers", "<u2")]
)
_ITEM_HEADER_DTYPE = np.dtype([("format", "u1"), ("index", "<u4"), ("also", "<u2"), ("similar", "<u2")])
assert _USER_HEADER_DTYPE.itemsize == USER_HEADER.size and _ITEM_HEADER_DTYPE.itemsize == ITEM_HEADER.size


class _Section:
    """One ragged column as little-endian bytes."""

    def __init__(self, indptr: np.ndarray, values: np.ndarray, dtype: str):
        self.indptr = indptr
        self.size = np.dtype(dtype).itemsize
        self.data = np.ascontiguousarray(np.asarray(values).astype(dtype, copy=False)).view(np.uint8)

    def counts(self) -> np.ndarray:
        return np.diff(self.indptr)


def _records(header: np.ndarray, sections: list[_Section], rows: np.ndarray) -> Iterator[tuple[int, bytes]]:
    """(row, header + its slice of every section) for the given rows, in order."""
    header_bytes = header.view(np.uint8).reshape(len(header), header.dtype.itemsize)
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        sizes = [s.counts()[chunk] * s.size for s in sections]
        lengths = header.dtype.itemsize + np.sum(sizes, axis=0)
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        buffer = np.empty(offsets[-1], dtype=np.uint8)
        width = header.dtype.itemsize
        buffer[(offsets[:-1, None] + np.arange(width)).ravel()] = header_bytes[chunk].ravel()
        position = offsets[:-1] + width
        for section, size in zip(sections, sizes):
            source = section.indptr[chunk] * section.size
            total = int(size.sum())
            if total:
                step = np.arange(total) - np.repeat(np.cumsum(size) - size, size)
                buffer[np.repeat(position, size) + step] = section.data[np.repeat(source, size) + step]
            position = position + size
        view = buffer.tobytes()
        for row, lo, hi in zip(chunk.tolist(), offsets[:-1].tolist(), offsets[1:].tolist()):
            yield row, view[lo:hi]


def user_records(
    picks: Ragged, because: np.ndarray, bought: Ragged, recent: Ragged, offers: Ragged, offer_reasons: np.ndarray
) -> Iterator[tuple[int, bytes]]:
    """(user code, record) for every user with any history."""
    because = np.where(because < 0, NO_ITEM + 1 + because, because)  # -1 - n: the n-th general reason
    sections = [
        _Section(picks.indptr, picks.values, "<u4"),
        _Section(picks.indptr, picks.scores, "<f4"),
        _Section(picks.indptr, because, "<u4"),
        _Section(bought.indptr, bought.values, "<u4"),
        _Section(recent.indptr, recent.values, "<u4"),
        _Section(offers.indptr, offers.values, "<u4"),
        _Section(offers.indptr, offers.scores, "<f4"),
        _Section(offers.indptr, offer_reasons, "u1"),
    ]
    header = np.zeros(picks.rows, dtype=_USER_HEADER_DTYPE)
    header["format"] = FORMAT
    header["picks"], header["bought"] = picks.lengths(), bought.lengths()
    header["recent"], header["offers"] = recent.lengths(), offers.lengths()
    with_history = np.flatnonzero((header["bought"] > 0) | (header["recent"] > 0))
    yield from _records(header, sections, with_history)


def item_records(n_items: int, also: Ragged, similar: Ragged) -> Iterator[tuple[int, bytes]]:
    """(item code, record) for every item."""
    sections = [
        _Section(also.indptr, also.values, "<u4"),
        _Section(also.indptr, also.scores, "<f4"),
        _Section(similar.indptr, similar.values, "<u4"),
        _Section(similar.indptr, similar.scores, "<f4"),
    ]
    header = np.zeros(n_items, dtype=_ITEM_HEADER_DTYPE)
    header["format"], header["index"] = FORMAT, np.arange(n_items)
    header["also"], header["similar"] = also.lengths(), similar.lengths()
    yield from _records(header, sections, np.arange(n_items))
