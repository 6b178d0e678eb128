"""What the merchandising rules (``recsvc.read.rule_format``) do to the lists, applied at serve time after ranking.

A ``RuleSet`` is built once per revision of the stored rules (``recsvc.read.steering``). ``RuleSet.for_list``
picks the rules of one list, once per list, scope, variant and stretch of time between rules' starts and ends;
and the ``ListRules`` it gives judges each item once (``ListRules.verdict``: the filter that drops it, the
product of its boosts), so an answer looks its items up instead of testing every rule's every value.
"""

import math
import time
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from recsvc.read.rule_format import DEFAULT_VARIANT, Rule

POOL_FACTOR = 3
"""A list with boosts or diversity ranks this many times its length of candidates, then cuts."""
MAX_POOL = 200
MOST_FACTOR = 1e12
"""The most (and 1 / it the least) the boosts and buries of a list multiply an item's relevance by: 200 rules of
factor 100 would overflow a float."""
VERDICTS_LIMIT = 100_000
"""Items whose verdict one ``ListRules`` keeps; past it, it starts afresh."""
LISTS_LIMIT = 10_000
"""``ListRules`` one ``RuleSet`` keeps (lists x scopes x variants x stretches of time); past it, afresh."""


@dataclass(frozen=True)
class Verdict:
    """What the rules of one list do to one item."""

    dropped_by: str | None = None  # the first filter that keeps the item out
    boosted_by: tuple[str, ...] = ()  # the boost and bury rules it matches, in order
    factor: float = 1.0  # the product of their factors


PASSES = Verdict()


@dataclass(frozen=True)
class ListRules:
    """The rules that apply to one list being answered, and their verdict on each item seen (kept: the rules
    and an item's catalog attributes do not change under one ``ListRules``)."""

    filters: tuple[Rule, ...] = ()
    boosts: tuple[Rule, ...] = ()  # boost and bury
    pins: tuple[Rule, ...] = ()
    diversity: Rule | None = None  # the strictest diversity rule
    exploration: Rule | None = None  # the smallest share of new items (none: the service's default share)
    _verdicts: dict[int, tuple[Mapping[str, Any], Verdict]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def reorders(self) -> bool:
        """Whether the list must see more candidates than it shows before it is cut (boosts, diversity)."""
        return bool(self.boosts) or self.diversity is not None

    @property
    def settles(self) -> bool:
        """Whether ``limit`` unburied items end a pool: with buries but no boosts no later candidate ranks above
        them (nor does the diversity cut drop any: no item passes a category's cap as it comes)."""
        return self.reorders and self.lift == 1

    def pool_size(self, limit: int) -> int:
        """The most candidates a list of ``limit`` items ranks before it cuts."""
        return min(MAX_POOL, max(limit, POOL_FACTOR * limit)) if self.reorders else limit

    def first_reach(self, limit: int) -> int:
        """How far a pool grows before it first looks at its cut: with boosts, a list's length (then as far as a
        later candidate could still make the cut, ``Listing._reach_after``); else the whole pool."""
        return limit if self.reorders and not self.settles else self.pool_size(limit)

    def __bool__(self) -> bool:
        return bool(self.filters or self.boosts or self.pins or self.diversity)

    @cached_property
    def lift(self) -> float:
        """The most the boosts can multiply an item's relevance by (1: no boosts, buries only).

        A boost on a SKU list lifts only those SKUs, so it counts with the boosts that name the same SKU, not
        with every other SKU list: the most lifted SKU, times every boost on other attributes."""
        per_sku: dict[object, float] = {}
        elsewhere = 1.0
        for rule in self.boosts:
            if rule.factor <= 1:
                continue
            skus = rule.skus
            if skus is None:
                elsewhere *= rule.factor
                continue
            for sku in skus:
                per_sku[sku] = per_sku.get(sku, 1.0) * rule.factor
        return min(MOST_FACTOR, elsewhere * max(per_sku.values(), default=1.0))

    def verdict(
        self, item_facts: Mapping[str, Any], category: str | None, ancestors: Callable[[str | None], frozenset[str]]
    ) -> Verdict:
        """The filters' and boosts' verdict on an item (its catalog attributes, its category; ``ancestors``: a
        category and its parents), judged the first time these very attributes are seen, then looked up.

        The attributes stand for the item of one version and catalog revision (``ModelStore.shown`` makes them
        anew for each), so their identity is the key; the entry holds them, so that id is no other object's."""
        kept = self._verdicts.get(id(item_facts))
        if kept is not None and kept[0] is item_facts:
            return kept[1]
        found = self._judge(item_facts, ancestors(category))
        if len(self._verdicts) >= VERDICTS_LIMIT:
            self._verdicts.clear()
        self._verdicts[id(item_facts)] = (item_facts, found)
        return found

    def _judge(self, item_facts: Mapping[str, Any], categories: frozenset[str]) -> Verdict:
        dropped = next((r.name for r in self.filters if r.matches(item_facts, categories) != r.keep), None)
        matched = [r for r in self.boosts if r.matches(item_facts, categories)]
        if dropped is None and not matched:
            return PASSES
        factor = min(MOST_FACTOR, max(1 / MOST_FACTOR, math.prod(r.factor for r in matched)))
        return Verdict(dropped, tuple(r.name for r in matched), factor)


NO_RULES = ListRules()


@dataclass(frozen=True)
class RuleSet:
    """Every stored rule, grouped for the lists that ask: each list's rules are picked once and kept."""

    rules: tuple[Rule, ...] = ()
    # the starts and ends of the rules, in order: between two of them the same rules are active
    _moments: tuple[float, ...] = field(init=False, compare=False, repr=False)
    _lists: dict[tuple, ListRules] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        moments = {m for r in self.rules for m in (r.start, r.end) if m is not None}
        object.__setattr__(self, "_moments", tuple(sorted(moments)))
        object.__setattr__(self, "_lists", {})

    def for_list(
        self,
        list_name: str,
        category: str | None,
        ancestors: Callable[[str | None], frozenset[str]],
        variant: str = DEFAULT_VARIANT,
        now: float | None = None,
    ) -> ListRules:
        """The rules of ``variant`` active at ``now`` (default: now) for list ``list_name`` about ``category``
        (None: a list with no category)."""
        if not self.rules:
            return NO_RULES
        now = time.time() if now is None else now
        scope = ancestors(category) if category is not None else frozenset()
        key = (list_name, scope, variant, bisect_right(self._moments, now))
        found = self._lists.get(key)
        if found is None:
            found = self._pick(list_name, scope, variant, now)
            if len(self._lists) >= LISTS_LIMIT:
                self._lists.clear()
            self._lists[key] = found
        return found

    def _pick(self, list_name: str, scope: frozenset[str], variant: str, now: float) -> ListRules:
        """The rules of one list, grouped by what they do."""
        chosen = [
            r
            for r in self.rules
            if r.variant == variant
            and list_name in r.lists
            and (not r.categories or not r.categories.isdisjoint(scope))
            and r.active(now)
        ]
        if not chosen:
            return NO_RULES
        diversity = [r for r in chosen if r.kind == "diversity"]
        exploration = [r for r in chosen if r.kind == "exploration"]
        return ListRules(
            filters=tuple(r for r in chosen if r.kind == "filter"),
            boosts=tuple(r for r in chosen if r.kind in ("boost", "bury")),
            pins=tuple(sorted((r for r in chosen if r.kind == "pin"), key=lambda r: r.position)),
            diversity=min(diversity, key=lambda r: r.max_per_category) if diversity else None,
            exploration=min(exploration, key=lambda r: r.share) if exploration else None,
        )

    def variants(self) -> set[str]:
        """The rule sets the rules belong to."""
        return {r.variant for r in self.rules}
