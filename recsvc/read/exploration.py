"""Exploration: a bounded share of the picks and the popular lists goes to new items, reason ``new_arrival``.

New items are the items ``recsvc catalog update`` added since training (``ModelStore.arrivals``): they have no
events, so no trained list ranks them, and without a place of their own no customer's events would ever
start to. Items first seen in the training window are not among them: the trained lists already place them by
their events. A list of ``limit`` items gives at most ``floor(share * limit)`` places to new items, spread to
end at the list's last place (``places``): with the default share of 0.1, the 10th of 10. They are new items of
the user's categories (those of their offers; without any, those of what they bought and viewed), and for a
popular list new items of the list's category (any without one), newest first.

The share is the service's ``EXPLORATION_SHARE`` unless an ``exploration`` rule of the list's rule set gives
another (an A/B arm's rule set may, so an experiment compares shares; 0 turns it off); an answer that shows a new
item at that rule's share names it in its ``rules`` (``listing.finished``). New items pass through the list's rules
as any candidate: a filter drops them, a bury lowers them, pins still win their places. A new item's score is that
of the candidate whose place it takes (``interleaved``), as a pin's is.
"""

import math
from collections.abc import Iterable, Iterator, Sequence

from recsvc.contract.records import UserRecord
from recsvc.read.listing import NEW_ARRIVAL, Candidate
from recsvc.read.rule_format import MAX_EXPLORATION
from recsvc.read.rules import ListRules
from recsvc.store.model import ModelStore

VERSIONS_KEPT = 4
"""Versions whose new items by category a process keeps (an A/B test serves a few at once)."""
SHARE = 0.1
"""The default share of a list that goes to new items (docs/merchandising.md: its cost on the picks task)."""


def exploration_share(value: object) -> float:
    """The service's ``EXPLORATION_SHARE`` setting as a share; ValueError outside 0 to ``MAX_EXPLORATION``."""
    share = float(value)  # type: ignore[arg-type]
    if not 0 <= share <= MAX_EXPLORATION:
        raise ValueError(f"EXPLORATION_SHARE must be from 0 to {MAX_EXPLORATION:g}, got {value!r}")
    return share


def places(limit: int, share: float) -> list[int]:
    """How many of a list's other candidates come before each new item: ``floor(share * limit)`` places, evenly
    spread, the last at the list's end (limit 10, share 0.2: after 4 and 8 others, the 5th and 10th places)."""
    count = math.floor(share * limit + 1e-9)
    return [round((n + 1) * limit / count) - 1 - n for n in range(count)]


def interleaved(candidates: Iterable[Candidate], new: Sequence[Candidate], after: Sequence[int]) -> Iterator[Candidate]:
    """The candidates with the new ones put in after the given numbers of them (those left: after them all). A new
    one takes the score of the candidate it goes before, as a pin takes that of the item it moves down (those
    after them all: the last candidate's; none: its own), so the scores keep the list's order."""
    waiting = list(zip(after, new))
    taken = 0
    score = None
    for candidate in candidates:
        score = candidate[1]
        while waiting and taken >= waiting[0][0]:
            index, _, reason = waiting.pop(0)[1]
            yield index, score, reason
        yield candidate
        taken += 1
    for _, (index, own, reason) in waiting:
        yield index, own if score is None else score, reason


class Exploration:
    """New items for the lists of one store, at the service's default share."""

    def __init__(self, store: ModelStore, share: float = SHARE):
        self.store = store
        self.share = share
        self._grouped: dict[str, tuple[list, dict[str | None, list[int]]]] = {}

    def share_for(self, rules: ListRules) -> float:
        """The list's share: its exploration rule's, else the default."""
        return rules.exploration.share if rules.exploration is not None else self.share

    def picks(
        self, version: str, record: UserRecord, candidates: Iterable[Candidate], limit: int, rules: ListRules
    ) -> Iterable[Candidate]:
        """A user's candidates with new items of their categories in the exploration places."""
        after = self._places(version, limit, rules)
        if not after:
            return candidates
        return interleaved(candidates, self._new(version, self._categories(version, record), len(after)), after)

    def adds_to(self, version: str, limit: int, rules: ListRules) -> bool:
        """Whether a list of ``limit`` items under ``rules`` gives new items places: it has some at its share, and
        the version has new items."""
        return bool(self._places(version, limit, rules))

    def _places(self, version: str, limit: int, rules: ListRules) -> list[int]:
        """The exploration places of a list (``places``), none when the version has no new items."""
        after = places(limit, self.share_for(rules))
        return after if after and self.store.arrivals(version) else []

    def popular(
        self, version: str, category: str | None, candidates: Iterable[Candidate], limit: int, rules: ListRules
    ) -> Iterable[Candidate]:
        """A popular list's candidates with new items of its category (any without one) in the places."""
        after = self._places(version, limit, rules)
        if not after:
            return candidates
        return interleaved(candidates, self._new(version, [category], len(after)), after)

    def summary(self, version: str) -> dict:
        """What ``GET /v1/model`` shows: the default share and how many new items there are."""
        return {"share": self.share, "new_items": len(self.store.arrivals(version))}

    def _categories(self, version: str, record: UserRecord) -> list[str | None]:
        """The user's categories, most telling first: those of their offers (in the record, no read); for a user
        without any, those of what they bought and viewed."""
        ids = self.store.category_ids(version)
        own = [ids[c] for c in record.offer_categories if 0 <= c < len(ids)]
        if not own:
            history = self.store.shown(version, [*record.bought, *record.recent])
            own = [item.category_id for item in history if item is not None and item.category_id is not None]
        return list(dict.fromkeys(own))

    def _new(self, version: str, categories: Sequence[str | None], count: int) -> list[Candidate]:
        """Up to ``count`` new items under the categories (None: any), by the categories' order, newest first."""
        by_category = self._by_category(version)
        out: dict[int, Candidate] = {}
        for category in categories:
            for index in by_category.get(category, ()):
                out.setdefault(index, (index, 0.0, NEW_ARRIVAL))
                if len(out) == count:
                    return list(out.values())
        return list(out.values())

    def _by_category(self, version: str) -> dict[str | None, list[int]]:
        """The new items under each category (their own and its parents; None: all), newest first: made once per
        version and catalog revision (the store's list of new items is a new one after a catalog update)."""
        arrivals = self.store.arrivals(version)
        kept = self._grouped.get(version)
        if kept is not None and kept[0] is arrivals:
            return kept[1]
        grouped: dict[str | None, list[int]] = {None: []}
        for index, item in arrivals:
            grouped[None].append(index)
            for category in self.store.ancestors(version, item.category_id):
                grouped.setdefault(category, []).append(index)
        if len(self._grouped) >= VERSIONS_KEPT:
            self._grouped.clear()
        self._grouped[version] = (arrivals, grouped)
        return grouped
