"""The rules every list keeps, on a hand-made version whose right answers are known."""

import json
import random

import pytest

from recsvc.contract import keys, records
from recsvc.read.listing import POPULAR, Filters, Listing, UnknownCategory, popular_candidates, scored
from recsvc.read.rule_format import parse_all
from recsvc.read.rules import RuleSet
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


WIDE_CATEGORIES = ["a", "b", "c", "d", "e", "f"]
WIDE = [(f"item-{n:03d}", WIDE_CATEGORIES[n % 6 if n % 7 else 0], 5.0 + n % 50) for n in range(240)]
"""240 items over six categories (a gets more), prices 5 to 54."""


@pytest.fixture
def wide(r):
    r.set(keys.CURRENT, V)
    r.hset(
        keys.attrs(V),
        mapping={
            str(i): json.dumps({"item_id": item_id, "category_id": cat, "price": price})
            for i, (item_id, cat, price) in enumerate(WIDE)
        },
    )
    r.set(keys.categories(V), json.dumps({"ids": WIDE_CATEGORIES, "parents": [-1] * 6}))
    r.set(keys.popular(V), records.encode_scored(list(range(239, -1, -1)), [float(n) for n in range(240, 0, -1)]))
    return model_store(r)


def random_rules(rng) -> list[dict]:
    """A few boosts and buries on categories, price ranges and SKU lists, and sometimes a diversity rule."""
    rules: list[dict] = []
    for n in range(rng.randrange(1, 6)):
        kind = rng.choice(("boost", "boost", "bury"))
        factor = rng.uniform(1.05, 4) if kind == "boost" else rng.uniform(0.2, 0.95)
        when = rng.choice(
            (
                {"category": rng.choice(WIDE_CATEGORIES)},
                {"price": {"min": rng.randrange(5, 30), "max": rng.randrange(30, 60)}},
                {"item_id": [WIDE[i][0] for i in rng.sample(range(240), 30)] + ["sku-not-sold"]},
            )
        )
        rules.append({"name": f"r{n}", "type": kind, "when": when, "factor": round(factor, 3)})
    if rng.random() < 0.5:
        rules.append({"name": "mix", "type": "diversity", "max_per_category": rng.randrange(1, 5)})
    return rules


def listed(store, rules, limit, candidates, monkeypatch, whole_pool: bool) -> tuple[list[dict], int]:
    """The list and the size of its pool, stopped early or (``whole_pool``) filled to its full length."""
    with monkeypatch.context() as patched:
        if whole_pool:
            patched.setattr(Listing, "_reach_after", lambda self: self.want)
        listing = Listing(store, V, Filters(limit=limit), (), rules)
        listing.add(candidates)
        listing.fill_popular()
        seen = len(listing.items)
        return listing.finish(), seen


def test_a_pool_that_stops_where_no_later_item_can_make_the_cut_keeps_the_same_list(wide, monkeypatch):
    """With boosts a pool ends once no later candidate can outrank its last place; the list and its order are
    those of the whole pool, over random rules, limits and candidate orders."""
    rng = random.Random(7)
    ancestors = lambda c: wide.ancestors(V, c)  # noqa: E731
    stopped_early = 0
    for _ in range(300):
        rules = RuleSet(tuple(parse_all(random_rules(rng)))).for_list("recommendations", None, ancestors)
        limit = rng.choice((1, 3, 10, 20))
        order = rng.sample(range(240), rng.randrange(20, 240))
        candidates = [(i, 1.0 - k / 1000, {"type": "picks"}) for k, i in enumerate(order)]

        bounded, seen = listed(wide, rules, limit, candidates, monkeypatch, whole_pool=False)
        whole, whole_seen = listed(wide, rules, limit, candidates, monkeypatch, whole_pool=True)
        assert bounded == whole
        stopped_early += seen < whole_seen
    assert stopped_early > 30  # the bound is not vacuous
