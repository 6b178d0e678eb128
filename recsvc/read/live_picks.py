"""A known user's views, carts and wishes since training, in their lists at the next request.

The stored lists are last night's. The items a user browsed since the served version's training read its events
(``Live.browsed_since`` its ``learned_until``) give live candidates: those items again, then their
neighbours (the also-bought of carted items, the similar items of every one), one from each item
in turn, newest first. The live candidates and the stored ones are interleaved by rank, the live
ones taking the share of places the version publishes (``VersionSummary.live_share``). Category offers take
the categories browsed today the same way. A user without such events costs nothing.
"""

from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from itertools import chain, islice, zip_longest
from typing import TypeVar

from recsvc.contract.events import ADDTOCART
from recsvc.contract.live import Live
from recsvc.contract.units import LIVE_SHARE_DEFAULT
from recsvc.read.listing import BECAUSE_YOU_VIEWED, Candidate, scored
from recsvc.store.model import ModelStore

T = TypeVar("T")

VIEWED_TODAY = {"type": "recently_viewed"}
"""An item browsed since training, offered again: not one of the stored list's re-offered views (``RECENTLY_VIEWED``,
whose share of a list is capped), as measured on the next-day task (docs/realtime.md)."""

LIVE_CANDIDATES = 50
"""Live candidates a list takes at most: as many as the picks a user's record keeps (a category offer groups them
all by category; a list reads only as many as it shows)."""

Browsed = list[tuple[int, str]]
"""(event code, item id) of the views, carts and wishes since training, newest first."""


def interleaved(stored: Iterable[T], live: Iterable[T], share: float) -> Iterator[T]:
    """The two ranked sequences merged by rank: the n-th live entry goes at (n + 1/2) / share, the n-th stored one
    at (n + 1/2) / (1 - share), ties to live; share 0 gives the stored sequence, 1 the live one then the stored.
    An entry is read only once the list has taken the one before it from the same sequence."""
    if share <= 0:
        return iter(stored)
    if share >= 1:
        return chain(live, stored)
    return _by_rank(iter(stored), iter(live), share)


def _by_rank(stored: Iterator[T], live: Iterator[T], share: float) -> Iterator[T]:
    end = object()
    next_live, next_stored = next(live, end), next(stored, end)
    n = m = 0
    while next_live is not end and next_stored is not end:
        if (n + 0.5) / share <= (m + 0.5) / (1 - share):
            yield next_live  # type: ignore[misc]
            n += 1
            next_live = next(live, end)
        else:
            yield next_stored  # type: ignore[misc]
            m += 1
            next_stored = next(stored, end)
    for rest, first in ((live, next_live), (stored, next_stored)):
        if first is not end:
            yield first  # type: ignore[misc]
            yield from rest


class LivePicks:
    """Live candidates of known users from one store; ``share`` overrides the version's (for a measured sweep)."""

    def __init__(self, store: ModelStore, share: float | None = None):
        self.store = store
        self.share = share

    def browsed(self, version: str, live: Live) -> Browsed:
        """The user's views, carts and wishes that ``version`` has not learned (none without live events)."""
        return live.browsed_since(self.store.learned_until(version)) if live else []

    def share_of(self, version: str) -> float:
        """The share of places the live candidates take in ``version``'s lists."""
        if self.share is not None:
            return self.share
        share = self.store.summary(version).live_share
        return float(share) if share is not None else LIVE_SHARE_DEFAULT

    def prefetch(self, version: str, browsed: Iterable[Browsed], limit: int) -> None:
        """Read at once what many users' browsed items take (a batch's): their item records, then the items and the
        first ``limit`` neighbours of each as answers show them, so each user costs no round trip of their own."""
        found = self.store.item_records_by_id(version, list({item for events in browsed for _, item in events}))
        indices: set[int] = set()
        for record in found.values():
            indices.update((record.index, *record.similar[:limit], *record.also_bought[:limit]))
        self.store.load_shown(version, indices)

    def indices(self, version: str, browsed: Browsed) -> set[int]:
        """The indices of the browsed items the version knows: what a list that may not offer them again blocks."""
        return {record.index for record in self.store.item_records_by_id(version, [i for _, i in browsed]).values()}

    def candidates(
        self, version: str, browsed: Browsed, named: bool = True, reoffer: bool = True
    ) -> Iterator[Candidate]:
        """The browsed items again (newest first; only if ``reoffer``), then their neighbours one item at a time; a
        neighbour's reason names the browsed item only when ``named``."""
        items = list(dict.fromkeys(item for _, item in browsed))
        found = self.store.item_records_by_id(version, items)
        carted = {item for code, item in browsed if code == ADDTOCART}
        again = [(found[item].index, 1.0, VIEWED_TODAY) for item in items if item in found] if reoffer else []
        sources = []
        for item in items:
            record = found.get(item)
            if record is None:
                continue
            reason = {**BECAUSE_YOU_VIEWED, "item_id": item} if named else BECAUSE_YOU_VIEWED
            neighbours = scored(record.similar, record.similar_scores, reason)
            if item in carted:  # what is bought with it first
                bought_with = scored(record.also_bought, [abs(s) for s in record.also_bought_scores], reason)
                neighbours = chain(bought_with, neighbours)
            sources.append(neighbours)
        turns = (c for round_ in zip_longest(*sources) for c in round_ if c is not None)
        return islice(chain(again, turns), LIVE_CANDIDATES)

    def merged(
        self, version: str, stored: Iterable[Candidate], browsed: Browsed, named: bool = True, reoffer: bool = True
    ) -> Iterator[Candidate]:
        """The stored candidates with the live ones interleaved at the version's share."""
        return interleaved(stored, self.candidates(version, browsed, named, reoffer), self.share_of(version))

    def categories(
        self, version: str, browsed: Browsed, bought_from: Collection[str | None]
    ) -> list[tuple[str, float, str]]:
        """The leaf categories of the browsed items as offers (category id, score, reason), the most browsed first
        (ties: the newest): ``viewed_not_bought`` where the user never bought from it, else ``affinity``."""
        found = self.store.item_records_by_id(version, [item for _, item in browsed])
        indices = [found[item].index for _, item in browsed if item in found]
        shown = self.store.shown(version, indices)
        counts = Counter(item.category_id for item in shown if item is not None and item.category_id)
        total = sum(counts.values())
        return [
            (category, count / total, "affinity" if category in bought_from else "viewed_not_bought")
            for category, count in counts.most_common()  # most_common keeps first-seen (newest) order among ties
        ]
