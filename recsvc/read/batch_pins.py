"""The pins of many lists placed at once (``recsvc.read.batch_pools``), as ``listing.pin_places`` places them in
one: each list a row of item indices and shown scores, each pin a column operation over the rows that show it."""

from dataclasses import dataclass

import numpy as np


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

    ``items`` and ``scores`` hold each list's items (their indices) and shown scores, ``lengths[row]`` of them
    (``limit`` columns). A place holds a token: the list's own place p, or ``limit + k`` for pin k, whose item and
    score are looked up in the row's table of both."""
    count, width = len(lengths), limit + 1
    columns = np.arange(width)
    tokens = np.broadcast_to(columns, (count, width)).copy()
    table = limit + len(pins)  # a row's own places, then its pins
    item_table = np.concatenate((items, np.broadcast_to(pins, (count, len(pins)))), axis=1).ravel()
    score_table = np.concatenate((scores, np.zeros((count, len(pins)))), axis=1).ravel()
    lengths = lengths.astype(np.int64, copy=True)
    placed = np.zeros((count, len(pins)), bool)
    for k, (item, position) in enumerate(zip(pins.tolist(), positions.tolist())):
        showing = np.flatnonzero(shows[:, k])
        rows = slice(None) if len(showing) == count else showing  # all rows, without a copy
        made, size = tokens[rows], lengths[rows]
        base = showing[:, None] * table  # the row's table in the flat tables
        found = (item_table[made + base] == item) & (columns < size[:, None])
        has = found.any(axis=1)
        at = np.where(has, found.argmax(axis=1), width)[:, None]  # out of its place: the rest moves up
        size = size - has
        place = np.minimum(position - 1, size)[:, None]
        under = np.minimum(place, np.maximum(size - 1, 0)[:, None])[:, 0]
        each = np.arange(len(made))
        under_token = made[each, under + (under >= at[:, 0])]
        score = np.where(size > 0, score_table[under_token + base[:, 0]], 0.0)
        shifted = columns - (columns > place)  # in at its place: the rest moves down
        made = made[each[:, None], np.minimum(shifted + (shifted >= at), limit)]
        made[each, place[:, 0]] = limit + k
        tokens[rows] = made
        score_table[base[:, 0] + limit + k] = score  # rounded already: ``round`` gives it back
        lengths[rows] = np.minimum(size + 1, limit)
        placed[rows, k] = True
    shown = score_table[tokens + np.arange(count)[:, None] * table]
    return PinnedRows(np.where(tokens >= limit, limit - 1 - tokens, tokens), shown, lengths, placed)
