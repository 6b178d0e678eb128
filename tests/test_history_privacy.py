"""Regression (issue 26, item 5): a customer's history was readable without a key. Without the API key or the
user's token, user-keyed answers name no history item and offer no viewed item again, and ``user_id`` on item
lists needs one; with either, the answers are as they were."""

import pytest

from recsvc import create_app
from recsvc.http.tokens import make_token
from tests.conftest import API_KEY, AUTH

SECRET = "token-secret-of-the-shop"
ALICE_VIEWED = {"shoe-2", "shirt-2", "tv-1"}
"""What alice viewed and did not buy in the known shop (tests/shop.py); she bought shoe-1."""

pytestmark = pytest.mark.usefixtures("shop_model")


@pytest.fixture
def client(redis_url):
    """The service with a key and a token secret."""
    return create_app(
        {"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": API_KEY, "TOKEN_SECRET": SECRET}
    ).test_client()


def bearer(user_id: str) -> dict:
    return {"Authorization": f"Bearer {make_token(SECRET, user_id, 300)}"}


def ids(answer: dict) -> list[str]:
    return [item["item_id"] for item in answer["items"]]


def named_history(items: list[dict]) -> list[dict]:
    """The reasons that name an item of the user's history, or offer a viewed item again."""
    return [
        i["reason"]
        for i in items
        if i["reason"]["type"] == "recently_viewed"
        or (i["reason"]["type"] in ("because_you_bought", "because_you_viewed") and "item_id" in i["reason"])
    ]


def without_rec_id(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "rec_id"}


def test_picks_without_a_key_name_and_re_offer_nothing_of_the_history(client):
    known = client.get("/v1/users/alice/recommendations?limit=10", headers=AUTH).json
    assert named_history(known["items"])  # with the key: as before, her views and purchases explain her picks
    assert ALICE_VIEWED & {i["item_id"] for i in known["items"] if i["reason"]["type"] == "recently_viewed"}
    answer = client.get("/v1/users/alice/recommendations?limit=10").json
    assert answer["source"] == "personalized" and answer["items"]
    assert not ALICE_VIEWED & set(ids(answer))  # in this small shop, not even as popular items
    assert named_history(answer["items"]) == []
    types = {i["reason"]["type"] for i in answer["items"]}
    assert types & {"because_you_bought", "because_you_viewed"}  # the reason's type stays, without its item
    assert "shoe-1" not in ids(answer)  # bought: never offered back


def test_a_light_user_without_a_key_gets_no_viewed_item_and_no_named_one(client):
    known = client.get("/v1/users/bob/recommendations?limit=5", headers=AUTH).json
    assert known["items"][0] == {**known["items"][0], "item_id": "tv-2", "reason": {"type": "recently_viewed"}}
    answer = client.get("/v1/users/bob/recommendations?limit=5").json
    assert "tv-2" not in ids(answer)
    assert answer["items"][0]["reason"] == {"type": "because_you_viewed"}
    assert named_history(answer["items"]) == []


def test_include_viewed_needs_the_key_or_the_users_token(client):
    refused = client.get("/v1/users/alice/recommendations?include_viewed=true")
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthenticated"
    assert client.get("/v1/users/alice/recommendations?include_viewed=true", headers=bearer("bob")).status_code == 401
    mine = client.get("/v1/users/alice/recommendations?limit=20&include_viewed=true", headers=bearer("alice")).json
    assert ALICE_VIEWED <= set(ids(mine))
    assert client.get("/v1/users/alice/recommendations?include_viewed=false").status_code == 200


@pytest.mark.parametrize(
    "path", ["/v1/users/alice/recommendations?limit=10", "/v1/users/alice/category-offers?limit=5&items_per_category=4"]
)
def test_with_the_users_token_the_answer_is_the_keys(client, path):
    with_key = client.get(path, headers=AUTH).json
    with_token = client.get(path, headers=bearer("alice")).json
    assert without_rec_id(with_token) == without_rec_id(with_key)
    assert client.get(path.replace("?", "?token=" + make_token(SECRET, "alice", 300) + "&")).json["model_version"]


def test_category_offers_without_a_key_name_and_re_offer_nothing_of_the_history(client):
    path = "/v1/users/alice/category-offers?limit=5&items_per_category=4"
    known = [i for o in client.get(path, headers=AUTH).json["offers"] for i in o["items"]]
    assert named_history(known)
    offers = client.get(path).json["offers"]
    assert offers and all(o["items"] for o in offers)
    assert named_history([i for o in offers for i in o["items"]]) == []
    assert ALICE_VIEWED & {i["item_id"] for i in known}
    assert not ALICE_VIEWED & {i["item_id"] for o in offers for i in o["items"]}  # not even as popular items


@pytest.mark.parametrize("item", ["shoe-2", "shoe-1"])
def test_also_bought_for_a_user_needs_the_key_or_the_users_token(client, item):
    path = f"/v1/items/{item}/also-bought?limit=20&user_id=alice"
    refused = client.get(path)
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthenticated"
    assert client.get(path, headers=bearer("bob")).status_code == 401
    mine = client.get(path, headers=bearer("alice")).json
    assert without_rec_id(mine) == without_rec_id(client.get(path, headers=AUTH).json)
    assert "shoe-1" not in ids(mine)  # what she bought
    assert client.get(f"/v1/items/{item}/also-bought?limit=20").status_code == 200  # the item's list stays open


def test_session_picks_for_a_user_need_the_key_or_the_users_token(client):
    body = {"items": ["tv-1"], "user_id": "alice", "limit": 4}
    refused = client.post("/v1/sessions/recommendations", json=body)
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthenticated"
    assert client.post("/v1/sessions/recommendations", json=body, headers=bearer("alice")).status_code == 200
    assert client.post("/v1/sessions/recommendations", json={"items": ["tv-1"]}).status_code == 200
