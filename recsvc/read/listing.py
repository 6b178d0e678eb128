"""The rules every list keeps, whatever fills it.

A ``Listing`` takes candidates (item index, score, reason) in order and keeps those that
pass: no duplicates, never the subject item or an already-bought one (``blocked``), never
an unavailable item, the ``exclude`` and ``category`` filters. Popular items fill what is
left, so a list is never empty while the catalog has items.

The shop's merchandising rules (``recsvc.read.rules``) come last, on the ranked candidates:
filters drop items as they come; with boosts or a diversity rule the list takes a pool of
``POOL_FACTOR`` times its length, reorders it and cuts it; pins go in at their positions.
``finish`` gives the list and ``fired`` names the rules that changed it.
"""

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeGuard

from recsvc.read.rule_format import Rule
from recsvc.read.rules import NO_RULES, PASSES, ListRules, Verdict
from recsvc.store.cache import ShownItem
from recsvc.store.model import ModelStore

Candidate = tuple[int, float, dict]
"""An item index, its score and the reason shown with it."""

POPULAR = {"type": "popular"}
PROMOTED = {"type": "promoted"}
NEW_ARRIVAL = {"type": "new_arrival"}
"""An item added since training, in a place exploration gives it (``recsvc.read.exploration``)."""
RECENTLY_VIEWED = {"type": "recently_viewed"}
"""An item the user viewed, offered again: the viewed share of a user's list counts these (by identity)."""
BECAUSE_YOU_BOUGHT = {"type": "because_you_bought"}
BECAUSE_YOU_VIEWED = {"type": "because_you_viewed"}
"""The reasons of an answer that may not name the user's history: the reason's type, without its history item."""


class UnknownCategory(LookupError):
    """The category filter names a category the model does not know."""


@dataclass(frozen=True)
class Filters:
    """What a request keeps out of its list."""

    limit: int = 10
    category: str | None = None
    exclude: frozenset[str] = frozenset()
    include_viewed: bool | None = None  # re-offer what the user viewed: all of it, none, or the service's share


class Listing:
    """A list being filled under one version, keeping every rule."""

    def __init__(
        self,
        store: ModelStore,
        version: str,
        filters: Filters,
        blocked: Iterable[int] = (),
        rules: ListRules = NO_RULES,
    ):
        """Start an empty list; UnknownCategory when ``filters.category`` is not in the model."""
        if filters.category is not None and filters.category not in store.category_parents(version):
            raise UnknownCategory(f"unknown category {filters.category!r}")
        self.store = store
        self.version = version
        self.limit = filters.limit
        self.category = filters.category
        self.exclude = filters.exclude
        self.blocked = set(blocked)
        self.never = frozenset(self.blocked)  # bought, or the subject item: not even a pin shows them
        self.unavailable = store.unavailable(version)
        self.rules = rules
        self.ruled = bool(rules)
        self.want = rules.pool_size(self.limit)
        self.items: list = []  # in order, as answers show them; with rules, the pool's (score, reason) until ``finish``
        self._facts: list[ShownItem] = []  # with rules: the items of ``items``
        self._verdicts: list[Verdict] = []  # with rules: the rules' verdict on each item of ``items``
        self._keys: list[float] = []  # with rules: each pool item's rank key, factor / (1 + pool rank)
        self._kept: tuple[int, list[int]] = (-1, [])  # the last cut: (pool size, its ranks)
        self._per_category: dict[str | None, int] = {}
        self.fired: set[str] = set()  # rules that changed the list
        self._settles = rules.settles  # ``limit`` unburied items end the pool
        self._unburied = 0
        self._reach = rules.first_reach(self.limit)  # with boosts, grown a list's length at a time
        self._ancestors_of = partial(store.ancestors, version)

    @property
    def full(self) -> bool:
        """True when the list (or with rules, its pool) has all the items it takes."""
        return self._room() <= 0

    def _room(self) -> int:
        """How many more items the list (its pool) takes at most."""
        room = min(self.want, self._reach) - len(self.items)
        return min(room, self.limit - self._unburied) if self._settles else room

    def _reach_after(self) -> int:
        """How long the pool can usefully grow, given the items in it.

        An item at pool rank r ranks by factor / (1 + r), its factor at most the rules' ``lift``. Once the
        list's last place (after the diversity cut) ranks above ``lift / (1 + r)``, no candidate from rank r on
        can enter it, and a candidate that cannot enter changes nothing: adding items to a pool never lowers
        its last place's rank. Until the pool fills the list, it grows by another list's length."""
        size = len(self.items)
        last = self._last_place()
        if last is None:
            return min(self.want, size + self.limit)
        return max(size, min(self.want, math.floor(self.rules.lift / last * (1 + 1e-9))))

    def _last_place(self) -> float | None:
        """The rank key (factor / (1 + rank)) of the list's last place if it were cut now; None: not full."""
        kept = self._cut()
        if len(kept) < self.limit:
            return None
        return self._keys[kept[-1]]

    def _cut(self) -> list[int]:
        """The pool ranks the list keeps, best first: ordered by factor / (1 + rank) (ties: the earlier rank), at
        most ``max_per_category`` of a category, at most ``limit``; made once per size of the pool."""
        keys = self._keys
        if self._kept[0] == len(keys):
            return self._kept[1]
        order = sorted(range(len(keys)), key=keys.__getitem__, reverse=True)  # stable: ties keep the earlier rank
        most = self.rules.diversity.max_per_category if self.rules.diversity else None
        kept: list[int] = []
        if most is None:
            kept = order[: self.limit]
        else:
            facts, counts = self._facts, dict[str | None, int]()
            for n in order:
                if len(kept) >= self.limit:  # the rest is cut: never shown, never built
                    break
                category = facts[n].category_id
                if counts.get(category, 0) >= most:
                    continue
                counts[category] = counts.get(category, 0) + 1
                kept.append(n)
        self._kept = (len(keys), kept)
        return kept

    def add(self, candidates: Iterable[Candidate]) -> None:
        """Append candidates that keep every rule until the list is full.

        Candidates are taken as many at a time as the list has free places, so a list that fills at once
        reads no more of them than it shows."""
        wanted = self._room()
        if wanted <= 0:
            return
        blocked, unavailable = self.blocked, self.unavailable
        batch: list[Candidate] = []
        for candidate in candidates:
            index = candidate[0]
            if index in blocked or index in unavailable:
                continue
            blocked.add(index)  # no duplicates
            batch.append(candidate)
            if len(batch) >= wanted:
                self._accept(batch)
                wanted = self._room()
                if wanted <= 0:
                    return
                batch = []
        self._accept(batch)

    def fill_popular(self) -> None:
        """Fill the rest with popular items of the listing's category (all items without one)."""
        if not self.full:
            self.add(popular_candidates(self.store, self.version, self.category))

    def _accept(self, batch: list[Candidate]) -> None:
        """Append the batch's items that pass the filters read from their attributes, then see how far the
        pool may still grow."""
        self._append(batch)
        if self._reach < self.want:
            self._reach = self._reach_after()

    def _append(self, batch: list[Candidate]) -> None:
        shown = self.store.shown(self.version, [c[0] for c in batch])
        if self.ruled:
            self._append_judged(batch, shown)
            return
        items, room = self.items, self.want - len(self.items)
        for (_, score, reason), item in zip(batch, shown):
            if room <= 0:
                return
            if self._keeps(item):
                items.append(entry(item, score, reason))
                room -= 1

    def _keeps(self, item: ShownItem | None) -> TypeGuard[ShownItem]:
        """Whether the request's own filters keep the item (it has attributes, is not excluded, is in the category)."""
        return item is not None and item.item_id not in self.exclude and self._in_category(item)

    def _in_category(self, item: ShownItem) -> bool:
        """Whether the item is in the request's category (any, without one), or under it."""
        return self.category is None or self.category in self.store.ancestors(self.version, item.category_id)

    def _append_judged(self, batch: list[Candidate], shown: list[ShownItem | None]) -> None:
        """``_append`` under the shop's rules: each item judged, the pool's rank keys kept for the cut.

        The batch is at most the pool's room (``add``), so every item of it finds a place if it passes."""
        items, facts, verdicts, keys = self.items, self._facts, self._verdicts, self._keys
        verdict_of, ancestors_of = self.rules.verdict, self._ancestors_of
        plain = self.rules.diversity is None
        filtered = bool(self.exclude) or self.category is not None
        for (_, score, reason), item in zip(batch, shown):
            if item is None or (filtered and not self._keeps(item)):
                continue
            verdict = verdict_of(item.facts, item.category_id, ancestors_of)
            if not (plain and verdict is PASSES) and not self._admits(item, verdict):
                continue
            facts.append(item)
            verdicts.append(verdict)
            factor = verdict.factor
            keys.append(factor / (1 + len(keys)))
            if factor >= 1:
                self._unburied += 1
            items.append((score, reason))  # shown only if it makes the cut: ``finish``

    def _admits(self, item: ShownItem, verdict: Verdict) -> bool:
        """Whether the shop's filters keep the item, and its category has room under the diversity rule."""
        if verdict.dropped_by is not None:
            self.fired.add(verdict.dropped_by)
            return False
        diversity = self.rules.diversity
        if diversity is not None:
            seen = self._per_category.get(item.category_id, 0)
            # over the cap only a boosted item may wait in the pool: the order after boosts decides
            if seen >= diversity.max_per_category and not verdict.factor > 1:
                self.fired.add(diversity.name)
                return False
            self._per_category[item.category_id] = seen + 1
        return True

    def finish(self) -> list[dict]:
        """The list: the pool reordered by boosts and cut to the diversity rule and the limit, then the pins."""
        if not self.ruled:
            return self.items
        if self.rules.reorders:
            self._reorder()
        else:
            self.items = [entry(item, score, reason) for (score, reason), item in zip(self.items, self._facts)]
        del self.items[self.limit :]
        if self.rules.pins:
            self._pin_all()
        return self.items

    def _reorder(self) -> None:
        """Order by relevance: the list's own order as 1 / (1 + rank), times each item's boost, so a boost of
        2 brings an item about halfway up; then at most ``max_per_category`` of a category."""
        for verdict in self._verdicts:
            if verdict.boosted_by:
                self.fired.update(verdict.boosted_by)
        kept, pool, facts, verdicts = self._cut(), self.items, self._facts, self._verdicts
        self.items, self._facts = [], []
        for n in kept:
            (score, reason), item, verdict = pool[n], facts[n], verdicts[n]
            self.items.append(shown_entry(item, boosted_score(score, verdict), reason))
            self._facts.append(item)
        self._verdicts = []  # read no more: the pins judge their own items

    def _pin_all(self) -> None:
        """Put each pin's item at its position (or last, in a shorter list), if the list may show it."""
        pins = showable_pins(self.store, self.version, self.rules, self.limit)
        ids, scores = [out["item_id"] for out in self.items], [out["score"] for out in self.items]
        places, placed = pin_places(ids, scores, pins, self.limit, self._shows_pinned)
        self.items = [self.items[p] if isinstance(p, int) else shown_entry(p[0], p[1], PROMOTED) for p in places]
        self.fired.update(placed)

    def _shows_pinned(self, index: int, item_id: str, item: ShownItem) -> bool:
        """Whether this list may show a pin's item: not bought nor the subject, not excluded, in the category."""
        return index not in self.never and item_id not in self.exclude and self._in_category(item)


Pin = tuple[Rule, int, ShownItem]
"""A pin rule, its item's index and the item."""


def showable_pins(store: ModelStore, version: str, rules: ListRules, limit: int) -> list[Pin]:
    """The pins of a list of ``limit`` items whose items the version may show (they have attributes, are available
    and no filter of the list drops them), in the order they are placed."""
    pinned = [rule for rule in rules.pins if rule.position <= limit]
    indices = store.item_indices(version, [rule.item_id for rule in pinned])
    found = [(rule, index) for rule, index in zip(pinned, indices) if index is not None]
    unavailable, ancestors = store.unavailable(version), partial(store.ancestors, version)
    return [
        (rule, index, item)
        for (rule, index), item in zip(found, store.shown(version, [index for _, index in found]))
        if item is not None
        and index not in unavailable
        and rules.verdict(item.facts, item.category_id, ancestors).dropped_by is None
    ]


Place = int | tuple[ShownItem, float]
"""A place of a list after its pins: the index of one of the list's own items, or a pin's item with its score."""


def pin_places(
    ids: Sequence[str],
    scores: Sequence[float],
    pins: Sequence[Pin],
    limit: int,
    shows: Callable[[int, str, ShownItem], bool],
) -> tuple[list[Place], list[str]]:
    """Where the items of a list (their ``ids`` and shown ``scores``) and its pins go: each pin's item at its
    position (or last, in a shorter list) if ``shows`` lets this list show it, out of its place if the list has
    it, with the score of the item it moves down (0.0 in an empty list). The list's places after the pins, and the
    names of the pins placed."""
    places: list[Place] = list(range(len(ids)))
    ids, scores = list(ids), list(scores)
    placed: list[str] = []
    for rule, index, item in pins:
        item_id = rule.item_id
        if not shows(index, item_id, item):
            continue
        if item_id in ids:
            at = ids.index(item_id)
            del places[at], ids[at], scores[at]
        position = rule.position - 1 if rule.position <= len(ids) else len(ids)
        score = scores[position] if position < len(ids) else (scores[-1] if scores else 0.0)  # rounded already
        places.insert(position, (item, score))
        ids.insert(position, item_id)
        scores.insert(position, score)
        if len(ids) > limit:
            del places[limit:], ids[limit:], scores[limit:]
        placed.append(rule.name)
    return places, placed


def boosted_score(score: float, verdict: Verdict) -> float:
    """The score a reordered list shows: rounded, then times the item's boosts and buries, rounded again."""
    shown = round(float(score), 4)
    return round(shown * verdict.factor, 4) if verdict.boosted_by else shown


def entry(item: ShownItem, score: float, reason: dict) -> dict:
    """An item of an answer: its id, score, category and reason, then the catalog attributes it shows."""
    return shown_entry(item, round(float(score), 4), reason)


def shown_entry(item: ShownItem, score: float, reason: dict) -> dict:
    """``entry`` with its score rounded already."""
    out = item.entry.copy()  # in that order, made once per item
    out["score"] = score
    out["reason"] = reason
    return out


def scored(items: Sequence[int], scores: Sequence[float], reason: dict) -> Iterator[Candidate]:
    """Candidates from aligned item indices and scores, all with one reason."""
    return ((i, s, reason) for i, s in zip(items, scores))


def popular_candidates(store: ModelStore, version: str, category: str | None) -> Iterator[Candidate]:
    """Popular items of a version, overall or in a category, as candidates."""
    items, scores = store.popular(version, category)
    return scored(items, scores, POPULAR)


def finished(listing: Listing) -> dict:
    """``{"items"}`` of a filled list, with ``"rules"``: the names of the shop's rules that changed it, if any (an
    ``exploration`` rule: where it set the share and a new item made the list)."""
    items, fired, exploration = listing.finish(), listing.fired, listing.rules.exploration
    if exploration is not None and any(item["reason"] is NEW_ARRIVAL for item in items):
        fired = fired | {exploration.name}
    return {"items": items, **named_rules(fired)}


def named_rules(fired: set[str]) -> dict:
    """``{"rules"}``: the names of the shop's rules that changed an answer, if any."""
    return {"rules": sorted(fired)} if fired else {}
