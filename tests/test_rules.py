"""Merchandising rules: their format, their effect on a hand-made list whose answer is known, and on the
served shop (a change is seen at the next request, and a rollback keeps the rules)."""

import json
import random

import pytest

from recsvc import create_app
from recsvc.admin import steering
from recsvc.contract import keys, records, versions
from recsvc.read.listing import Filters, Listing
from recsvc.read.rule_format import RuleError, parse, parse_all
from recsvc.read.rules import NO_RULES, RuleSet
from tests.conftest import AUTH
from tests.gateways import catalog_records, model_store, steering_records
from tests.shop import write_shop
from training.config import TrainConfig
from training.train import Inputs, train

V = "v1"
# index: item id, category, price, brand
ITEMS = [
    ("ball", "sports", 20.0, "acme"),
    ("shoe", "shoes", 90.0, "zeta"),
    ("boot", "shoes", 120.0, "acme"),
    ("sandal", "shoes", 30.0, "zeta"),
    ("tv", "tech", 500.0, "acme"),
    ("cable", "tech", 10.0, "zeta"),
]
CATEGORIES = {"ids": ["sports", "shoes", "tech"], "parents": [-1, 0, -1]}


@pytest.fixture
def store(r):
    r.set(keys.CURRENT, V)
    r.hset(
        keys.attrs(V),
        mapping={
            str(i): json.dumps({"item_id": item, "category_id": cat, "price": price, "brand": brand})
            for i, (item, cat, price, brand) in enumerate(ITEMS)
        },
    )
    for i, (item, *_) in enumerate(ITEMS):
        r.set(keys.item(V, item), records.encode_item(i, [], [], [], []))
    r.set(keys.categories(V), json.dumps(CATEGORIES))
    r.set(keys.popular(V), records.encode_scored([4, 5, 0], [3.0, 2.0, 1.0]))
    return model_store(r)


# the model's order: shoe, boot, sandal, ball, tv, cable
RANKED = [(1, 0.9, {"type": "a"}), (2, 0.8, {"type": "a"}), (3, 0.7, {"type": "a"}), (0, 0.6, {"type": "a"})]
RANKED += [(4, 0.5, {"type": "a"}), (5, 0.4, {"type": "a"})]


def listed(store, raw_rules, limit=4, list_name="recommendations", category=None, blocked=()) -> tuple[list, set]:
    rules = RuleSet(tuple(parse_all(raw_rules))).for_list(list_name, category, lambda c: store.ancestors(V, c))
    listing = Listing(store, V, Filters(limit=limit, category=category), blocked, rules)
    listing.add(RANKED)
    listing.fill_popular()
    return [item["item_id"] for item in listing.finish()], listing.fired


def test_without_rules_the_list_is_the_model_order(store):
    assert listed(store, []) == (["shoe", "boot", "sandal", "ball"], set())


def test_a_filter_keeps_or_drops_by_attributes(store):
    cheap = {"name": "cheap", "type": "filter", "when": {"price": {"max": 50}}, "action": "keep"}
    assert listed(store, [cheap]) == (["sandal", "ball", "cable"], {"cheap"})  # only three items cost 50 or less
    no_acme = {"name": "no-acme", "type": "filter", "when": {"brand": "acme"}}  # drop is the default action
    assert listed(store, [no_acme]) == (["shoe", "sandal", "cable"], {"no-acme"})


def test_a_boost_halves_an_items_rank_and_a_bury_doubles_it(store):
    boost = {"name": "tech", "type": "boost", "when": {"category": "tech"}, "factor": 2}
    # tv is 5th (relevance 2/5 = 0.4 after the boost): above ball (1/4), below sandal (1/3)? no: 0.4 > 1/3
    ids, fired = listed(store, [boost])
    assert ids == ["shoe", "boot", "tv", "sandal"] and fired == {"tech"}
    bury = {"name": "no-shoes", "type": "bury", "when": {"category": "shoes"}, "factor": 0.25}
    ids, _ = listed(store, [bury])
    assert ids[0] == "shoe" and ids[1] == "ball"  # boot: 0.25/2, sandal: 0.25/3, ball 1/4 > both


def test_a_boost_multiplies_the_shown_score(store):
    rules = RuleSet((parse({"name": "zeta", "type": "boost", "when": {"brand": "zeta"}, "factor": 3}),))
    listing = Listing(store, V, Filters(limit=2), (), rules.for_list("popular", None, lambda c: frozenset()))
    listing.add(RANKED)
    assert [(i["item_id"], i["score"]) for i in listing.finish()] == [("shoe", 2.7), ("sandal", 2.1)]


def test_diversity_caps_each_category(store):
    rule = {"name": "mix", "type": "diversity", "max_per_category": 1}
    assert listed(store, [rule]) == (["shoe", "ball", "tv"], {"mix"})  # three categories: three items at most


def test_a_pin_puts_its_item_at_its_position_unless_the_list_may_not_show_it(store):
    pin = {"name": "xmas", "type": "pin", "item_id": "cable", "position": 2}
    assert listed(store, [pin]) == (["shoe", "cable", "boot", "sandal"], {"xmas"})
    assert listed(store, [{**pin, "position": 9}]) == (["shoe", "boot", "sandal", "ball"], set())  # not a place
    mixed = {"name": "mix", "type": "diversity", "max_per_category": 1}
    assert listed(store, [mixed, {**pin, "position": 4}])[0] == ["shoe", "ball", "tv", "cable"]  # last of a short list
    assert listed(store, [pin], blocked=[5]) == (["shoe", "boot", "sandal", "ball"], set())  # bought: never shown
    assert listed(store, [pin], category="shoes")[0] == ["shoe", "boot", "sandal"]  # not in the asked category
    moved = {**pin, "item_id": "sandal", "position": 1}  # an item already listed moves up
    assert listed(store, [moved])[0] == ["sandal", "shoe", "boot", "ball"]


def test_rules_apply_to_the_lists_and_categories_they_name(store):
    drop = {"name": "d", "type": "filter", "when": {"brand": "zeta"}, "lists": ["also_bought"]}
    assert listed(store, [drop])[0] == ["shoe", "boot", "sandal", "ball"]  # not this list
    assert listed(store, [drop], list_name="also_bought")[0] == ["boot", "ball", "tv"]
    scoped = {**drop, "lists": ["recommendations"], "categories": ["sports"]}
    assert listed(store, [scoped])[0] == ["shoe", "boot", "sandal", "ball"]  # a list with no category
    assert listed(store, [scoped], category="shoes")[0] == ["boot"]  # shoes is a child of sports


def test_a_rule_outside_its_start_and_end_is_not_applied(store):
    drop = {"name": "d", "type": "filter", "when": {"brand": "zeta"}}
    assert listed(store, [{**drop, "end": "2001-01-01T00:00:00Z"}])[0] == ["shoe", "boot", "sandal", "ball"]
    assert listed(store, [{**drop, "start": "2001-01-01", "end": 4_000_000_000}])[0] == ["boot", "ball", "tv"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "x", "type": "shuffle"}, "type must be one of"),
        ({"name": "x y", "type": "filter"}, "rule name"),
        ({"name": "x", "type": "filter"}, "when must be an object"),
        ({"name": "x", "type": "filter", "when": {"price": {"min": 5, "max": 1}}}, "min is above its max"),
        ({"name": "x", "type": "filter", "when": {"price": {"low": 5}}}, 'takes a value, a list of values or {"min"'),
        ({"name": "x", "type": "boost", "when": {"brand": "a"}, "factor": 0.5}, "a boost's factor must be above 1"),
        ({"name": "x", "type": "bury", "when": {"brand": "a"}, "factor": 2}, "a bury's below 1"),
        ({"name": "x", "type": "pin", "item_id": "a", "position": 0}, "position must be an integer from 1 to 100"),
        ({"name": "x", "type": "pin", "item_id": "a", "factor": 2}, "unknown field 'factor'"),
        ({"name": "x", "type": "diversity", "lists": ["homepage"]}, "lists must name some of"),
        ({"name": "x", "type": "diversity", "start": "tomorrow"}, "start must be unix seconds or an ISO-8601"),
    ],
)
def test_a_bad_rule_says_what_is_wrong(rule, message):
    with pytest.raises(RuleError, match=message):
        parse(rule)


def test_boolean_and_number_values_do_not_match_each_other(store):
    rule = parse({"name": "x", "type": "filter", "when": {"is_new": True}, "action": "keep"})
    assert rule.matches({"is_new": True}, frozenset()) and not rule.matches({"is_new": 1}, frozenset())
    assert RuleSet().for_list("popular", None, lambda c: frozenset()) is NO_RULES


@pytest.mark.parametrize("seed", range(40))
def test_a_pool_of_buries_that_ends_early_gives_the_list_the_whole_pool_gives(seed, store):
    """With buries and no boosts the pool ends once it holds the limit's count of unburied items: the list is
    the one the whole pool (three times the limit) gives, item for item and score for score."""
    rng = random.Random(seed)
    ranked = [(i, round(1.0 - n / 10, 2), {"type": "a"}) for n, i in enumerate(rng.sample(range(len(ITEMS)), 5))]
    rules = [{"name": "b1", "type": "bury", "when": {"brand": rng.choice(["acme", "zeta"])}, "factor": 0.5}]
    if rng.random() < 0.5:
        rules.append({"name": "mix", "type": "diversity", "max_per_category": rng.choice([1, 2])})
    if rng.random() < 0.5:
        rules.append({"name": "b2", "type": "bury", "when": {"category": rng.choice(["shoes", "tech"])}, "factor": 0.2})
    limit = rng.choice([1, 2, 3, 4])

    def listed(settles: bool) -> list[tuple[str, float]]:
        chosen = RuleSet(tuple(parse_all(rules))).for_list("popular", None, lambda c: store.ancestors(V, c))
        listing = Listing(store, V, Filters(limit=limit), (), chosen)
        listing._settles = settles and listing._settles
        listing.add(ranked)
        listing.fill_popular()
        return [(item["item_id"], item["score"]) for item in listing.finish()]

    assert listed(True) == listed(False)


# -- on the served shop --


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    paths = write_shop(tmp_path_factory.mktemp("shop"))
    return Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"])


def ids(answer: dict) -> list[str]:
    return [item["item_id"] for item in answer["items"]]


def test_rules_change_the_answers_at_once_and_survive_a_rollback(r, shop, redis_url):
    first = train(r, shop).version
    client = create_app({"REDIS_URL": redis_url, "API_KEYS": "k"}).test_client()
    key = {"X-API-Key": "k"}
    before = client.get("/v1/items/shoe-1/also-bought?limit=5").json
    assert "rules" not in before and before["items"][0]["item_id"] == "shirt-1"
    rules = [
        {"name": "no-shirts", "type": "filter", "when": {"category": "running-clothes"}, "lists": ["also_bought"]},
        {"name": "coffee-first", "type": "pin", "item_id": "coffee-2", "position": 1, "lists": ["also_bought"]},
    ]
    assert client.put("/v1/rules", json=rules, headers=key).status_code == 200
    after = client.get("/v1/items/shoe-1/also-bought?limit=5").json  # the same warm process: the next request
    assert ids(after)[0] == "coffee-2" and after["items"][0]["reason"] == {"type": "promoted"}
    assert not {"shirt-1", "shirt-2", "sock-1"} & set(ids(after))
    assert after["rules"] == ["coffee-first", "no-shirts"]
    second = train(r, shop, TrainConfig(factors=8)).version  # a new training keeps the rules
    assert client.get("/v1/items/shoe-1/also-bought?limit=5").json["items"][0]["item_id"] == "coffee-2"
    versions.rollback(r, first)
    rolled = client.get("/v1/items/shoe-1/also-bought?limit=5").json
    assert rolled["model_version"] == first != second and ids(rolled) == ids(after)
    assert client.delete("/v1/rules/coffee-first", headers=key).status_code == 200
    assert ids(client.get("/v1/items/shoe-1/also-bought?limit=5").json)[0] != "coffee-2"


def test_the_rules_api_needs_the_key_and_refuses_bad_rules(r, shop, redis_url):
    train(r, shop)
    client = create_app({"REDIS_URL": redis_url, "API_KEYS": "k"}).test_client()
    assert client.get("/v1/rules").status_code == 401
    assert client.put("/v1/rules", json=[]).status_code == 401
    bad = client.put("/v1/rules", json=[{"name": "p", "type": "pin", "item_id": "no-such-item"}], headers=AUTH)
    assert bad.status_code == 401  # the test client's key is "k"
    bad = client.put(
        "/v1/rules", json=[{"name": "p", "type": "pin", "item_id": "no-such-item"}], headers={"X-API-Key": "k"}
    )
    assert bad.status_code == 400 and "not an item of the served model" in bad.json["error"]["message"]
    assert client.get("/v1/rules", headers={"X-API-Key": "k"}).json == {"rules": [], "variants": ["default"]}
    assert client.delete("/v1/rules/nothing", headers={"X-API-Key": "k"}).status_code == 404


def test_every_list_takes_its_rules(r, shop, redis_url):
    train(r, shop)
    steering.set_rules(steering_records(r), [{"name": "no-coffee", "type": "filter", "when": {"category": "coffee"}}])
    client = create_app({"REDIS_URL": redis_url, "API_KEYS": "k"}).test_client()
    answers = [
        client.get("/v1/users/alice/recommendations?limit=12").json,
        client.get("/v1/users/coffee-1/recommendations?limit=12").json,
        client.get("/v1/popular?limit=12").json,
        client.get("/v1/items/coffee-1/similar?limit=12").json,
        client.get("/v1/items/tv-1/also-bought?limit=12").json,
        client.post("/v1/sessions/recommendations", json={"items": ["coffee-1"], "limit": 12}).json,
        client.post("/v1/recommendations/batch", json={"user_ids": ["alice", "bob"]}, headers={"X-API-Key": "k"}).json,
    ]
    offers = client.get("/v1/users/coffee-1/category-offers?limit=5").json
    shown = [i["item_id"] for a in answers for i in a.get("items", [])]
    shown += [i["item_id"] for a in answers for res in a.get("results", []) for i in res["items"]]
    shown += [i["item_id"] for offer in offers["offers"] for i in offer["items"]]
    assert shown and not {"coffee-1", "coffee-2"} & set(shown)
    assert all(a.get("rules") == ["no-coffee"] for a in answers[:6])


def test_rules_match_catalog_attributes_a_catalog_update_adds(r, shop, redis_url, tmp_path):
    train(r, shop)
    client = create_app({"REDIS_URL": redis_url}).test_client()
    assert "shoe-2" in ids(client.get("/v1/popular?limit=12").json)
    steering.set_rules(
        steering_records(r), [{"name": "only-stock", "type": "filter", "when": {"in_stock": True}, "action": "keep"}]
    )
    assert ids(client.get("/v1/popular?limit=12").json) == []  # no item has the attribute yet: none is kept
    changes = tmp_path / "stock.csv"
    changes.write_text("item_id,in_stock\nshoe-2,yes\ntv-1,no\ncoffee-1,yes\n")
    from recsvc.admin.catalog import update_catalog

    assert update_catalog(catalog_records(r), changes).new_attributes == {"in_stock": "boolean"}
    assert ids(client.get("/v1/popular?limit=12").json) == ["coffee-1", "shoe-2"]  # popular order, in stock only


def test_times_read_from_yaml_are_kept_as_iso_text():
    import yaml

    raw = yaml.safe_load("name: week\ntype: diversity\nstart: 2026-12-07T00:00:00Z\nend: 2026-12-14\n")
    rule = parse(raw)
    assert (rule.start, rule.end) == (1796601600.0, 1797206400.0)
    assert json.loads(json.dumps(rule.source))["start"] == "2026-12-07T00:00:00+00:00"


def test_a_name_is_unique_within_its_variant_only():
    rule = {"name": "up", "type": "boost", "when": {"brand": "acme"}}
    assert len(parse_all([rule, {**rule, "variant": "summer"}])) == 2
    with pytest.raises(RuleError, match="given twice in variant 'default'"):
        parse_all([rule, rule])
