"""New items added by `recsvc catalog update`: answered from their content the request after, without training."""

import threading

import numpy as np
import pytest

from cli.main import main
from recsvc.admin.catalog import update_catalog
from recsvc.contract import content, keys, versions
from recsvc.contract.records import decode_item
from recsvc.read.exploration import NEW_ARRIVAL
from tests.gateways import catalog_records
from tests.shop import write_shop
from training.config import TrainConfig
from training.train import Inputs, train

ROUNDS = 5
BY_CONTENT = TrainConfig(new_items_order="content")
"""The known-answer shop's window is too short to choose an order (it would keep the category's best-sellers)."""

NEW_SHOE = "item_id,category_id,title,price\nshoe-9,running-shoes,Trail running shoe GTX,109\n"


@pytest.fixture
def shop(r, tmp_path):
    """The known-answer shop of ``tests/shop.py``, trained and published for each test (they change it)."""
    r.flushdb()
    paths = write_shop(tmp_path / "shop")
    return train(
        r, Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"]), BY_CONTENT
    )


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


def test_an_added_items_own_list_scores_are_its_neighbours_content_similarity(
    shop, r, client, redis_url, tmp_path, capsys
):
    assert update(capsys, redis_url, tmp_path, NEW_SHOE)[0] == 0
    placing = catalog_records(r).arrivals.placing(shop.version)
    index = {a["item_id"]: i for i, a in placing.attrs.items()}
    weight = content.NewItemsOrder.of(placing.summary.new_items_order).popularity_weight
    for kind in ("similar", "also-bought"):
        own = [i for i in client.get(f"/v1/items/shoe-9/{kind}").json["items"] if i["reason"]["type"] == "similar"]
        scores = [i["score"] for i in own]
        assert len(own) >= 3 and scores == sorted(scores, reverse=True) and scores[-1] > 0, kind
        # the neighbour's content cosine times its lift by events at training (content.POPULARITY_WEIGHT)
        cosines = [i["score"] / (1 + np.log1p(placing.events[index[i["item_id"]]])) ** weight for i in own]
        assert all(0 < c <= 1.0001 for c in cosines), cosines
        assert max(cosines) == cosines[0]  # shoe-1, "Trail running shoe": the nearest by its text too


def test_an_added_item_enters_its_neighbours_lists_and_its_categorys_exploration_place_the_request_after(
    shop, client, redis_url, tmp_path, capsys
):
    before = ids(client.get("/v1/items/shoe-1/similar").json)  # the process caches the version's lists
    popular_before = client.get("/v1/popular?category=sports").json["items"]
    assert "shoe-9" not in before + ids({"items": popular_before})
    assert update(capsys, redis_url, tmp_path, NEW_SHOE)[0] == 0
    after = ids(client.get("/v1/items/shoe-1/similar").json)
    assert after.index("shoe-9") == min(content.NEW_ITEM_SLOT, len(before))
    assert [i for i in after if i != "shoe-9"] == before[: len(after) - 1]
    # the category's 6 best-sellers, then the one place of 10 (share 0.1) that comes after 9 others
    popular = client.get("/v1/popular?category=sports").json["items"]
    assert popular[:-1] == popular_before and popular[-1]["item_id"] == "shoe-9"
    assert popular[-1]["reason"] == NEW_ARRIVAL  # never among the best-sellers as one of them
    assert "shoe-9" not in ids(client.get("/v1/popular?category=sports&limit=5").json)  # 0.1 of 5: no place
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
    second = train(
        r, Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"]), BY_CONTENT
    )
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


@pytest.mark.parametrize(
    "order, best_sellers",
    [
        ("category_best_sellers", "/v1/popular?category=running-shoes&limit=9"),  # its category's
        ("best_sellers", "/v1/popular?limit=9"),  # the shop's; 9: no exploration place (0.1 of 9)
    ],
)
def test_an_added_item_of_a_shop_placed_by_best_sellers_gets_them_as_popular(
    order, best_sellers, r, client, redis_url, tmp_path, capsys
):
    paths = write_shop(tmp_path / "shop")
    train(
        r,
        Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"]),
        TrainConfig(new_items_order=order),
    )
    assert client.get("/v1/model").json["new_items_order"]["order"] == order
    before = ids(client.get("/v1/items/shoe-1/similar").json)
    assert update(capsys, redis_url, tmp_path, NEW_SHOE)[0] == 0
    shop, category = (
        ids(client.get(path).json) for path in ("/v1/popular?limit=9", "/v1/popular?category=running-shoes&limit=9")
    )
    assert shop[: len(category)] != category  # the test tells the two orders apart
    for kind in ("similar", "also-bought"):
        answer = client.get(f"/v1/items/shoe-9/{kind}?limit=9").json
        expected = ids(client.get(best_sellers).json)  # then, past a small category, the shop's fill it
        assert ids(answer)[: len(expected)] == expected, kind
        assert {i["reason"]["type"] for i in answer["items"]} == {"popular"}  # no content neighbour: none "similar"
    assert ids(client.get("/v1/items/shoe-1/similar").json) == before  # it enters no neighbour's list


def test_two_updates_at_once_both_enter_the_neighbour_they_share(shop, r, tmp_path):
    """Both read shoe-1's record and write it back with their own arrival in: without the arrivals lock one of
    them overwrote the other's about one round in three."""
    failures: list[BaseException] = []

    def run(path, start):
        start.wait()
        try:
            update_catalog(catalog_records(r), path)
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            failures.append(e)

    new = []
    for round_ in range(ROUNDS):
        start = threading.Barrier(2)
        threads = []
        for n, title in enumerate(("Trail running shoe GTX", "Trail running shoe Pro")):
            item_id = f"shoe-{round_}-{n}"
            path = tmp_path / f"{item_id}.csv"
            path.write_text(f"item_id,category_id,title,price\n{item_id},running-shoes,{title},99\n")
            threads.append(threading.Thread(target=run, args=(path, start)))
            new.append(item_id)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not failures
    version = shop.version
    assert int(r.get(keys.added_items(version))) == len(new)
    neighbour = decode_item(r.get(keys.item(version, "shoe-1")))
    added = {decode_item(r.get(keys.item(version, i))).index for i in new}
    assert added <= set(neighbour.similar)  # no update lost another's insertion
    assert r.get(keys.arrivals_lock(version)) is None  # released
