"""New items added by `recsvc catalog update`: answered from their content the request after, without training."""

import pytest

from cli.main import main
from recsvc.contract import content, keys, versions
from tests.shop import write_shop
from training.train import Inputs, train

NEW_SHOE = "item_id,category_id,title,price\nshoe-9,running-shoes,Trail running shoe GTX,109\n"


@pytest.fixture
def shop(r, tmp_path):
    """The known-answer shop of ``tests/shop.py``, trained and published for each test (they change it)."""
    r.flushdb()
    paths = write_shop(tmp_path / "shop")
    return train(r, Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"]))


def update(capsys, redis_url, tmp_path, text: str):
    changes = tmp_path / "changes.csv"
    changes.write_text(text, encoding="utf-8")
    code = main(["--redis-url", redis_url, "catalog", "update", str(changes)])
    return code, capsys.readouterr()


def ids(answer: dict) -> list[str]:
    return [i["item_id"] for i in answer["items"]]


def test_an_added_item_is_answered_by_its_content_neighbours(shop, client, redis_url, tmp_path, capsys):
    assert client.get("/v1/items/shoe-9/similar").json["source"] == "popular"  # unknown before
    code, out = update(capsys, redis_url, tmp_path, NEW_SHOE)
    assert code == 0 and "1 added" in out.out
    similar = client.get("/v1/items/shoe-9/similar").json
    assert similar["source"] == "similar"
    assert ids(similar)[0] == "shoe-1"  # "Trail running shoe": the same category and words
    assert ids(similar)[:3] == ["shoe-1", "shoe-2", "shoe-3"]  # the category's shoes, then what fills
    own = [i for i in similar["items"] if i["reason"]["type"] == "similar"]
    assert own and all(i["reason"] == {"type": "similar", "item_id": "shoe-9"} for i in own)
    also = client.get("/v1/items/shoe-9/also-bought").json
    assert ids(also)[0] == "shoe-1"
    assert "bought_together" not in {i["reason"]["type"] for i in also["items"]}
    assert "gone-1" not in ids(similar) + ids(also)  # an unavailable neighbour is never shown
    shown = similar["items"][0]
    assert (shown["category_id"], shown["title"]) == ("running-shoes", "Trail running shoe")
    assert client.get("/v1/items/shoe-9/similar").json["items"] == similar["items"]  # stable


def test_an_added_item_enters_its_neighbours_lists_and_its_category_the_request_after(
    shop, client, redis_url, tmp_path, capsys
):
    before = ids(client.get("/v1/items/shoe-1/similar").json)  # the process caches the version's lists
    popular_before = ids(client.get("/v1/popular?category=running-shoes").json)
    assert "shoe-9" not in before + popular_before
    assert update(capsys, redis_url, tmp_path, NEW_SHOE)[0] == 0
    after = ids(client.get("/v1/items/shoe-1/similar").json)
    assert after.index("shoe-9") == min(content.NEW_ITEM_SLOT, len(before))
    assert [i for i in after if i != "shoe-9"] == before[: len(after) - 1]
    popular = ids(client.get("/v1/popular?category=running-shoes").json)
    assert popular.index("shoe-9") == min(content.NEW_ITEM_SLOT, len(popular_before))
    assert "shoe-9" not in ids(client.get("/v1/popular?category=tv").json)


def test_an_added_item_without_a_title_gets_its_categorys_best_sellers(shop, client, redis_url, tmp_path, capsys):
    code, _ = update(capsys, redis_url, tmp_path, "item_id,category_id\ncoffee-9,coffee\n")
    assert code == 0
    answer = client.get("/v1/items/coffee-9/similar?limit=2").json
    assert [i["category_id"] for i in answer["items"]] == ["coffee", "coffee"]
    assert ids(answer) == ids(client.get("/v1/popular?category=coffee&limit=2").json)


def test_added_items_stay_with_their_version_through_rollbacks(shop, r, client, redis_url, tmp_path, capsys):
    first = shop.version
    paths = write_shop(tmp_path / "again")
    second = train(r, Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"]))
    assert update(capsys, redis_url, tmp_path, NEW_SHOE)[0] == 0
    versions.rollback(r, first)
    assert client.get("/v1/items/shoe-9/similar").json["source"] == "popular"  # not a part of the first version
    versions.rollback(r, second.version)
    answer = client.get("/v1/items/shoe-9/similar").json
    assert answer["source"] == "similar" and ids(answer)[0] == "shoe-1"
    assert "shoe-9" in ids(client.get("/v1/items/shoe-1/similar").json)


def test_a_file_that_adds_items_is_refused_whole_with_line_numbers(shop, r, client, redis_url, tmp_path, capsys):
    version = shop.version
    price = client.get("/v1/items/shoe-1/similar").json["items"]
    text = (
        "item_id,category_id,title,price,available\n"
        "shoe-9,running-shoes,Trail running shoe GTX,109,\n"
        "boat-1,boats,Sail boat,900,\n"
        "coffee-1,,,abc,\n"
        "shoe-8,,Road shoe,80,\n"  # a new id without a category: not an arrival, not in the model
        "tv-1,,,,maybe\n"
    )
    code, out = update(capsys, redis_url, tmp_path, text)
    assert code == 2
    assert "nothing was applied" in out.err
    assert "line 3" in out.err and "'boats'" in out.err
    assert "line 4" in out.err and "line 6" in out.err
    assert r.get(keys.added_items(version)) is None and r.get(keys.catalog_rev(version)) is None
    assert client.get("/v1/items/shoe-9/similar").json["source"] == "popular"
    assert client.get("/v1/items/shoe-1/similar").json["items"] == price


def test_a_new_id_without_a_category_is_still_only_counted(shop, client, redis_url, tmp_path, capsys):
    code, out = update(capsys, redis_url, tmp_path, "item_id,price\nshoe-8,80\nshoe-1,95\n")
    assert code == 0 and "updated 1 items" in out.out and "0 added; 1 not in the model" in out.out
    assert client.get("/v1/items/shoe-8/similar").json["source"] == "popular"
