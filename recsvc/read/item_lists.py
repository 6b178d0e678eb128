"""An item's own lists: also-bought ("you bought X, see Y") and similar items, filled by its category's best-sellers
(an item a catalog update added to a shop whose new items are placed by the shop's best-sellers: by those)."""

from dataclasses import replace

from recsvc.contract.content import NewItemsOrder
from recsvc.contract.records import ItemRecord
from recsvc.contract.units import ALSO_BOUGHT_FILLS
from recsvc.read.experiments import Assignment, experiment_tag
from recsvc.read.listing import Filters, Listing, finished, popular_candidates, scored
from recsvc.read.rules import ListRules
from recsvc.store.model import ModelStore


class ItemLists:
    """The answers about an item, for ``recsvc.read.answers.Answers``: its store and the rules of each list."""

    store: ModelStore

    def rules(self, list_name: str, version: str, category: str | None, arm: Assignment | None = None) -> ListRules:
        """The shop's rules for one list about ``category`` (``Answers.rules``)."""
        raise NotImplementedError

    def also_bought(self, item_id: str, filters: Filters, user_id: str | None = None) -> dict:
        """Items bought with the item, then similar ones; without what ``user_id`` bought."""
        if user_id is None:
            version, record, arm = self.store.item(item_id)
            return self._item_answer(item_id, version, record, filters, set(), "also_bought", arm)
        user_version, user, live, _ = self.store.user_live(user_id)
        version, record, arm = self.store.item(item_id, subject=user_id)  # the version the user's arm serves
        blocked = set(user.bought) if user is not None and user_version == version else set()
        filters = replace(filters, exclude=filters.exclude | live.bought)
        return self._item_answer(item_id, version, record, filters, blocked, "also_bought", arm)

    def similar(self, item_id: str, filters: Filters) -> dict:
        """Items like the item (substitutes)."""
        version, record, _ = self.store.item(item_id)
        return self._item_answer(item_id, version, record, filters, set(), "similar")

    def _item_answer(
        self,
        item_id: str,
        version: str,
        record: ItemRecord | None,
        filters: Filters,
        blocked: set[int],
        kind: str,
        arm: Assignment | None = None,
    ) -> dict:
        """An item's list of ``kind``, filled with popular items of its category, then of all."""
        answer = {"item_id": item_id, "model_version": version}
        if record is None:
            listing = Listing(self.store, version, filters, blocked, self.rules(kind, version, filters.category, arm))
            listing.fill_popular()
            return {**answer, "source": "popular", **finished(listing), **experiment_tag(arm)}
        blocked.add(record.index)
        (subject,) = self.store.attrs(version, [record.index])
        subject_category = subject.get("category_id") if subject else None
        rules = self.rules(kind, version, filters.category or subject_category, arm)
        listing = Listing(self.store, version, filters, blocked, rules)
        if kind == "also_bought":
            bought = {"type": "bought_together", "item_id": item_id}
            viewed = {"type": "viewed_together", "item_id": item_id}
            listing.add(
                (i, abs(s), bought if s > 0 else viewed) for i, s in zip(record.also_bought, record.also_bought_scores)
            )
            fill = self.store.summary(version).also_bought_fill
            if fill == ALSO_BOUGHT_FILLS[1] and not self._added(version, record):
                listing.fill_popular()  # the shop's buyers come back for its staples (chosen on its newest window)
        listing.add(scored(record.similar, record.similar_scores, {"type": "similar", "item_id": item_id}))
        if subject_category and filters.category is None and not self._shop_wide(version, record):
            listing.add(popular_candidates(self.store, version, subject_category))
        listing.fill_popular()
        return {**answer, "source": kind, **finished(listing), **experiment_tag(arm)}

    def _shop_wide(self, version: str, record: ItemRecord) -> bool:
        """Whether the item was added by a catalog update to a version whose new items' lists are the shop's
        best-sellers (``new_items_order``, chosen at training), not its category's."""
        if record.similar or not self._added(version, record):
            return False
        return NewItemsOrder.of(self.store.summary(version).new_items_order).shop_wide

    def _added(self, version: str, record: ItemRecord) -> bool:
        """Whether the item was added by a catalog update (after the trained items): it has no buyers yet, so its
        also-bought is its content neighbours, not the shop's staples."""
        trained = self.store.summary(version).counts.items
        return trained is not None and record.index >= trained
