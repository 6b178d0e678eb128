"""The pins of many lists placed at once (``recsvc.read.batch_pools``), as ``listing.pin_places`` places them in
one: each list a row of item indices and shown scores, each pin a column operation over the rows that show it."""

from dataclasses import dataclass

import numpy as np

from recsvc.read.shown_scores import rounded


@dataclass
class PinnedRows:
    """Lists after their pins: each place is ``tokens`` >= 0 (the list's own item at that place before the pins) or
    -1 - k (pin k); ``scores`` as shown; ``lengths``; ``placed[row, k]``: pin k went into the row's list."""

    tokens: np.ndarray
    scores: np.ndarray
    lengths: np.ndarray
    placed: np.ndarray


def place_pins(
    items: np.ndarray,
    scores: np.ndarray,
    lengths: np.ndarray,
    pins: np.ndarray,
    positions: np.ndarray,
    shows: np.ndarray,
    limit: int,
) -> PinnedRows:
    """Place pin k's item ``pins[k]`` at ``positions[k]`` (1-based; last in a shorter list) in each list whose row
    of ``shows[:, k]`` is true, in pin order: out of its place if the list has it, with the score of the item it
    moves down (the last one's past the end, 0.0 in an empty list), the list cut to ``limit``.

    ``items`` and ``scores`` hold each list's items (their indices) and shown scores, ``lengths[row]`` of them."""
    rows_count, width = len(lengths), limit + 1
    columns = np.arange(width)
    tokens = np.broadcast_to(columns, (rows_count, width)).copy()
    grid_items, grid_scores = _widened(items, width, -1), _widened(scores, width, 0.0)
    lengths = lengths.astype(np.int64, copy=True)
    placed = np.zeros((rows_count, len(pins)), bool)
    for k, (item, position) in enumerate(zip(pins.tolist(), positions.tolist())):
        rows = np.flatnonzero(shows[:, k])
        if not rows.size:
            continue
        held, shown, made, size = grid_items[rows], grid_scores[rows], tokens[rows], lengths[rows]
        found = (held == item) & (columns < size[:, None])
        has = found.any(axis=1)
        at = np.where(has, found.argmax(axis=1), width)
        take = np.minimum(columns + (columns >= at[:, None]), width - 1)  # out of its place: the rest moves up
        held, shown, made = (np.take_along_axis(part, take, 1) for part in (held, shown, made))
        size -= has
        place = np.where(position <= size, position - 1, size)
        under = np.where(place < size, place, np.maximum(size - 1, 0))
        score = np.where(size > 0, shown[np.arange(len(rows)), under], 0.0)
        take = np.maximum(columns - (columns > place[:, None]), 0)  # in at its place: the rest moves down
        held, shown, made = (np.take_along_axis(part, take, 1) for part in (held, shown, made))
        ends = np.arange(len(rows))
        held[ends, place], shown[ends, place], made[ends, place] = item, rounded(score), -1 - k
        grid_items[rows], grid_scores[rows], tokens[rows] = held, shown, made
        lengths[rows] = np.minimum(size + 1, limit)
        placed[rows, k] = True
    return PinnedRows(tokens, grid_scores, lengths, placed)


def _widened(values: np.ndarray, width: int, fill: float) -> np.ndarray:
    """The rows with room for ``width`` places."""
    out = np.full((len(values), width), fill, values.dtype)
    out[:, : values.shape[1]] = values[:, :width]
    return out
