"""The read model: turn stored records into the contract's answers.

Each answer gathers candidates (precomputed picks, neighbour lists, fold-in scores) and
fills a ``recsvc.read.listing.Listing``, which keeps the rules of every list.
"""

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

from recsvc.contract import reasons
from recsvc.contract.live import EMPTY, Live
from recsvc.contract.records import LAST_ITEM_CAUSE, NO_ITEM, ItemRecord, UserRecord
from recsvc.contract.units import OFFERS_ORDERS
from recsvc.read.batch_pools import judged_lists
from recsvc.read.experiments import Assignment, experiment_tag
from recsvc.read.exploration import SHARE, Exploration
from recsvc.read.item_lists import ItemLists
from recsvc.read.listing import (
    RECENTLY_VIEWED,
    Candidate,
    Filters,
    Listing,
    finished,
    named_rules,
    popular_candidates,
)
from recsvc.read.live_picks import LivePicks, interleaved
from recsvc.read.rule_format import DEFAULT_VARIANT
from recsvc.read.rules import ListRules
from recsvc.read.user_candidates import LIGHT_HISTORY, VIEWED_SHARE, UserCandidates, history
from recsvc.store.model import ModelStore

GENERAL_CAUSES = range(LAST_ITEM_CAUSE + 1, NO_ITEM + 1)
"""The ``because`` values that name a general reason, not an item."""


class Answers(ItemLists):
    """Answers the v1 endpoints from a ModelStore (an item's own lists: ``ItemLists``)."""

    def __init__(
        self,
        store: ModelStore,
        viewed_share: float = VIEWED_SHARE,
        exploration_share: float = SHARE,
        live_share: float | None = None,
    ):
        """``live_share`` overrides the share of places each version gives a user's events since training."""
        self.store = store
        self.candidates = UserCandidates(store, viewed_share)
        self.exploration = Exploration(store, exploration_share)  # new items' places in picks and popular lists
        self.live = LivePicks(store, live_share)

    # -- users --

    def recommendations(self, user_id: str, filters: Filters, named: bool = True) -> dict:
        """A user's picks (``personalized``), or popular items for a user the model does not know.

        ``named`` False (a caller who did not prove to be the user): no reason names an item of the user's
        history and no viewed item is offered again, whatever ``filters.include_viewed`` says."""
        version, record, live, assignment = self.store.user_live(user_id)
        answer = self.for_user_record(
            version, record, filters, live=live, list_name="recommendations", arm=assignment, named=named
        )
        return {"user_id": user_id, "model_version": version, **answer, **experiment_tag(assignment)}

    def batch(self, user_ids: Sequence[str], filters: Filters, list_name: str = "email") -> dict:
        """``recommendations`` for many users, in request order; the rules of ``list_name`` (the email generator's
        by default). A user in an experiment is answered from their arm's version, which their result names."""
        versions, found, lives, assigned = self.store.users_live(user_ids)
        lists: dict[str, dict[int, ItemRecord]] = {}  # by version: an index names another item in another
        for version in set(versions):
            in_version = [rec for rec, v in zip(found, versions) if rec is not None and v == version]
            lists[version] = self.prefetch(version, in_version, filters.limit)
            browsed = [self.live.browsed(version, live) for live, v in zip(lives, versions) if live and v == version]
            self.live.prefetch(version, browsed, filters.limit)
        served = self.store.served if any(assigned) else versions[0]
        judged = self.judged_together(versions, found, lives, assigned, filters, list_name, lists)
        results = []
        for n, (user_id, version, rec, live, assignment) in enumerate(zip(user_ids, versions, found, lives, assigned)):
            answer = judged.get(n)
            if answer is None:
                self.store.check()  # Redis still answers and the request is within its time budget
                answer = self.for_user_record(version, rec, filters, lists[version], live, list_name, assignment)
            if assignment is not None:
                answer.update(model_version=version, **experiment_tag(assignment))
            results.append({"user_id": user_id, **answer})
        return {"model_version": served, "results": results}

    def judged_together(
        self,
        versions: Sequence[str],
        found: Sequence[UserRecord | None],
        lives: Sequence[Live],
        assigned: Sequence[Assignment | None],
        filters: Filters,
        list_name: str,
        lists: Mapping[str, Mapping[int, ItemRecord]],
    ) -> dict[int, dict]:
        """The answers, by place in the batch, of the users whose ruled lists come from their stored picks or the
        lists of their history (``lists``: the item records ``prefetch`` read, by version), judged together per
        version and rule set (``recsvc.read.batch_pools``); the others are left out."""
        if filters.exclude or filters.category is not None or not self.store.steering.rules.rules:
            return {}  # a shop without rules lists each user as it comes
        groups: dict[tuple[str, str], tuple[ListRules, list[int], list[UserRecord]]] = {}
        for n, (version, record, live, arm) in enumerate(zip(versions, found, lives, assigned)):
            if record is None or live:
                continue
            key = (version, arm[1].rules if arm is not None else DEFAULT_VARIANT)  # a version and rule set
            if key not in groups:
                groups[key] = (self.rules(list_name, version, None, arm), [], [])
            groups[key][1].append(n)
            groups[key][2].append(record)
        judged: dict[int, dict] = {}
        cap = self.candidates.viewed_cap(filters)
        for (version, _), (rules, members, records) in groups.items():
            if not rules or self.exploration.adds_to(version, filters.limit, rules):
                continue  # no rules in this list, or new items to place: each list alone
            self.store.check()
            reasons = partial(self.candidates.pick_reasons, version)
            made = judged_lists(self.store, version, rules, filters.limit, records, cap, reasons, lists.get(version))
            judged.update((n, answer) for n, answer in zip(members, made) if answer is not None)
        return judged

    def prefetch(self, version: str, found: Sequence[UserRecord], limit: int) -> dict[int, ItemRecord]:
        """Read at once what answering these users takes (for ``for_user_record``'s ``lists``): the item
        records of the history of users without picks, and the attributes of the items their lists will
        most likely show, so a cold process reads them in two round trips, not two per user."""
        light = [rec for rec in found if not rec.picks]
        lists = self._item_records(version, [i for rec in light for i in history(rec)])
        wanted = 2 * limit
        indices: set[int] = set()
        for rec in found:
            indices.update(rec.picks[:wanted], rec.because[:wanted], rec.recent[:LIGHT_HISTORY])
        for item in lists.values():
            indices.update(item.similar[:wanted], item.also_bought[:wanted])
        self.store.load_shown(version, indices.difference(GENERAL_CAUSES))
        return lists

    def for_user_record(
        self,
        version: str,
        record: UserRecord | None,
        filters: Filters,
        lists: dict[int, ItemRecord] | None = None,
        live: Live = EMPTY,
        list_name: str = "email",
        arm: Assignment | None = None,
        named: bool = True,
    ) -> dict:
        """``{"source", "items"}`` for a user's record of ``version`` (None: unknown) and live events, under the
        rules of ``list_name`` (and of the rule set of the user's ``arm`` in an experiment).

        ``lists`` are item records already read for users without picks (see ``batch``); ``named`` False keeps
        the user's history items out of the reasons.
        """
        if live:  # bought since training: never recommended back
            filters = replace(filters, exclude=filters.exclude | live.bought)
        rules = self.rules(list_name, version, filters.category, arm)
        if record is None:
            if live:  # a visitor the model never saw, with events since: picks folded in from them
                answer = self._from_session(version, live.events, filters, rules)
                return {**answer, "source": "personalized" if answer["source"] == "session" else "popular"}
            listing = Listing(self.store, version, filters, (), rules)
            self._explored_popular(version, listing, rules)
            return {"source": "popular", **finished(listing)}
        listing = Listing(self.store, version, filters, record.bought, rules)
        if record.picks:
            picks = self.candidates.picks(version, record, named)
        else:
            picks = self.candidates.from_history(version, record, lists, named)
        browsed = self.live.browsed(version, live)
        if browsed:  # viewed, carted or wished for since training: today's candidates take their share
            reoffer = named and filters.include_viewed is not False
            if not reoffer:  # nor may popular items bring them back
                listing.blocked.update(self.live.indices(version, browsed))
            picks = self.live.merged(version, picks, browsed, named, reoffer)
        capped = self.candidates.capped(picks, listing.blocked, filters, named)
        listing.add(self.exploration.picks(version, record, capped, filters.limit, rules))
        listing.fill_popular()
        return {"source": "personalized", **finished(listing)}

    def rules(self, list_name: str, version: str, category: str | None, arm: Assignment | None = None) -> ListRules:
        """The shop's rules for one list about ``category``: the default rule set, or the arm's."""
        variant = arm[1].rules if arm is not None else DEFAULT_VARIANT
        return self.store.steering.rules.for_list(
            list_name, category, lambda c: self.store.ancestors(version, c), variant
        )

    def recently_viewed(self, user_id: str, filters: Filters) -> dict:
        """What the user viewed (carted, wished for) and did not buy, most recent first: the re-finding list.

        Popular items fill it (``source: "popular"`` when the user viewed nothing that can be shown)."""
        version, record, live, arm = self.store.user_live(user_id)
        filters = replace(filters, exclude=filters.exclude | live.bought)
        listing = Listing(self.store, version, filters, blocked=record.bought if record else ())
        listing.add((index, 1.0, RECENTLY_VIEWED) for index in (record.recent if record else ()))
        source = "personalized" if listing.items else "popular"
        listing.fill_popular()
        answer = {"user_id": user_id, "model_version": version, "source": source, "items": listing.items}
        return {**answer, **experiment_tag(arm)}

    def _item_records(self, version: str, indices: Sequence[int]) -> dict[int, ItemRecord]:
        """Item records by index (kept in the process: they change only with the version)."""
        return self.store.item_records(version, indices)

    # -- sessions: visitors the model never saw --

    def session(
        self,
        events: Sequence[tuple[int, str]],
        filters: Filters,
        user_id: str | None = None,
        visitor: str | None = None,
    ) -> dict:
        """Picks from a session's (event code, item id) events, plus the user's own live events if known.

        ``visitor`` (``visitor:<id>``) places an anonymous session in an experiment's arm as ``user_id`` does."""
        if user_id is not None:
            version, _, live, arm = self.store.user_live(user_id)
            events = [*events, *live.events]
            filters = replace(filters, exclude=filters.exclude | live.bought)
        else:
            version, arm = self.store.version_for(visitor)
        rules = self.rules("session", version, filters.category, arm)
        return {"model_version": version, **self._from_session(version, events, filters, rules), **experiment_tag(arm)}

    def _from_session(
        self, version: str, events: Sequence[tuple[int, str]], filters: Filters, rules: ListRules
    ) -> dict:
        """Fold the events into the model and score its pool; popular items fill the rest."""
        from recsvc.read.foldin import FoldIn  # numpy only in processes that serve session picks

        foldin = self.store.foldin(version, FoldIn.decode)
        indexed = foldin.indexed(events) if foldin is not None else []
        listing = Listing(self.store, version, filters, {index for _, index in indexed}, rules)
        source = "popular"
        if indexed:
            before = len(listing.items)
            listing.add(foldin.recommend(indexed, listing.want + len(listing.blocked)))
            if len(listing.items) > before:
                source = "session"
        listing.fill_popular()
        return {"source": source, **finished(listing)}

    def category_offers(self, user_id: str, limit: int, items_per_category: int, named: bool = True) -> dict:
        """Up to ``limit`` categories the user is drawn to, each with its best items; popular ones fill.

        ``named`` False: no item of the user's history is named in a reason or offered again."""
        version, record, live, arm = self.store.user_live(user_id)
        categories = self.store.category_ids(version)
        blocked = set(record.bought) if record else set()
        offers: list[dict] = []
        used: set[str] = set()
        fired: set[str] = set()
        wanted: list[tuple[str, float, str]] = []
        best_sellers = [(c, 0.0, "popular") for c in self.store.popular_categories(version)]
        if record is not None:
            own = [
                (categories[cat], score, reasons.STORED_OFFERS[reason])
                for cat, score, reason in zip(record.offer_categories, record.offer_scores, record.offer_reasons)
            ]
            if self.store.summary(version).category_offers_order == OFFERS_ORDERS[1]:
                # chosen on the shop's window: the best-sellers' categories the user never bought from open the
                # offers (one of the user's own keeps its own reason)
                bought_from = {item.category_id for item in self.store.shown(version, list(record.bought)) if item}
                mine = {offer[0]: offer for offer in own}
                wanted += [mine.get(c, offer) for offer in best_sellers if (c := offer[0]) not in bought_from]
            wanted += own
        browsed = self.live.browsed(version, live) if record is not None else []
        if browsed:  # the categories browsed since training take their share of the places
            bought_from = {item.category_id for item in self.store.shown(version, list(record.bought)) if item}
            today = self.live.categories(version, browsed, bought_from)
            wanted = list(interleaved(wanted, today, self.live.share_of(version)))
        wanted += best_sellers
        picks = {}
        if record is not None and (record.picks or browsed):
            picks = self._picks_by_category(version, record, named, blocked, browsed)
        for category_id, score, reason in wanted:
            if len(offers) >= limit:
                break
            if category_id in used:
                continue
            used.add(category_id)
            rules = self.rules("category_offers", version, category_id, arm)
            in_category = Filters(items_per_category, category_id, live.bought)
            listing = Listing(self.store, version, in_category, blocked, rules)
            listing.add(picks.get(category_id, ()))
            listing.fill_popular()
            items = listing.finish()
            if items:
                fired |= listing.fired
                offers.append(
                    {
                        "category_id": category_id,
                        "score": round(float(score), 4),
                        "reason": {"type": reason},
                        "items": items,
                    }
                )
        source = "personalized" if record is not None and record.offer_categories else "popular"
        answer = {"user_id": user_id, "model_version": version, "source": source, "offers": offers}
        return {**answer, **named_rules(fired), **experiment_tag(arm)}

    def _picks_by_category(
        self,
        version: str,
        record: UserRecord,
        named: bool = True,
        blocked: set[int] | None = None,
        browsed: Sequence[tuple[int, str]] = (),
    ) -> dict[str, list[Candidate]]:
        """The user's picks (with the live candidates of what they ``browsed`` since training) under each category
        they belong to (their own and its parents), in order. Unless ``named``, the viewed items they would offer
        again are left out and added to ``blocked``."""
        stored = self.candidates.picks(version, record, named) if record.picks else iter(())
        picks = list(self.live.merged(version, stored, list(browsed), named, named) if browsed else stored)
        if not named:
            viewed = {c[0] for c in picks if c[2] is RECENTLY_VIEWED}
            picks = [c for c in picks if c[0] not in viewed]
            if blocked is not None:
                blocked.update(viewed, self.live.indices(version, list(browsed)) if browsed else ())
        grouped: dict[str, list[Candidate]] = {}
        for candidate, item in zip(picks, self.store.shown(version, [c[0] for c in picks])):
            if item is not None:
                for category_id in self.store.ancestors(version, item.category_id):
                    grouped.setdefault(category_id, []).append(candidate)
        return grouped

    # -- popular --

    def popular(self, filters: Filters) -> dict:
        """Popular items, overall or in ``filters.category``."""
        version = self.store.version()
        rules = self.rules("popular", version, filters.category)
        listing = Listing(self.store, version, filters, set(), rules)
        self._explored_popular(version, listing, rules)
        return {"model_version": version, "category": filters.category, "source": "popular", **finished(listing)}

    def _explored_popular(self, version: str, listing: Listing, rules: ListRules) -> None:
        """Fill a list with popular items of its category, new items in the exploration places."""
        candidates = popular_candidates(self.store, version, listing.category)
        listing.add(self.exploration.popular(version, listing.category, candidates, listing.limit, rules))
        listing.fill_popular()
