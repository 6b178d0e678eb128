"""The read model: turn stored records into the contract's answers.

Every list goes through ``_fill``, which applies the rules of every answer: no
duplicates, never the subject item, never an unavailable or already-bought item, the
``exclude`` and ``category`` filters, and a fall back to popular items so a list is
never empty while the catalog has items.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import zip_longest

from recsvc.read.live import EMPTY, Live
from recsvc.contract.records import NO_ITEM, OFFER_REASONS, ItemRecord, UserRecord
from recsvc.store import ModelStore

POPULAR = {"type": "popular"}
RECENTLY_VIEWED = {"type": "recently_viewed"}
LIGHT_HISTORY = 5  # history items whose lists serve a user the model did not fit
ATTRIBUTES = ("title", "price", "url", "image_url")

Candidate = tuple[int, float, dict]  # item index, score, reason


class UnknownCategory(LookupError):
    """The category filter names a category the model does not know."""


@dataclass(frozen=True)
class Filters:
    """What a request keeps out of its list."""

    limit: int = 10
    category: str | None = None
    exclude: frozenset[str] = frozenset()


@dataclass
class _Listing:
    """A list being filled under one version."""

    version: str
    limit: int
    blocked: set[int]
    unavailable: frozenset[int]
    exclude: frozenset[str]
    category: str | None
    items: list[dict] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return len(self.items) >= self.limit


class Answers:
    """Answers the v1 endpoints from a ModelStore."""

    def __init__(self, store: ModelStore):
        self.store = store

    # -- users --

    def recommendations(self, user_id: str, filters: Filters) -> dict:
        version, record, live = self.store.user_live(user_id)
        return {"user_id": user_id, "model_version": version, **self._for_user(version, record, filters, live=live)}

    def batch(self, user_ids: Sequence[str], filters: Filters) -> dict:
        version, found, lives = self.store.users_live(user_ids)
        light = [rec for rec in found if rec is not None and not rec.picks]
        lists = self._item_records(version, [i for rec in light for i in _history(rec)])
        results = [{"user_id": u, **self._for_user(version, rec, filters, lists, live)}
                   for u, rec, live in zip(user_ids, found, lives)]
        return {"model_version": version, "results": results}

    def _for_user(self, version: str, record: UserRecord | None, filters: Filters,
                  lists: dict[int, ItemRecord] | None = None, live: Live = EMPTY) -> dict:
        if live:  # bought since training: never recommended back
            filters = replace(filters, exclude=filters.exclude | live.bought)
        if record is None:
            if live:  # a visitor the model never saw, with events since: picks folded in from them
                answer = self._from_session(version, live.events, filters)
                return {**answer, "source": "personalized" if answer["source"] == "session" else "popular"}
            listing = self._listing(version, filters, ())
            self._add(listing, self._popular(version, filters.category))
            return {"source": "popular", "items": listing.items}
        listing = self._listing(version, filters, blocked=record.bought)
        if record.picks:
            self._add(listing, self._picks(version, record))
        else:
            self._add(listing, self._from_history(version, record, lists))
        self._add(listing, self._popular(version, filters.category))
        return {"source": "personalized", "items": listing.items}

    def _picks(self, version: str, record: UserRecord) -> Iterator[Candidate]:
        because = [b for b in record.because if b != NO_ITEM]
        names = dict(zip(because, self._item_ids(version, because)))
        bought = set(record.bought)
        for item, score, cause in zip(record.picks, record.scores, record.because):
            if cause == item:  # an item the user viewed, offered again
                yield item, score, RECENTLY_VIEWED
            elif cause == NO_ITEM or names.get(cause) is None:
                yield item, score, {"type": "personalized"}
            else:
                kind = "because_you_bought" if cause in bought else "because_you_viewed"
                yield item, score, {"type": kind, "item_id": names[cause]}

    def _from_history(self, version: str, record: UserRecord,
                      lists: dict[int, ItemRecord] | None = None) -> Iterator[Candidate]:
        """For a user without picks: what they viewed, again; then the similar items of what they viewed and
        the also-bought of what they bought (measured offline: re-offering views wins, docs/quality.md)."""
        viewed = list(record.recent[:LIGHT_HISTORY])
        yield from ((index, 1.0, RECENTLY_VIEWED) for index in viewed)
        if lists is None:
            lists = self._item_records(version, _history(record))
        names = dict(zip(lists, self._item_ids(version, list(lists))))
        sources = []
        for n, index in enumerate(_history(record)):
            rec = lists.get(index)
            if rec is None:
                continue
            if n < len(viewed):
                sources.append(_scored(rec.similar, rec.similar_scores,
                                       {"type": "because_you_viewed", "item_id": names[index]}))
            else:
                sources.append(_scored(rec.also_bought, rec.also_bought_scores,
                                       {"type": "because_you_bought", "item_id": names[index]}))
        for round_ in zip_longest(*sources):  # one from each history item in turn
            yield from (c for c in round_ if c is not None)

    def _item_records(self, version: str, indices: Sequence[int]) -> dict[int, ItemRecord]:
        """Item records by index, read in one round trip."""
        indices = list(dict.fromkeys(indices))
        item_ids = self._item_ids(version, indices)
        known = [(i, item_id) for i, item_id in zip(indices, item_ids) if item_id]
        found = self.store.items_by_id(version, [item_id for _, item_id in known])
        return {i: rec for (i, _), rec in zip(known, found) if rec is not None}

    # -- sessions: visitors the model never saw --

    def session(self, events: Sequence[tuple[int, str]], filters: Filters, user_id: str | None = None) -> dict:
        """Picks from a session's (event code, item id) events, plus the user's own live events if known."""
        if user_id is not None:
            version, _, live = self.store.user_live(user_id)
            events = [*events, *live.events]
            filters = replace(filters, exclude=filters.exclude | live.bought)
        else:
            version = self.store.version()
        return {"model_version": version, **self._from_session(version, events, filters)}

    def _from_session(self, version: str, events: Sequence[tuple[int, str]], filters: Filters) -> dict:
        """Fold the events into the model and score its pool; popular items fill the rest."""
        foldin = self.store.foldin(version)
        indexed = foldin.indexed(events) if foldin is not None else []
        listing = self._listing(version, filters, blocked={index for _, index in indexed})
        source = "popular"
        if indexed:
            before = len(listing.items)
            self._add(listing, foldin.recommend(indexed, filters.limit + len(listing.blocked)))
            if len(listing.items) > before:
                source = "session"
        self._add(listing, self._popular(version, filters.category))
        return {"source": source, "items": listing.items}

    def category_offers(self, user_id: str, limit: int, items_per_category: int) -> dict:
        version, record, live = self.store.user_live(user_id)
        categories = self.store.category_ids(version)
        blocked = set(record.bought) if record else set()
        offers, used = [], set()
        wanted = []
        if record is not None:
            for cat, score, reason in zip(record.offer_categories, record.offer_scores, record.offer_reasons):
                wanted.append((categories[cat], score, OFFER_REASONS[reason]))
        wanted += [(c, 0.0, "popular") for c in self._popular_categories(version)]
        picks = list(self._picks(version, record)) if record and record.picks else []
        for category_id, score, reason in wanted:
            if len(offers) >= limit:
                break
            if category_id in used:
                continue
            used.add(category_id)
            listing = self._listing(version, Filters(items_per_category, category_id, live.bought), blocked)
            self._add(listing, picks)
            self._add(listing, self._popular(version, category_id))
            if listing.items:
                offers.append({"category_id": category_id, "score": round(float(score), 4),
                               "reason": {"type": reason}, "items": listing.items})
        source = "personalized" if record is not None and record.offer_categories else "popular"
        return {"user_id": user_id, "model_version": version, "source": source, "offers": offers}

    def _popular_categories(self, version: str) -> list[str]:
        """Categories of the most popular items, most popular first."""
        items, _ = self.store.popular(version)
        seen = dict.fromkeys(a["category_id"] for a in self.store.attrs(version, list(items)) if a and a["category_id"])
        return list(seen)

    # -- items --

    def also_bought(self, item_id: str, filters: Filters, user_id: str | None = None) -> dict:
        version, record = self.store.item(item_id)
        blocked = set()
        if user_id is not None:
            user_version, user, live = self.store.user_live(user_id)
            if user is not None and user_version == version:
                blocked.update(user.bought)
            filters = replace(filters, exclude=filters.exclude | live.bought)
        return self._item_answer(item_id, version, record, filters, blocked, "also_bought")

    def similar(self, item_id: str, filters: Filters) -> dict:
        version, record = self.store.item(item_id)
        return self._item_answer(item_id, version, record, filters, set(), "similar")

    def _item_answer(self, item_id, version, record: ItemRecord | None, filters, blocked, kind) -> dict:
        answer = {"item_id": item_id, "model_version": version}
        if record is None:
            listing = self._listing(version, filters, blocked)
            self._add(listing, self._popular(version, filters.category))
            return {**answer, "source": "popular", "items": listing.items}
        blocked.add(record.index)
        listing = self._listing(version, filters, blocked)
        if kind == "also_bought":
            self._add(listing, _scored(record.also_bought, record.also_bought_scores,
                                       {"type": "bought_together", "item_id": item_id}))
        self._add(listing, _scored(record.similar, record.similar_scores, {"type": "similar", "item_id": item_id}))
        (subject,) = self.store.attrs(version, [record.index])
        subject_category = subject.get("category_id") if subject else None
        if subject_category and filters.category is None:
            self._add(listing, self._popular(version, subject_category))
        self._add(listing, self._popular(version, filters.category))
        return {**answer, "source": kind, "items": listing.items}

    # -- popular --

    def popular(self, filters: Filters) -> dict:
        version = self.store.version()
        listing = self._listing(version, filters, set())
        self._add(listing, self._popular(version, filters.category))
        return {"model_version": version, "category": filters.category, "source": "popular", "items": listing.items}

    def _popular(self, version: str, category: str | None) -> Iterator[Candidate]:
        items, scores = self.store.popular(version, category)
        return _scored(items, scores, POPULAR)

    # -- the rules every list keeps --

    def _listing(self, version: str, filters: Filters, blocked: Iterable[int]) -> _Listing:
        if filters.category is not None and filters.category not in self.store.category_parents(version):
            raise UnknownCategory(f"unknown category {filters.category!r}")
        return _Listing(version, filters.limit, set(blocked), self.store.unavailable(version),
                        filters.exclude, filters.category)

    def _add(self, listing: _Listing, candidates: Iterable[Candidate]) -> None:
        """Append candidates that keep every rule until the list is full."""
        if listing.full:
            return
        batch: list[Candidate] = []
        for candidate in candidates:
            if candidate[0] in listing.blocked or candidate[0] in listing.unavailable:
                continue
            listing.blocked.add(candidate[0])  # no duplicates
            batch.append(candidate)
            if len(batch) >= 2 * listing.limit:
                self._accept(listing, batch)
                batch = []
                if listing.full:
                    return
        self._accept(listing, batch)

    def _accept(self, listing: _Listing, batch: list[Candidate]) -> None:
        attrs = self.store.attrs(listing.version, [c[0] for c in batch])
        for (index, score, reason), item in zip(batch, attrs):
            if listing.full:
                return
            if item is None or item["item_id"] in listing.exclude:
                continue
            if listing.category is not None and listing.category not in self.store.ancestors(
                    listing.version, item.get("category_id")):
                continue
            out = {"item_id": item["item_id"], "score": round(float(score), 4),
                   "category_id": item.get("category_id"), "reason": reason}
            out.update((k, item[k]) for k in ATTRIBUTES if k in item)
            listing.items.append(out)

    def _item_ids(self, version: str, indices: Sequence[int]) -> list[str | None]:
        return [a["item_id"] if a else None for a in self.store.attrs(version, list(indices))]


def _history(record: UserRecord) -> list[int]:
    """The items whose lists serve a user without picks: recent views first, then purchases."""
    return list(record.recent[:LIGHT_HISTORY]) + list(record.bought[:LIGHT_HISTORY])


def _scored(items: Sequence[int], scores: Sequence[float], reason: dict) -> Iterator[Candidate]:
    return ((i, s, reason) for i, s in zip(items, scores))
