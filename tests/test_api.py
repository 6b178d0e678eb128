"""End to end: train on a small shop with known answers, then check every rule of the HTTP contract."""

import pytest

from tests.conftest import AUTH
from tests.shop import CATALOG, CATEGORIES, HIDDEN

ITEM_ENDPOINTS = ["also-bought", "similar"]
USERS = ["alice", "bob", "runner-3", "viewer-5", "coffee-2", "nobody-knows-me"]

pytestmark = pytest.mark.usefixtures("shop_model")


def ids(answer) -> list[str]:
    return [i["item_id"] for i in answer["items"]]


def all_lists(client):
    """(url, answer) for every list endpoint and subject of the shop."""
    for user in USERS:
        url = f"/v1/users/{user}/recommendations?limit=20"
        yield url, client.get(url).json
    for item, *_ in CATALOG:
        for endpoint in ITEM_ENDPOINTS:
            url = f"/v1/items/{item}/{endpoint}?limit=20"
            yield url, client.get(url).json
    yield "/v1/popular?limit=20", client.get("/v1/popular?limit=20").json


def test_buyers_of_x_reliably_buy_y_so_y_leads_also_bought(client):
    assert ids(client.get("/v1/items/shoe-1/also-bought?limit=10").json)[0] == "shirt-1"
    assert ids(client.get("/v1/items/tv-1/also-bought?limit=10").json)[0] == "cable-1"


def test_also_bought_puts_complements_before_near_copies(client):
    answer = client.get("/v1/items/shoe-1/also-bought?limit=10").json
    kinds = [i["reason"]["type"] for i in answer["items"]]
    assert kinds[:2] == ["bought_together", "bought_together"]
    assert {i["category_id"] for i in answer["items"][:2]} == {"running-clothes"}
    assert answer["items"][0]["reason"] == {"type": "bought_together", "item_id": "shoe-1"}


def test_every_list_keeps_the_rules(client, shop_model):
    version = shop_model.version
    for url, answer in all_lists(client):
        items = ids(answer)
        assert answer["model_version"] == version, url
        assert items, f"{url}: empty list"
        assert len(items) == len(set(items)), f"{url}: duplicates"
        assert HIDDEN not in items, f"{url}: an unavailable item"
        if "/items/" in url:
            assert answer["item_id"] not in items, f"{url}: the subject item"
        for item in answer["items"]:
            assert set(item) >= {"item_id", "score", "category_id", "reason"}, url
            assert item["title"] and item["url"].startswith("https://shop.test/"), url


def test_a_user_is_not_offered_what_they_bought(client):
    answer = client.get("/v1/users/alice/recommendations?limit=20").json
    assert answer["source"] == "personalized"
    assert "shoe-1" not in ids(answer)
    runner = client.get("/v1/users/runner-3/recommendations?limit=20").json
    assert "shirt-1" not in ids(runner) and "shoe-1" not in ids(runner)


def test_picks_are_explained_by_the_users_own_history(client):
    answer = client.get("/v1/users/alice/recommendations?limit=10", headers=AUTH).json
    history = {"shoe-1", "shoe-2", "shirt-2", "tv-1"}
    for item in answer["items"]:
        reason = item["reason"]
        if reason["type"] in ("because_you_bought", "because_you_viewed"):
            assert reason["item_id"] in history
            assert reason["item_id"] != item["item_id"]
            assert (reason["type"] == "because_you_bought") == (reason["item_id"] == "shoe-1")


def test_a_light_user_gets_picks_that_follow_their_view(client):
    answer = client.get("/v1/users/bob/recommendations?limit=5", headers=AUTH).json
    assert answer["source"] == "personalized"
    # the TV bob viewed comes back first, then what follows from it
    assert answer["items"][0]["item_id"] == "tv-2"
    assert answer["items"][0]["reason"] == {"type": "recently_viewed"}
    assert answer["items"][1]["reason"] == {"type": "because_you_viewed", "item_id": "tv-2"}


def test_unknown_user_and_item_fall_back_to_popular(client):
    popular = ids(client.get("/v1/popular?limit=5").json)
    user = client.get("/v1/users/nobody-knows-me/recommendations?limit=5").json
    assert user["source"] == "popular" and ids(user) == popular
    item = client.get("/v1/items/no-such-item/also-bought?limit=5").json
    assert item["source"] == "popular" and ids(item) == popular
    assert all(i["reason"] == {"type": "popular"} for i in user["items"])


def test_popular_ranks_the_busiest_available_items(client):
    answer = client.get("/v1/popular?limit=3").json
    assert ids(answer)[0] == "coffee-1"  # 20 drinkers x 4 purchases
    sports = ids(client.get("/v1/popular?category=sports&limit=10").json)
    assert sports and all(i.startswith(("shoe", "shirt", "sock")) for i in sports)


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_limit_is_respected(client, limit):
    assert len(ids(client.get(f"/v1/users/alice/recommendations?limit={limit}").json)) == limit
    assert len(ids(client.get(f"/v1/items/shoe-1/also-bought?limit={limit}").json)) == limit


def test_category_filter_includes_child_categories(client):
    answer = client.get("/v1/users/alice/recommendations?category=electronics&limit=10").json
    assert answer["items"] and {i["category_id"] for i in answer["items"]} <= {"tv", "tv-accessories"}
    answer = client.get("/v1/items/shoe-1/also-bought?category=running-clothes&limit=10").json
    assert set(ids(answer)) == {"shirt-1", "shirt-2", "sock-1"}


def test_exclude_drops_items(client):
    first = ids(client.get("/v1/users/alice/recommendations?limit=3").json)
    again = ids(client.get(f"/v1/users/alice/recommendations?limit=3&exclude={','.join(first[:2])}").json)
    assert not set(first[:2]) & set(again)
    assert "shirt-1" not in ids(client.get("/v1/items/shoe-1/also-bought?exclude=shirt-1").json)


def test_also_bought_with_user_id_drops_what_that_user_bought(client):
    plain = ids(client.get("/v1/items/shoe-2/also-bought?limit=20").json)
    assert "shoe-1" in plain
    assert "shoe-1" not in ids(client.get("/v1/items/shoe-2/also-bought?limit=20&user_id=alice", headers=AUTH).json)


def test_category_offers_put_viewed_not_bought_first(client):
    answer = client.get("/v1/users/alice/category-offers?limit=3&items_per_category=2").json
    offers = answer["offers"]
    assert answer["source"] == "personalized" and len(offers) == 3
    reasons = [o["reason"]["type"] for o in offers]
    assert reasons[0] == "viewed_not_bought"
    assert reasons == sorted(reasons, key=lambda r: r != "viewed_not_bought")
    assert {"tv", "running-clothes"} <= {o["category_id"] for o in offers}
    for offer in offers:
        assert 1 <= len(offer["items"]) <= 2
        assert "shoe-1" not in ids(offer)
    unknown = client.get("/v1/users/nobody-knows-me/category-offers").json
    assert unknown["source"] == "popular" and unknown["offers"]


def test_each_category_offer_leads_with_the_users_picks_in_that_category_in_their_order(client):
    parents = dict(CATEGORIES)

    def under(category, offered):
        while category:
            if category == offered:
                return True
            category = parents.get(category)
        return False

    store = client.application.extensions["recsvc"].store
    checked = 0
    for user in USERS:
        _, record, _, _ = store.user_live(user)
        if record is None or not record.picks:  # served from their items' lists: offers fill with popular items
            continue
        recs = client.get(f"/v1/users/{user}/recommendations?limit=100&include_viewed=true", headers=AUTH).json["items"]
        picks = [(i["item_id"], i["category_id"]) for i in recs if i["reason"]["type"] != "popular"]
        answer = client.get(f"/v1/users/{user}/category-offers?limit=8&items_per_category=10", headers=AUTH).json
        for offer in answer["offers"]:
            shown = [i["item_id"] for i in offer["items"] if i["reason"]["type"] != "popular"]
            assert shown == [item for item, category in picks if under(category, offer["category_id"])], user
            checked += len(shown)
    assert checked > 0  # some offers carry picks


def test_batch_answers_in_request_order(client):
    users = ["bob", "nobody-knows-me", "alice", "bob"]
    answer = client.post("/v1/recommendations/batch", headers=AUTH, json={"user_ids": users, "limit": 4}).json
    assert [r["user_id"] for r in answer["results"]] == users
    assert [r["source"] for r in answer["results"]] == ["personalized", "popular", "personalized", "personalized"]
    for n, user in enumerate(users):
        single = client.get(f"/v1/users/{user}/recommendations?limit=4", headers=AUTH).json
        assert answer["results"][n]["items"] == single["items"], user


def test_model_describes_the_served_version(client, shop_model):
    answer = client.get("/v1/model").json
    assert answer["model_version"] == shop_model.version
    assert answer["counts"]["users"] == 60 + 40 + 30 + 80 + 2
    assert answer["parameters"]["factors"] > 0 and answer["trained_at"]


def test_probes(client):
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "ready"


@pytest.mark.parametrize(
    "url",
    [
        "/v1/users/alice/recommendations?limit=0",
        "/v1/users/alice/recommendations?limit=101",
        "/v1/users/alice/recommendations?limit=ten",
        "/v1/users/" + "x" * 129 + "/recommendations",
        "/v1/users/al%09ice/recommendations",
        "/v1/users/al%0Aice/recommendations",
        "/v1/users/al%0Aice/profile",
        "/v1/users/al%E2%80%8Bce/recommendations",
        "/v1/users/%20alice/recommendations",
        "/v1/items/shoe-1/also-bought?user_id=a%0Ab",
        "/v1/items/shoe-1/similar?exclude=ok,bad%09id",
        "/v1/users/alice/category-offers?items_per_category=0",
        "/v1/popular?category=a%0Db",
    ],
)
def test_bad_requests_get_a_json_400(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_argument" and response.json["error"]["message"]


@pytest.mark.parametrize(
    "body, status",
    [
        ({"user_ids": []}, 400),
        ({"user_ids": "alice"}, 400),
        ({"user_ids": ["alice", 3]}, 400),
        ({"user_ids": ["alice"], "limit": 0}, 400),
        ({"user_ids": ["alice"], "limit": True}, 400),
        ({"user_ids": [f"u{n}" for n in range(1001)]}, 413),
        ([1, 2], 400),
    ],
)
def test_bad_batches(client, body, status):
    response = client.post("/v1/recommendations/batch", headers=AUTH, json=body)
    assert response.status_code == status and "error" in response.json


def test_errors_are_json_never_html(client):
    batch = "/v1/recommendations/batch"
    for response, status in [
        (client.get("/v1/nothing-here"), 404),
        (client.post("/v1/popular"), 405),
        (client.post(batch, headers=AUTH, data="not json", content_type="application/json"), 400),
        (client.post(batch, headers=AUTH, data=b"x" * (3 << 20), content_type="application/json"), 413),
        (client.get("/v1/popular?category=no-such-category"), 404),
    ]:
        assert response.status_code == status
        assert response.is_json and set(response.json["error"]) == {"code", "message"}


def test_openapi_documents_every_endpoint(client):
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) >= {
        "/v1/users/{user_id}/recommendations",
        "/v1/items/{item_id}/also-bought",
        "/v1/items/{item_id}/similar",
        "/v1/users/{user_id}/category-offers",
        "/v1/recommendations/batch",
        "/v1/popular",
        "/v1/model",
        "/healthz",
        "/readyz",
    }
    params = {p["name"] for p in spec["components"]["parameters"].values()}
    assert {"limit", "category", "exclude", "user_id", "item_id"} <= params


def test_a_viewed_item_offered_again_says_so(client):
    answer = client.get("/v1/users/alice/recommendations?limit=10", headers=AUTH).json
    again = [i for i in answer["items"] if i["reason"] == {"type": "recently_viewed"}]
    assert {i["item_id"] for i in again} == {"shoe-2", "shirt-2", "tv-1"}  # what she looked at and did not buy
    assert "shoe-1" not in {i["item_id"] for i in answer["items"]}
