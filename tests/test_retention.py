"""Retention end to end: intervals, buy-again, profiles and trigger lists on a shop with known answers."""

import math

import numpy as np
import pytest

from recsvc import create_app
from recsvc.contract import keys, records
from tests.conftest import AUTH
from training.config import TrainConfig
from training.inputs.presets import get_preset
from training.inputs.readers import read_events
from training.lists.retention import repurchase_intervals

pytestmark = pytest.mark.usefixtures("retention_model")


def ids(items) -> list[str]:
    return [i["item_id"] for i in items]


def trigger(client, kind, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.get(f"/v1/triggers/{kind}?{query}", headers=AUTH)


def test_intervals_are_learned_per_item_borrowed_from_the_category_and_absent_for_tvs(retention_shop):
    events, _ = read_events(retention_shop["events"], get_preset(None))
    item_ids = list(events.item_ids)
    category = {"coffee-a": 0, "coffee-b": 0, "tv-a": 1, "tv-b": 1}
    item_category = np.array([category.get(i, 2) for i in item_ids], dtype=np.int32)
    intervals = repurchase_intervals(events, item_category, 3, TrainConfig())
    days = dict(zip(item_ids, intervals.days.tolist()))
    own = dict(zip(item_ids, intervals.from_item.tolist()))
    assert days["coffee-a"] == pytest.approx(10, abs=0.01) and own["coffee-a"]
    assert days["coffee-b"] == pytest.approx(10, abs=0.01) and not own["coffee-b"]  # the category's
    assert math.isnan(days["tv-a"])  # seven buyers, nobody bought again
    assert math.isnan(days["shoe-a"])


def test_buy_again_ranks_the_due_item_first_with_its_reason(client, retention_model):
    answer = client.get("/v1/users/steady/buy-again", headers=AUTH).json
    assert answer["source"] == "buy_again" and answer["model_version"] == retention_model.version
    assert ids(answer["items"]) == ["coffee-a", "coffee-b"]
    first, second = (i["reason"] for i in answer["items"])
    assert first == {"type": "due_again", "days_since_last_purchase": 10, "interval_days": 10.0, "times_bought": 4}
    assert second["days_since_last_purchase"] == 5 and second["times_bought"] == 1
    assert answer["items"][0]["title"] == "Coffee A"


def test_an_item_nobody_buys_twice_is_never_offered_again(client):
    for n in range(6):
        assert "tv-a" not in ids(client.get(f"/v1/users/regular-{n}/buy-again?limit=100", headers=AUTH).json["items"])


def test_buy_again_without_repeatable_purchases_falls_back_to_popular(client):
    for user in ("one-timer", "nobody"):
        answer = client.get(f"/v1/users/{user}/buy-again", headers=AUTH).json
        assert answer["source"] == "popular" and answer["items"]


def test_buy_again_keeps_the_filters(client):
    assert ids(client.get("/v1/users/steady/buy-again?exclude=coffee-a", headers=AUTH).json["items"]) == ["coffee-b"]
    assert client.get("/v1/users/steady/buy-again?limit=0", headers=AUTH).status_code == 400
    assert client.get("/v1/users/bad%09id/buy-again", headers=AUTH).status_code == 400


@pytest.mark.parametrize(
    "user, segment, at_risk",
    [
        ("drifting", "at_risk", True),
        ("big-spender", "vip", False),
        ("steady", "repeat", False),
        ("one-timer", "new", False),
        ("browser", "new", False),
    ],
)
def test_profile_segments(client, user, segment, at_risk):
    answer = client.get(f"/v1/users/{user}/profile", headers=AUTH).json
    assert (answer["segment"], answer["at_risk"]) == (segment, at_risk)


def test_profile_figures_and_top_categories(client):
    steady = client.get("/v1/users/steady/profile", headers=AUTH).json
    assert steady["orders"] == 6 and steady["spend"] == 4 * 10.0 + 12.0 + 500.0
    assert steady["days_since_last_order"] == 5 and steady["usual_interval_days"] == 10.0
    assert steady["top_categories"][0] == "coffee"
    drifting = client.get("/v1/users/drifting/profile", headers=AUTH).json
    assert drifting["usual_interval_days"] == 8.0 and drifting["days_since_last_order"] == 14
    unknown = client.get("/v1/users/nobody/profile", headers=AUTH).json
    assert unknown["known"] is False and unknown["segment"] == "new"


def test_trigger_lists_need_a_valid_key(client):
    assert client.get("/v1/triggers/replenishment").status_code == 401
    wrong = client.get("/v1/triggers/replenishment", headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "unauthenticated"
    assert trigger(client, "replenishment").status_code == 200


def test_replenishment_lists_users_with_items_due_within_the_window(client):
    today = {e["user_id"]: e for e in trigger(client, "replenishment", days=1).json["entries"]}
    assert "steady" in today and ids(today["steady"]["items"]) == ["coffee-a"]
    week = {e["user_id"]: e for e in trigger(client, "replenishment", days=7).json["entries"]}
    assert ids(week["steady"]["items"]) == ["coffee-a", "coffee-b"]
    assert "drifting" in week  # 14 days since, every 8 days: overdue but not dropped


def test_trigger_pages_cover_the_list_once(client):
    whole = trigger(client, "replenishment", days=30, limit=1000).json
    assert whole["next_cursor"] is None
    seen, cursor = [], None
    for _ in range(50):
        page = trigger(client, "replenishment", days=30, limit=2, **({"cursor": cursor} if cursor else {})).json
        seen += [e["user_id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["user_id"] for e in whole["entries"]] and len(seen) >= 8


def test_abandoned_cart_waits_the_given_hours(client):
    day_old = {e["user_id"]: e for e in trigger(client, "abandoned-cart", hours=24).json["entries"]}
    assert ids(day_old["carter"]["items"]) == ["shoe-a"]
    assert day_old["carter"]["items"][0]["reason"] == {"type": "in_cart"}
    assert "cart-then-bought" not in day_old
    assert "carter" not in {e["user_id"] for e in trigger(client, "abandoned-cart", hours=72).json["entries"]}


def test_category_interest_offers_the_viewed_category(client):
    entries = {e["user_id"]: e for e in trigger(client, "category-interest", days=7).json["entries"]}
    browser = entries["browser"]
    assert browser["category_id"] == "shoes"
    assert {i["category_id"] for i in browser["items"]} == {"shoes"}
    assert browser["items"][0]["reason"] == {"type": "viewed_not_bought", "category_id": "shoes"}


def test_win_back_lists_at_risk_users_with_picks(client):
    entries = {e["user_id"]: e for e in trigger(client, "win-back", days=30).json["entries"]}
    assert set(entries) == {"drifting"}
    assert entries["drifting"]["items"] and entries["drifting"]["days_since_last_order"] == 14


@pytest.mark.parametrize(
    "url, status",
    [
        ("/v1/triggers/birthday", 404),
        ("/v1/triggers/replenishment?cursor=garbage", 400),
        ("/v1/triggers/abandoned-cart?days=3", 400),
        ("/v1/triggers/replenishment?days=-1", 400),
        ("/v1/triggers/replenishment?limit=5000", 400),
    ],
)
def test_trigger_bad_requests_get_json_errors(client, url, status):
    response = client.get(url, headers=AUTH)
    assert response.status_code == status and response.json["error"]["message"]


def test_a_cursor_from_another_version_is_refused(client, retention_model):
    from recsvc.read.triggers import Page

    stale = Page("20000101T000000Z-0000", 0.0, 1.0, 0).encode()
    response = trigger(client, "replenishment", cursor=stale)
    assert response.status_code == 400 and "republished" in response.json["error"]["message"]


def test_buy_again_record_round_trip_and_key_names():
    data = records.encode_buy_again([3, 1], [1_700_000_000, 1_700_100_000], [4, 1], [10.0, 7.5])
    record = records.decode_buy_again(data)
    assert list(record.items) == [3, 1] and list(record.last) == [1_700_000_000, 1_700_100_000]
    assert list(record.counts) == [4, 1] and list(record.interval_days) == [10.0, 7.5]
    assert keys.buy_again("v1", "u") == "recsvc:v:v1:ba:u"
    assert keys.profile("v1", "u") == "recsvc:v:v1:p:u"
    assert keys.trigger("v1", "win-back") == "recsvc:v:v1:t:win-back"
    with pytest.raises(ValueError):
        keys.trigger("v1", "nope")


def test_the_openapi_document_describes_the_retention_endpoints(client):
    spec = client.get("/openapi.json").json
    paths = spec["paths"]
    assert {"/v1/users/{user_id}/buy-again", "/v1/users/{user_id}/profile", "/v1/triggers/{kind}"} <= set(paths)
    assert paths["/v1/triggers/{kind}"]["get"]["security"] == [{"apiKey": []}]
    assert spec["components"]["securitySchemes"]["apiKey"]["name"] == "X-API-Key"


def test_intervals_without_any_category(retention_shop):
    """Regression: with no item in a category (events without a catalog) the category rates were integers."""
    events, _ = read_events(retention_shop["events"], get_preset(None))
    no_category = np.full(len(events.item_ids), -1, dtype=np.int32)
    intervals = repurchase_intervals(events, no_category, 0, TrainConfig())
    days = dict(zip(events.item_ids, intervals.days.tolist()))
    assert days["coffee-a"] == pytest.approx(10, abs=0.01) and math.isnan(days["coffee-b"])


def test_a_numeric_api_key_from_the_environment_works(retention_model, redis_url, monkeypatch):
    """Regression: Flask parses RECSVC_API_KEYS=12345 as JSON, so the key arrived as an int."""
    monkeypatch.setenv("RECSVC_API_KEYS", "12345")
    client = create_app({"REDIS_URL": redis_url, "TESTING": True}).test_client()
    assert client.get("/v1/triggers/replenishment", headers={"X-API-Key": "12345"}).status_code == 200
    assert client.get("/v1/triggers/replenishment", headers={"X-API-Key": "1234"}).status_code == 401
