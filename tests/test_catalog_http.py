"""``PUT /v1/catalog/items``: the shop's backend changes and adds items over HTTP, as `recsvc catalog update` does."""

from tests.conftest import AUTH
from tests.test_new_items import ids, shop  # noqa: F401 (the fixture: a shop trained for each test)

NEW_SHOE = {"item_id": "shoe-9", "category_id": "running-shoes", "title": "Trail running shoe GTX", "price": 109}


def put(client, items, headers=AUTH):
    return client.put("/v1/catalog/items", json={"items": items}, headers=headers)


def test_an_item_added_over_http_is_answered_from_its_content_at_the_next_request(shop, client):  # noqa: F811
    assert client.get("/v1/items/shoe-9/similar").json["source"] == "popular"
    answer = put(client, [NEW_SHOE])
    assert answer.status_code == 200
    assert answer.json["added"] == 1 and answer.json["version"] == shop.version and answer.json["bad_items"] == 0
    similar = client.get("/v1/items/shoe-9/similar").json
    assert similar["source"] == "similar" and ids(similar)[0] == "shoe-1"


def test_known_items_change_and_a_hidden_one_leaves_the_lists(shop, client):  # noqa: F811
    assert "shoe-2" in ids(client.get("/v1/items/shoe-1/similar").json)
    answer = put(client, [{"item_id": "shoe-2", "available": False}, {"item_id": "shoe-3", "price": 99.5}])
    assert answer.status_code == 200 and (answer.json["changed"], answer.json["hidden"]) == (2, 1)
    similar = client.get("/v1/items/shoe-1/similar").json
    assert "shoe-2" not in ids(similar)
    assert next(i["price"] for i in similar["items"] if i["item_id"] == "shoe-3") == 99.5


def test_a_call_that_adds_items_with_a_bad_one_is_refused_whole_naming_it(shop, client):  # noqa: F811
    bad = {"item_id": "shoe-10", "category_id": "no-such-category", "title": "Shoe"}
    answer = put(client, [NEW_SHOE, {"item_id": "shoe-3", "price": 1.0}, bad])
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_argument"
    assert "item 3" in answer.json["error"]["message"] and "nothing was applied" in answer.json["error"]["message"]
    assert client.get("/v1/items/shoe-9/similar").json["source"] == "popular"  # not added
    similar = client.get("/v1/items/shoe-1/similar").json
    assert next(i["price"] for i in similar["items"] if i["item_id"] == "shoe-3") == 129.0  # not changed


def test_without_adding_items_bad_ones_are_skipped_and_reported(shop, client):  # noqa: F811
    answer = put(client, [{"item_id": "shoe-3", "price": "cheap"}, "not an object", {"item_id": "shoe-2", "price": 95}])
    assert answer.status_code == 200 and answer.json["changed"] == 1 and answer.json["bad_items"] == 2
    assert [e.split(":")[0] for e in answer.json["examples"]] == ["item 1", "item 2"]


def test_the_key_a_list_and_the_size_are_required(shop, client):  # noqa: F811
    assert put(client, [NEW_SHOE], headers={}).status_code == 401
    assert client.put("/v1/catalog/items", json=[NEW_SHOE], headers=AUTH).status_code == 400
    assert put(client, []).status_code == 400
    too_many = put(client, [{"item_id": f"sku-{n}", "price": 1} for n in range(10_001)])
    assert too_many.status_code == 413 and too_many.json["error"]["code"] == "too_large"
