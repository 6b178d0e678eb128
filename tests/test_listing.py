"""The rules every list keeps, on a hand-made version whose right answers are known."""

import json

import pytest

from recsvc.contract import keys, records
from recsvc.read.listing import POPULAR, Filters, Listing, UnknownCategory, popular_candidates, scored
from tests.gateways import model_store

V = "v1"
# index: (item id, category); shoes is a child of sports; item 3 is hidden
ITEMS = [("ball", "sports"), ("shoe", "shoes"), ("tv", "tech"), ("hidden-shoe", "shoes"), ("cable", "tech")]
CATEGORIES = {"ids": ["sports", "shoes", "tech"], "parents": [-1, 0, -1]}


@pytest.fixture
def store(r):
    r.set(keys.CURRENT, V)
    r.hset(
        keys.attrs(V),
        mapping={
            str(i): json.dumps({"item_id": item_id, "category_id": cat, "title": item_id.title()})
            for i, (item_id, cat) in enumerate(ITEMS)
        },
    )
    r.set(keys.categories(V), json.dumps(CATEGORIES))
    r.sadd(keys.unavailable(V), 3)
    r.set(keys.popular(V), records.encode_scored([2, 3, 0, 1, 4], [5.0, 4.0, 3.0, 2.0, 1.0]))
    r.set(keys.popular(V, "shoes"), records.encode_scored([3, 1], [4.0, 2.0]))
    return model_store(r)


def ids(listing: Listing) -> list[str]:
    return [item["item_id"] for item in listing.items]


def test_no_duplicates_nothing_blocked_or_hidden_and_at_most_limit(store):
    listing = Listing(store, V, Filters(limit=3), blocked=[0])
    listing.add([(1, 0.9, {"type": "a"}), (1, 0.8, {"type": "b"}), (0, 0.7, {"type": "a"}), (3, 0.6, {"type": "a"})])
    listing.fill_popular()
    assert ids(listing) == ["shoe", "tv", "cable"] and listing.full
    assert listing.items[0] == {
        "item_id": "shoe",
        "score": 0.9,
        "category_id": "shoes",
        "reason": {"type": "a"},
        "title": "Shoe",
    }
    assert listing.items[1]["reason"] == POPULAR


def test_exclude_and_a_category_with_its_children(store):
    listing = Listing(store, V, Filters(limit=10, category="sports", exclude=frozenset({"ball"})))
    listing.fill_popular()
    listing.add(scored([0, 1, 2], [1.0, 1.0, 1.0], {"type": "x"}))
    assert ids(listing) == ["shoe"]


def test_an_unknown_category_is_refused(store):
    with pytest.raises(UnknownCategory):
        Listing(store, V, Filters(category="nothing"))


def test_popular_candidates_overall_and_per_category(store):
    assert [c[0] for c in popular_candidates(store, V, None)] == [2, 3, 0, 1, 4]
    assert list(popular_candidates(store, V, "shoes")) == [(3, 4.0, POPULAR), (1, 2.0, POPULAR)]
    assert list(popular_candidates(store, V, "tech")) == []
