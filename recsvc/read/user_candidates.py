"""A user's candidates for their picks, each with its reason: the stored picks, or for a user the model did not
fit the lists of their history; and how many viewed items a list may offer again."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import zip_longest

from recsvc.contract.records import LAST_ITEM_CAUSE, ItemRecord, UserRecord, general_reason
from recsvc.read.listing import BECAUSE_YOU_BOUGHT, BECAUSE_YOU_VIEWED, RECENTLY_VIEWED, Candidate, Filters, scored
from recsvc.store.model import ModelStore

LIGHT_HISTORY = 5  # history items whose lists serve a user the model did not fit
VIEWED_SHARE = 0.3
"""At most this share of a user's picks are items they viewed and did not buy, unless ``include_viewed``."""


class UserCandidates:
    """The candidates of users' picks under one store."""

    def __init__(self, store: ModelStore, viewed_share: float = VIEWED_SHARE):
        self.store = store
        self.viewed_share = viewed_share

    def capped(
        self, candidates: Iterable[Candidate], blocked: set[int], filters: Filters, named: bool = True
    ) -> Iterator[Candidate]:
        """The candidates with at most the allowed number of re-offered views (none unless ``named``); the others
        are blocked, so no later part of the list brings them back."""
        allowed = self.viewed_cap(filters, named)
        if allowed is None:
            yield from candidates
            return
        for candidate in candidates:
            if candidate[2] is RECENTLY_VIEWED:
                if allowed <= 0:
                    blocked.add(candidate[0])
                    continue
                allowed -= 1
            yield candidate

    def viewed_cap(self, filters: Filters, named: bool = True) -> int | None:
        """How many viewed items a user's picks may offer again (None: all of them)."""
        if filters.include_viewed and named:
            return None
        return 0 if filters.include_viewed is False or not named else int(self.viewed_share * filters.limit)

    def picks(self, version: str, record: UserRecord, named: bool = True) -> Iterator[Candidate]:
        """The user's precomputed picks, each with its reason (``pick_reasons``)."""
        reason = self.pick_reasons(version, record, record.because, named)
        return (
            (item, score, reason(item, cause))
            for item, score, cause in zip(record.picks, record.scores, record.because)
        )

    def pick_reasons(
        self, version: str, record: UserRecord, causes: Sequence[int], named: bool = True
    ) -> Callable[[int, int], dict]:
        """The reason of a pick of the user (its item, its cause), for picks of these causes: the history item
        that explains it (only its kind when not ``named``), or a general one (``reasons.GENERAL``)."""
        items = [b for b in causes if b <= LAST_ITEM_CAUSE] if named else []
        names = {b: item_id for b, item_id in zip(items, self._item_ids(version, items)) if item_id is not None}
        bought = set(record.bought)

        def reason(item: int, cause: int) -> dict:
            if cause == item:  # an item the user viewed, offered again
                return RECENTLY_VIEWED
            if cause in names:
                return {
                    "type": "because_you_bought" if cause in bought else "because_you_viewed",
                    "item_id": names[cause],
                }
            if not named and cause <= LAST_ITEM_CAUSE:
                return BECAUSE_YOU_BOUGHT if cause in bought else BECAUSE_YOU_VIEWED
            return {"type": general_reason(cause) or "personalized"}

        return reason

    def from_history(
        self, version: str, record: UserRecord, lists: dict[int, ItemRecord] | None = None, named: bool = True
    ) -> Iterator[Candidate]:
        """For a user without picks: what they viewed, again; then the similar items of what they viewed and
        the also-bought of what they bought (measured offline: re-offering views wins, docs/quality.md); the
        reasons name those history items only when ``named``."""
        viewed = list(record.recent[:LIGHT_HISTORY])
        yield from ((index, 1.0, RECENTLY_VIEWED) for index in viewed)
        items = history(record)
        if lists is None:
            lists = self.store.item_records(version, items)
        names = dict(zip(items, self._item_ids(version, items)))  # only this user's: ``lists`` may hold many
        sources = []
        for n, index in enumerate(items):
            rec = lists.get(index)
            if rec is None:
                continue
            if n < len(viewed):
                reason = {**BECAUSE_YOU_VIEWED, "item_id": names[index]} if named else BECAUSE_YOU_VIEWED
                sources.append(scored(rec.similar, rec.similar_scores, reason))
            else:
                reason = {**BECAUSE_YOU_BOUGHT, "item_id": names[index]} if named else BECAUSE_YOU_BOUGHT
                sources.append(scored(rec.also_bought, [abs(s) for s in rec.also_bought_scores], reason))
        for round_ in zip_longest(*sources):  # one from each history item in turn
            yield from (c for c in round_ if c is not None)

    def _item_ids(self, version: str, indices: Sequence[int]) -> list[str | None]:
        """Item ids by index (None for an index without attributes)."""
        return [shown.item_id if shown else None for shown in self.store.shown(version, list(indices))]


def history(record: UserRecord) -> list[int]:
    """The items whose lists serve a user without picks: recent views first, then purchases."""
    return list(record.recent[:LIGHT_HISTORY]) + list(record.bought[:LIGHT_HISTORY])
