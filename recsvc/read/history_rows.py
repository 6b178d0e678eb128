"""Users' candidates as the batch reads them (``recsvc.read.batch_pools``): the stored picks, or for users without
picks the candidates ``UserCandidates.from_history`` gives one user at a time, made for all of them at once."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recsvc.contract.records import ItemRecord, UserRecord
from recsvc.read.flat_rows import heads, within
from recsvc.read.user_candidates import LIGHT_HISTORY, history


@dataclass(frozen=True)
class Candidates:
    """A user's candidates in order, as 4-byte arrays: items, scores and causes (the item that explains each, as
    ``UserRecord.because``); ``complete``: all of them, else only the first ones."""

    items: Sequence[int] | np.ndarray
    scores: Sequence[float] | np.ndarray
    causes: Sequence[int] | np.ndarray
    complete: bool = True


def stored(record: UserRecord) -> Candidates:
    """A user's stored picks."""
    return Candidates(record.picks, record.scores, record.because)


def from_histories(
    records: Sequence[UserRecord], lists: Mapping[int, ItemRecord], most: int
) -> list[Candidates | None]:
    """For users without picks, ``from_history``'s candidates: the viewed items again (each its own cause), then
    one from each history item's list in turn (the item the cause), the first ``most`` of those.

    None for a user who bought an item they viewed: ``UserCandidates.pick_reasons`` would say they bought what
    ``from_history`` says they viewed. (An item in its own list comes after the item itself, viewed or bought:
    never read, whatever its reason.)"""
    sources: list[tuple[int, int, Sequence[int], Sequence[float], bool]] = []  # user, cause, items, scores, abs
    fits = [set(record.recent[:LIGHT_HISTORY]).isdisjoint(record.bought) for record in records]
    for user, record in enumerate(records):
        if not fits[user]:
            continue
        viewed = len(record.recent[:LIGHT_HISTORY])
        for n, index in enumerate(history(record)):
            item_record = lists.get(index)  # only an item with attributes has one
            if item_record is None:
                continue
            if n < viewed:
                sources.append((user, index, item_record.similar, item_record.similar_scores, False))
            else:
                sources.append((user, index, item_record.also_bought, item_record.also_bought_scores, True))
    lengths = np.array([len(source[2]) for source in sources], np.int64)
    users = np.repeat(np.array([source[0] for source in sources], np.int64), lengths)
    causes = np.repeat(np.array([source[1] for source in sources], np.uint32), lengths)
    turn = within(lengths.tolist())  # one from each list in turn: by user, then turn, then list
    order = np.lexsort((np.repeat(np.arange(len(sources)), lengths), turn, users))
    items = np.concatenate([np.asarray(s[2], np.uint32) for s in sources] or [np.empty(0, np.uint32)])
    scores = np.concatenate(
        [np.abs(np.asarray(s[3], np.float32)) if s[4] else np.asarray(s[3], np.float32) for s in sources]
        or [np.empty(0, np.float32)]
    )
    users, items, scores, causes = users[order], items[order], scores[order], causes[order]
    counts = np.bincount(users, minlength=len(records))
    starts = heads(counts).tolist()
    out: list[Candidates | None] = []
    for user, (record, start, count) in enumerate(zip(records, starts, counts.tolist())):
        if not fits[user]:
            out.append(None)
            continue
        viewed_items = np.asarray(record.recent[:LIGHT_HISTORY], np.uint32)
        end = start + min(count, most)
        out.append(
            Candidates(
                np.concatenate((viewed_items, items[start:end])),
                np.concatenate((np.ones(len(viewed_items), np.float32), scores[start:end])),
                np.concatenate((viewed_items, causes[start:end])),
                complete=count <= most,
            )
        )
    return out
