"""A batch's ruled lists judged together are ``Listing``'s, one user at a time, to the byte: over random rules,
users, limits and viewed settings, on a hand-made version with hidden items, duplicates and bought picks."""

import json
import math
import random
from functools import partial

import pytest

from recsvc.admin import export, steering
from recsvc.contract import keys, records
from recsvc.contract.records import NO_ITEM
from recsvc.read.answers import Answers
from recsvc.read.batch_pools import judged_lists
from recsvc.read.experiments import Arm
from recsvc.read.listing import Filters
from recsvc.read.rules import MOST_FACTOR
from tests.gateways import model_store, steering_records

V = "v1"
CATEGORIES = ["a", "b", "c", "d", "e", "f"]
ITEMS = [(f"item-{n:03d}", CATEGORIES[n % 6 if n % 7 else 0], 5.0 + n % 50) for n in range(240)]
"""240 items over six categories (a gets more), prices 5 to 54."""
HIDDEN = {7, 50, 51, 200}
NO_ATTRIBUTES = {230, 231}
USERS = 120


def random_user(rng: random.Random) -> dict:
    """A user's record: picks in score order (some viewed, some explained by a history item, some with a general
    reason, now and then a duplicate or a bought or hidden item), and what they bought."""
    count = rng.choice((0, 3, 12, 30, 50, 50))
    picks = rng.sample(range(240), count)
    if count > 5 and rng.random() < 0.2:
        picks[rng.randrange(1, count)] = picks[0]  # a duplicate
    because = [
        rng.choice((item, rng.randrange(240), NO_ITEM, NO_ITEM - 1, NO_ITEM - 2)) if n % 3 else item
        for n, item in enumerate(picks)
    ]
    bought = rng.sample(range(240), rng.randrange(0, 8)) + rng.sample(picks, min(len(picks), rng.randrange(0, 3)))
    scores = sorted((rng.random() for _ in picks), reverse=True)
    recent = rng.sample(range(240), rng.randrange(0, 8))
    if bought and rng.random() < 0.2:
        recent.insert(rng.randrange(3), bought[0])  # viewed, then bought
    return {"picks": picks, "scores": scores, "because": because, "bought": bought, "recent": recent}


def random_item_lists(rng: random.Random, index: int) -> dict:
    """An item's similar and also-bought lists, of any length up to 40 (also-bought scores of either sign)."""
    similar = [i for i in rng.sample(range(240), rng.choice((0, 5, 20, 40))) if i != index]
    also_bought = [i for i in rng.sample(range(240), rng.choice((0, 5, 20, 40))) if i != index]
    return {
        "similar": similar,
        "similar_scores": sorted((rng.random() for _ in similar), reverse=True),
        "also_bought": also_bought,
        "also_bought_scores": [rng.choice((1, -1)) * rng.random() for _ in also_bought],
    }


def random_rules(rng: random.Random, limit: int) -> list[dict]:
    """Filters, boosts and buries on categories, price ranges and SKU lists; now and then pins and a diversity
    rule."""
    rules: list[dict] = []
    for n in range(rng.randrange(1, 7)):
        kind = rng.choice(("boost", "boost", "bury", "filter"))
        when = rng.choice(
            (
                {"category": rng.choice(CATEGORIES)},
                {"price": {"min": rng.randrange(5, 30), "max": rng.randrange(30, 60)}},
                {"item_id": [ITEMS[i][0] for i in rng.sample(range(240), 30)] + ["sku-not-sold"]},
            )
        )
        rule: dict = {"name": f"r{n}", "type": kind, "when": when}
        if kind == "filter":
            rule["action"] = rng.choice(("keep", "drop", "drop"))
        else:
            rule["factor"] = round(rng.uniform(1.05, 4) if kind == "boost" else rng.uniform(0.2, 0.95), 3)
        rules.append(rule)
    for n in range(rng.choice((0, 0, 1, 3))):
        item = ITEMS[rng.randrange(240)][0] if n < 2 or rng.random() < 0.5 else rules[-1]["item_id"]  # once twice
        rules.append(
            {"name": f"pin{n}", "type": "pin", "item_id": item, "position": rng.randrange(1, min(limit + 2, 101))}
        )
    if rng.random() < 0.5:
        rules.append({"name": "mix", "type": "diversity", "max_per_category": rng.randrange(1, 5)})
    return rules


def write_version(r, version: str, lists_seed: int) -> None:
    """The hand-made version: its items, their lists (drawn from ``lists_seed``) and the users."""
    attrs = {
        str(i): json.dumps({"item_id": item_id, "category_id": cat, "price": price})
        for i, (item_id, cat, price) in enumerate(ITEMS)
        if i not in NO_ATTRIBUTES
    }
    r.hset(keys.attrs(version), mapping=attrs)
    r.set(keys.categories(version), json.dumps({"ids": CATEGORIES, "parents": [-1] * 6}))
    r.sadd(keys.unavailable(version), *HIDDEN)
    popular = [*range(239, 229, -1), 236, *range(229, -1, -1)]  # 236 twice
    r.set(keys.popular(version), records.encode_scored(popular, [241 - n / 2 for n in range(len(popular))]))
    rng = random.Random(lists_seed)
    for i, (item_id, _, _) in enumerate(ITEMS):
        r.set(keys.item(version, item_id), records.encode_item(i, **random_item_lists(rng, i)))
    rng = random.Random(3)
    for n in range(USERS):
        r.set(keys.user(version, f"u{n}"), records.encode_user(**random_user(rng)))
    r.zadd(keys.VERSIONS, {version: len(r.zrange(keys.VERSIONS, 0, -1))})


@pytest.fixture
def shop(r):
    r.set(keys.CURRENT, V)
    write_version(r, V, 3)
    return r, model_store(r)


def test_a_batch_judged_together_answers_as_each_list_alone(shop):
    r, store = shop
    answers = Answers(store)
    rng = random.Random(11)
    user_ids = [f"u{n}" for n in range(USERS)]
    found = [records.decode_user(r.get(keys.user(V, user))) for user in user_ids]
    judged_count = popular_fill = pinned = fired = from_history = 0
    history = [i for rec in found if not rec.picks for i in [*rec.recent[:5], *rec.bought[:5]]]
    item_records = store.item_records(V, history)
    for _ in range(60):
        limit = rng.choice((1, 3, 10, 20, 100))
        steering.set_rules(steering_records(r), random_rules(rng, limit))
        store.version()  # the store reads the new rules
        filters = Filters(limit=limit, include_viewed=rng.choice((None, None, True, False)))
        rules = answers.rules("email", V, None)
        reasons = partial(answers.candidates.pick_reasons, V)
        cap = answers.candidates.viewed_cap(filters)
        judged = judged_lists(store, V, rules, limit, found, cap, reasons, item_records)
        for record, answer in zip(found, judged):
            alone = answers.for_user_record(V, record, filters, list_name="email")
            if answer is None:
                continue
            assert answer == alone
            assert json.dumps(answer) == json.dumps(alone)  # the same floats, key order and all
            judged_count += 1
            from_history += not record.picks
            popular_fill += any(item["reason"]["type"] == "popular" for item in answer["items"])
            pinned += any(item["reason"]["type"] == "promoted" for item in answer["items"])
            fired += "rules" in answer
        batch = answers.batch(user_ids, filters)["results"]
        for user_id, record, result in zip(user_ids, found, batch):
            assert result == {"user_id": user_id, **answers.for_user_record(V, record, filters, list_name="email")}
    assert judged_count > 60 * USERS * 0.5  # the others: a pool of 200 (limit 100) outgrows this small shop
    assert popular_fill > 100 and pinned > 100 and fired > 1000  # the cases are not vacuous
    light = sum(not rec.picks for rec in found)
    assert from_history > 60 * light * 0.3 and from_history < 60 * light  # some are left to ``Listing``


@pytest.mark.parametrize("factor", [100, 0.001])
def test_rules_whose_factors_multiply_past_a_float_still_answer(shop, factor):
    """200 boosts of 100 (or buries of 0.001) on every item multiply to more (less) than a float holds: the product
    stops at ``MOST_FACTOR`` (its inverse), and every score is a number."""
    r, store = shop
    kind = "boost" if factor > 1 else "bury"
    when = {"price": {"min": 0, "max": 1000}}
    rules = [{"name": f"r{n}", "type": kind, "when": when, "factor": factor} for n in range(198)]
    pin = {"name": "pin", "type": "pin", "item_id": ITEMS[3][0], "position": 2}  # placed with a score as large
    rules += [pin, {"name": "mix", "type": "diversity", "max_per_category": 2}]
    steering.set_rules(steering_records(r), rules)
    store.version()
    answers = Answers(store)
    record = records.decode_user(r.get(keys.user(V, "u1")))
    alone = answers.for_user_record(V, record, Filters(limit=10), list_name="email")
    assert len(alone["items"]) == 10 and all(math.isfinite(item["score"]) for item in alone["items"])
    if factor > 1:
        assert answers.rules("email", V, None).lift == MOST_FACTOR
        assert max(item["score"] for item in alone["items"]) > 1e6
    assert answers.batch(["u1"], Filters(limit=10))["results"][0] == {"user_id": "u1", **alone}


def test_the_picks_export_answers_as_each_list_alone(shop):
    """``recsvc export picks`` judges its chunks' ruled lists together too, with the same answers."""
    r, store = shop
    steering.set_rules(steering_records(r), random_rules(random.Random(5), 10) + [{"name": "d", "type": "diversity"}])
    store.version()
    answers = Answers(store)
    total, rows = export.picks(store, 10)
    exported = {row["user_id"]: row for row in rows}
    assert len(exported) == USERS
    for n in range(USERS):
        record = records.decode_user(r.get(keys.user(V, f"u{n}")))
        alone = answers.for_user_record(V, record, Filters(limit=10), list_name="email")
        assert exported[f"u{n}"] == {"user_id": f"u{n}", "model_version": V, **alone}


@pytest.mark.parametrize("ruled", [False, True])
def test_an_experiment_of_two_versions_lists_each_user_from_their_own(shop, ruled):
    """Two versions whose items (the same indices) have other lists: in a batch, a user without picks gets the
    lists of their arm's version, as alone, with and without rules."""
    r, store = shop
    write_version(r, "v2", 4)
    rules = random_rules(random.Random(6), 10) if ruled else []
    steering.set_rules(steering_records(r), rules)
    steering.start_experiment(steering_records(r), "two", [Arm("a", V), Arm("b", "v2")])
    store.version()
    answers = Answers(store)
    user_ids = [f"u{n}" for n in range(USERS)]
    batch = answers.batch(user_ids, Filters(limit=10))["results"]
    versions = {result["model_version"] for result in batch}
    assert versions == {V, "v2"}
    for user_id, result in zip(user_ids, batch):
        alone = answers.recommendations(user_id, Filters(limit=10))
        assert result["items"] == alone["items"] and result["model_version"] == alone["model_version"]
