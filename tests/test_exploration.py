"""Exploration: new items (added by a catalog update) take a bounded share of picks and popular lists."""

import pytest

from recsvc import create_app
from recsvc.admin import steering
from recsvc.read.experiments import Arm
from recsvc.read.exploration import NEW_ARRIVAL, interleaved, places
from tests.conftest import API_KEY, AUTH
from tests.gateways import steering_records
from tests.shop import write_shop
from tests.test_new_items import BY_CONTENT, NEW_SHOE, update
from training.train import Inputs, train


@pytest.fixture
def shop(r, tmp_path, redis_url, capsys):
    """The known-answer shop with one running shoe added after training."""
    paths = write_shop(tmp_path / "shop")
    trained = train(
        r, Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"]), BY_CONTENT
    )
    assert update(capsys, redis_url, tmp_path, NEW_SHOE)[0] == 0
    return trained


def new_places(answer: dict) -> list[int]:
    return [n for n, item in enumerate(answer["items"]) if item["reason"] == NEW_ARRIVAL]


@pytest.mark.parametrize(
    "limit, share, expected", [(10, 0.1, [9]), (10, 0.2, [4, 8]), (10, 0.0, []), (9, 0.1, []), (20, 0.1, [9, 18])]
)
def test_places_are_at_most_the_share_and_end_at_the_lists_end(limit, share, expected):
    assert places(limit, share) == expected
    others = [(n, 1.0, {}) for n in range(100, 100 + limit)]
    new = [(n, 0.0, NEW_ARRIVAL) for n in range(len(expected))]
    merged = list(interleaved(others, new, places(limit, share)))[:limit]
    assert [n for n, c in enumerate(merged) if c[2] is NEW_ARRIVAL] == [p + n for n, p in enumerate(expected)]


def test_a_user_of_the_category_sees_the_new_item_in_the_last_place_of_ten(shop, client):
    answer = client.get("/v1/users/alice/recommendations?limit=10", headers=AUTH).json  # alice bought shoe-1
    assert answer["source"] == "personalized"
    assert new_places(answer) == [9] and answer["items"][9]["item_id"] == "shoe-9"
    assert client.get("/v1/model").json["exploration"] == {"share": 0.1, "new_items": 1}
    batch = client.post("/v1/recommendations/batch", json={"user_ids": ["alice"], "limit": 10}, headers=AUTH).json
    assert batch["results"][0]["items"] == answer["items"]


def test_a_user_who_never_took_the_category_does_not_see_it(shop, client):
    answer = client.get("/v1/users/bob/recommendations?limit=10", headers=AUTH).json  # bob viewed one TV
    assert "shoe-9" not in [i["item_id"] for i in answer["items"]]


def test_rules_steer_new_items_and_an_arm_may_turn_exploration_off(shop, r, client):
    def popular() -> dict:
        return client.get("/v1/popular?category=running-shoes&limit=10").json

    assert new_places(popular())
    steering.set_rules(
        steering_records(r), [{"name": "no-new", "type": "exploration", "share": 0, "lists": ["popular"]}]
    )
    assert not new_places(popular())
    steering.set_rules(steering_records(r), [{"name": "no-trail", "type": "filter", "when": {"item_id": "shoe-9"}}])
    assert "shoe-9" not in [i["item_id"] for i in popular()["items"]]
    steering.set_rules(steering_records(r), [{"name": "pin", "type": "pin", "item_id": "shoe-3", "position": 10}])
    answer = popular()
    assert answer["items"][-1]["item_id"] == "shoe-3" and answer["items"][-1]["reason"] == {"type": "promoted"}
    steering.set_rules(steering_records(r), [{"name": "quiet", "type": "exploration", "share": 0, "variant": "quiet"}])
    assert new_places(popular())  # the default rule set: the service's share
    test = steering.start_experiment(
        steering_records(r), "explore", [Arm("a", share=0.5), Arm("b", rules="quiet", share=0.5)]
    )
    visitors = {test.arm_for(f"visitor-{n}").name: f"visitor-{n}" for n in range(40)}
    for arm, shown in (("a", True), ("b", False)):
        answer = client.get(f"/v1/users/{visitors[arm]}/recommendations?category=running-shoes", headers=AUTH).json
        assert answer["experiment"] == {"name": "explore", "arm": arm}
        assert bool(new_places(answer)) is shown


def test_the_service_share_is_a_setting_checked_at_start(shop, redis_url):
    off = create_app({"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": API_KEY, "EXPLORATION_SHARE": 0})
    answer = off.test_client().get("/v1/popular?category=running-shoes&limit=10").json
    assert not new_places(answer)
    with pytest.raises(ValueError, match="EXPLORATION_SHARE"):
        create_app({"REDIS_URL": redis_url, "TESTING": True, "EXPLORATION_SHARE": 0.9})


def test_a_bad_exploration_rule_says_what_is_wrong(shop, client):
    bad = [{"name": "x", "type": "exploration", "share": 2}]
    answer = client.put("/v1/rules", json=bad, headers=AUTH)
    assert answer.status_code == 400 and "share must be a number from 0 to 0.5" in answer.json["error"]["message"]


def test_an_exploration_rule_that_placed_a_new_item_is_named_in_the_answers_rules(shop, r, client):
    assert "rules" not in client.get("/v1/popular?category=running-shoes&limit=10").json  # the service's share
    more = {"name": "more-new", "type": "exploration", "share": 0.2}
    steering.set_rules(steering_records(r), [more, {"name": "no-tv", "type": "filter", "when": {"item_id": "tv-9"}}])
    popular = client.get("/v1/popular?category=running-shoes&limit=10").json
    assert new_places(popular) and popular["rules"] == ["more-new"]
    alice = client.get("/v1/users/alice/recommendations?limit=10", headers=AUTH).json
    assert new_places(alice) and "more-new" in alice["rules"]
    batch = client.post("/v1/recommendations/batch", json={"user_ids": ["alice"], "limit": 10}, headers=AUTH).json
    assert "more-new" in batch["results"][0].get("rules", [])
    visitor = client.get("/v1/users/nobody-yet/recommendations?category=running-shoes", headers=AUTH).json
    assert visitor["source"] == "popular" and new_places(visitor) and visitor["rules"] == ["more-new"]
    tv = client.get("/v1/popular?category=tv&limit=10").json  # no new item of the category: the rule changed nothing
    assert not new_places(tv) and "more-new" not in tv.get("rules", [])


def test_a_new_item_takes_the_score_of_the_place_it_takes():
    others = [(100 + n, float(16 - n), {}) for n in range(8)]
    merged = list(interleaved(others, [(1, 0.0, NEW_ARRIVAL), (2, 0.0, NEW_ARRIVAL)], [4, 9]))
    assert [c[0] for c in merged][4:6] == [1, 104] and merged[4][1] == merged[5][1] == 12.0  # the one it moves down
    assert merged[-1] == (2, 9.0, NEW_ARRIVAL)  # after them all: the last one's
    assert list(interleaved([], [(1, 0.0, NEW_ARRIVAL)], [0])) == [(1, 0.0, NEW_ARRIVAL)]


def test_a_new_items_score_in_an_answer_is_its_neighbours_not_zero(shop, r, client):
    popular = client.get("/v1/popular?category=sports&limit=10").json["items"]  # 6 best-sellers, then the new one
    assert popular[-1]["reason"] == NEW_ARRIVAL and popular[-1]["score"] == popular[-2]["score"] > 0
    steering.set_rules(steering_records(r), [{"name": "more-new", "type": "exploration", "share": 0.2}])
    popular = client.get("/v1/popular?category=sports&limit=10").json["items"]
    (place,) = new_places({"items": popular})
    assert place == 4 and popular[4]["score"] == popular[5]["score"] > 0  # the item whose place it took
    scores = [i["score"] for i in popular[:7]]
    assert scores == sorted(scores, reverse=True)
    alice = client.get("/v1/users/alice/recommendations?limit=10", headers=AUTH).json["items"]
    (place,) = new_places({"items": alice})
    assert alice[place]["score"] > 0 and alice[place]["score"] in {alice[place - 1]["score"], alice[place + 1]["score"]}
