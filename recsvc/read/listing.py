"""The rules every list keeps, whatever fills it.

A ``Listing`` takes candidates (item index, score, reason) in order and keeps those that
pass: no duplicates, never the subject item or an already-bought one (``blocked``), never
an unavailable item, the ``exclude`` and ``category`` filters. Popular items fill what is
left, so a list is never empty while the catalog has items.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from recsvc.store import ModelStore

Candidate = tuple[int, float, dict]
"""An item index, its score and the reason shown with it."""

POPULAR = {"type": "popular"}


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

    def __init__(self, store: ModelStore, version: str, filters: Filters, blocked: Iterable[int] = ()):
        """Start an empty list; UnknownCategory when ``filters.category`` is not in the model."""
        if filters.category is not None and filters.category not in store.category_parents(version):
            raise UnknownCategory(f"unknown category {filters.category!r}")
        self.store = store
        self.version = version
        self.limit = filters.limit
        self.category = filters.category
        self.exclude = filters.exclude
        self.blocked = set(blocked)
        self.unavailable = store.unavailable(version)
        self.items: list[dict] = []

    @property
    def full(self) -> bool:
        """True when the list has ``limit`` items."""
        return len(self.items) >= self.limit

    def add(self, candidates: Iterable[Candidate]) -> None:
        """Append candidates that keep every rule until the list is full.

        Candidates are taken as many at a time as the list has free places, so a list that fills at once
        reads no more of them than it shows."""
        wanted = self.limit - len(self.items)
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
                wanted = self.limit - len(self.items)
                if wanted <= 0:
                    return
                batch = []
        self._accept(batch)

    def fill_popular(self) -> None:
        """Fill the rest with popular items of the listing's category (all items without one)."""
        self.add(popular_candidates(self.store, self.version, self.category))

    def _accept(self, batch: list[Candidate]) -> None:
        """Append the batch's items that pass the filters read from their attributes."""
        shown = self.store.shown(self.version, [c[0] for c in batch])
        items, limit, exclude, category = self.items, self.limit, self.exclude, self.category
        for (_, score, reason), item in zip(batch, shown):
            if len(items) >= limit:
                return
            if item is None or item.item_id in exclude:
                continue
            if category is not None and category not in self.store.ancestors(self.version, item.category_id):
                continue
            out = {
                "item_id": item.item_id,
                "score": round(float(score), 4),
                "category_id": item.category_id,
                "reason": reason,
            }
            out.update(item.attributes)
            items.append(out)


def scored(items: Sequence[int], scores: Sequence[float], reason: dict) -> Iterator[Candidate]:
    """Candidates from aligned item indices and scores, all with one reason."""
    return ((i, s, reason) for i, s in zip(items, scores))


def popular_candidates(store: ModelStore, version: str, category: str | None) -> Iterator[Candidate]:
    """Popular items of a version, overall or in a category, as candidates."""
    items, scores = store.popular(version, category)
    return scored(items, scores, POPULAR)
