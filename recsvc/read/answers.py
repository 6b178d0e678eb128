"""The read model: turn stored records into the contract's answers.

Each answer gathers candidates (precomputed picks, neighbour lists, fold-in scores) and
fills a ``recsvc.read.listing.Listing``, which keeps the rules of every list.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from itertools import zip_longest

from recsvc.contract.records import LAST_ITEM_CAUSE, OFFER_REASONS, ItemRecord, UserRecord, general_reason
from recsvc.read.listing import Candidate, Filters, Listing, popular_candidates, scored
from recsvc.read.live import EMPTY, Live
from recsvc.store import ModelStore

RECENTLY_VIEWED = {"type": "recently_viewed"}
LIGHT_HISTORY = 5  # history items whose lists serve a user the model did not fit
VIEWED_SHARE = 0.3
"""At most this share of a user's picks are items they viewed and did not buy, unless ``include_viewed``."""


class Answers:
    """Answers the v1 endpoints from a ModelStore."""

    def __init__(self, store: ModelStore, viewed_share: float = VIEWED_SHARE):
        self.store = store
        self.viewed_share = viewed_share

    # -- users --

    def recommendations(self, user_id: str, filters: Filters) -> dict:
        """A user's picks (``personalized``), or popular items for a user the model does not know."""
        version, record, live = self.store.user_live(user_id)
        answer = self.for_user_record(version, record, filters, live=live)
        return {"user_id": user_id, "model_version": version, **answer}

    def batch(self, user_ids: Sequence[str], filters: Filters) -> dict:
        """``recommendations`` for many users, in request order, under one version."""
        version, found, lives = self.store.users_live(user_ids)
        lists = self.prefetch(version, [rec for rec in found if rec is not None], filters.limit)
        results = [
            {"user_id": u, **self.for_user_record(version, rec, filters, lists, live)}
            for u, rec, live in zip(user_ids, found, lives)
        ]
        return {"model_version": version, "results": results}

    def prefetch(self, version: str, found: Sequence[UserRecord], limit: int) -> dict[int, ItemRecord]:
        """Read at once what answering these users takes (for ``for_user_record``'s ``lists``): the item
        records of the history of users without picks, and the attributes of the items their lists will
        most likely show, so a cold process reads them in two round trips, not two per user."""
        light = [rec for rec in found if not rec.picks]
        lists = self._item_records(version, [i for rec in light for i in _history(rec)])
        wanted = 2 * limit
        indices = [
            i for rec in found for i in (*rec.picks[:wanted], *rec.because[:wanted], *rec.recent[:LIGHT_HISTORY])
        ]
        for rec in lists.values():
            indices += [*rec.similar[:wanted], *rec.also_bought[:wanted]]
        self.store.shown(version, [i for i in indices if i <= LAST_ITEM_CAUSE])
        return lists

    def for_user_record(
        self,
        version: str,
        record: UserRecord | None,
        filters: Filters,
        lists: dict[int, ItemRecord] | None = None,
        live: Live = EMPTY,
    ) -> dict:
        """``{"source", "items"}`` for a user's record of ``version`` (None: unknown) and live events.

        ``lists`` are item records already read for users without picks (see ``batch``).
        """
        if live:  # bought since training: never recommended back
            filters = replace(filters, exclude=filters.exclude | live.bought)
        if record is None:
            if live:  # a visitor the model never saw, with events since: picks folded in from them
                answer = self._from_session(version, live.events, filters)
                return {**answer, "source": "personalized" if answer["source"] == "session" else "popular"}
            listing = Listing(self.store, version, filters, ())
            listing.fill_popular()
            return {"source": "popular", "items": listing.items}
        listing = Listing(self.store, version, filters, blocked=record.bought)
        picks = self._picks(version, record) if record.picks else self._from_history(version, record, lists)
        listing.add(self._capped_views(picks, listing, filters))
        listing.fill_popular()
        return {"source": "personalized", "items": listing.items}

    def _capped_views(self, candidates: Iterable[Candidate], listing: Listing, filters: Filters) -> Iterator[Candidate]:
        """The candidates with at most the allowed number of re-offered views; the others are blocked,
        so no later part of the list brings them back."""
        if filters.include_viewed:
            yield from candidates
            return
        allowed = 0 if filters.include_viewed is False else int(self.viewed_share * filters.limit)
        for candidate in candidates:
            if candidate[2] is RECENTLY_VIEWED:
                if allowed <= 0:
                    listing.blocked.add(candidate[0])
                    continue
                allowed -= 1
            yield candidate

    def recently_viewed(self, user_id: str, filters: Filters) -> dict:
        """What the user viewed (carted, wished for) and did not buy, most recent first: the re-finding list.

        Popular items fill it (``source: "popular"`` when the user viewed nothing that can be shown)."""
        version, record, live = self.store.user_live(user_id)
        filters = replace(filters, exclude=filters.exclude | live.bought)
        listing = Listing(self.store, version, filters, blocked=record.bought if record else ())
        listing.add((index, 1.0, RECENTLY_VIEWED) for index in (record.recent if record else ()))
        source = "personalized" if listing.items else "popular"
        listing.fill_popular()
        return {"user_id": user_id, "model_version": version, "source": source, "items": listing.items}

    def _picks(self, version: str, record: UserRecord) -> Iterator[Candidate]:
        """The user's precomputed picks, each with its reason: the history item that explains it, or a
        general one (``records.GENERAL_REASONS``)."""
        causes = [b for b in record.because if b <= LAST_ITEM_CAUSE]
        names = {b: item_id for b, item_id in zip(causes, self._item_ids(version, causes)) if item_id is not None}
        bought = set(record.bought)
        for item, score, cause in zip(record.picks, record.scores, record.because):
            if cause == item:  # an item the user viewed, offered again
                yield item, score, RECENTLY_VIEWED
            elif cause in names:
                kind = "because_you_bought" if cause in bought else "because_you_viewed"
                yield item, score, {"type": kind, "item_id": names[cause]}
            else:
                yield item, score, {"type": general_reason(cause) or "personalized"}

    def _from_history(
        self, version: str, record: UserRecord, lists: dict[int, ItemRecord] | None = None
    ) -> Iterator[Candidate]:
        """For a user without picks: what they viewed, again; then the similar items of what they viewed and
        the also-bought of what they bought (measured offline: re-offering views wins, docs/quality.md)."""
        viewed = list(record.recent[:LIGHT_HISTORY])
        yield from ((index, 1.0, RECENTLY_VIEWED) for index in viewed)
        history = _history(record)
        if lists is None:
            lists = self._item_records(version, history)
        names = dict(zip(history, self._item_ids(version, history)))  # only this user's: ``lists`` may hold many
        sources = []
        for n, index in enumerate(history):
            rec = lists.get(index)
            if rec is None:
                continue
            if n < len(viewed):
                sources.append(
                    scored(rec.similar, rec.similar_scores, {"type": "because_you_viewed", "item_id": names[index]})
                )
            else:
                sources.append(
                    scored(
                        rec.also_bought,
                        [abs(s) for s in rec.also_bought_scores],
                        {"type": "because_you_bought", "item_id": names[index]},
                    )
                )
        for round_ in zip_longest(*sources):  # one from each history item in turn
            yield from (c for c in round_ if c is not None)

    def _item_records(self, version: str, indices: Sequence[int]) -> dict[int, ItemRecord]:
        """Item records by index (kept in the process: they change only with the version)."""
        return self.store.item_records(version, indices)

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
        listing = Listing(self.store, version, filters, blocked={index for _, index in indexed})
        source = "popular"
        if indexed:
            before = len(listing.items)
            listing.add(foldin.recommend(indexed, filters.limit + len(listing.blocked)))
            if len(listing.items) > before:
                source = "session"
        listing.fill_popular()
        return {"source": source, "items": listing.items}

    def category_offers(self, user_id: str, limit: int, items_per_category: int) -> dict:
        """Up to ``limit`` categories the user is drawn to, each with its best items; popular ones fill."""
        version, record, live = self.store.user_live(user_id)
        categories = self.store.category_ids(version)
        blocked = set(record.bought) if record else set()
        offers: list[dict] = []
        used: set[str] = set()
        wanted: list[tuple[str, float, str]] = []
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
            listing = Listing(self.store, version, Filters(items_per_category, category_id, live.bought), blocked)
            listing.add(picks)
            listing.fill_popular()
            if listing.items:
                offers.append(
                    {
                        "category_id": category_id,
                        "score": round(float(score), 4),
                        "reason": {"type": reason},
                        "items": listing.items,
                    }
                )
        source = "personalized" if record is not None and record.offer_categories else "popular"
        return {"user_id": user_id, "model_version": version, "source": source, "offers": offers}

    def _popular_categories(self, version: str) -> list[str]:
        """Categories of the most popular items, most popular first."""
        items, _ = self.store.popular(version)
        seen = dict.fromkeys(a["category_id"] for a in self.store.attrs(version, list(items)) if a and a["category_id"])
        return list(seen)

    # -- items --

    def also_bought(self, item_id: str, filters: Filters, user_id: str | None = None) -> dict:
        """Items bought with the item, then similar ones; without what ``user_id`` bought."""
        version, record = self.store.item(item_id)
        blocked = set()
        if user_id is not None:
            user_version, user, live = self.store.user_live(user_id)
            if user is not None and user_version == version:
                blocked.update(user.bought)
            filters = replace(filters, exclude=filters.exclude | live.bought)
        return self._item_answer(item_id, version, record, filters, blocked, "also_bought")

    def similar(self, item_id: str, filters: Filters) -> dict:
        """Items like the item (substitutes)."""
        version, record = self.store.item(item_id)
        return self._item_answer(item_id, version, record, filters, set(), "similar")

    def _item_answer(
        self, item_id: str, version: str, record: ItemRecord | None, filters: Filters, blocked: set[int], kind: str
    ) -> dict:
        """An item's list of ``kind``, filled with popular items of its category, then of all."""
        answer = {"item_id": item_id, "model_version": version}
        if record is None:
            listing = Listing(self.store, version, filters, blocked)
            listing.fill_popular()
            return {**answer, "source": "popular", "items": listing.items}
        blocked.add(record.index)
        listing = Listing(self.store, version, filters, blocked)
        if kind == "also_bought":
            bought = {"type": "bought_together", "item_id": item_id}
            viewed = {"type": "viewed_together", "item_id": item_id}
            listing.add(
                (i, abs(s), bought if s > 0 else viewed) for i, s in zip(record.also_bought, record.also_bought_scores)
            )
        listing.add(scored(record.similar, record.similar_scores, {"type": "similar", "item_id": item_id}))
        (subject,) = self.store.attrs(version, [record.index])
        subject_category = subject.get("category_id") if subject else None
        if subject_category and filters.category is None:
            listing.add(popular_candidates(self.store, version, subject_category))
        listing.fill_popular()
        return {**answer, "source": kind, "items": listing.items}

    # -- popular --

    def popular(self, filters: Filters) -> dict:
        """Popular items, overall or in ``filters.category``."""
        version = self.store.version()
        listing = Listing(self.store, version, filters, set())
        listing.fill_popular()
        return {"model_version": version, "category": filters.category, "source": "popular", "items": listing.items}

    def _item_ids(self, version: str, indices: Sequence[int]) -> list[str | None]:
        """Item ids by index (None for an index without attributes)."""
        return [shown.item_id if shown else None for shown in self.store.shown(version, list(indices))]


def _history(record: UserRecord) -> list[int]:
    """The items whose lists serve a user without picks: recent views first, then purchases."""
    return list(record.recent[:LIGHT_HISTORY]) + list(record.bought[:LIGHT_HISTORY])
