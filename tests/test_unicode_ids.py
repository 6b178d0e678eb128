"""Ids in any script: a shop whose users, items and categories are Cyrillic and CJK (with ``/`` in
category ids) trains and is served over HTTP with URL-encoded ids, under the one rule of
``recsvc.contract.ids``."""

from urllib.parse import quote

import pytest
import redis

from recsvc.contract.ids import ASCII_ID_REGEX, MAX_ID_LENGTH, is_valid_id
from tests.conftest import AUTH
from tests.shop import CATALOG, CATEGORIES, shop_events, write_csv
from training.inputs.presets import get_preset
from training.inputs.readers import read_events
from training.train import Inputs, train

ITEMS = {
    "shoe-1": "кроссовки-1",
    "shoe-2": "кроссовки-2",
    "shirt-1": "футболка-1",
    "tv-1": "电视-1",
    "tv-2": "电视-2",
    "cable-1": "线缆-1",
    "coffee-1": "кофе-зерно-1",
    "coffee-2": "кофе-зерно-2",
}
CATEGORY_IDS = {
    "running-shoes": "Обувь/Бег",
    "running-clothes": "Одежда/Бег",
    "tv": "电子/电视",
    "coffee": "Кофе/Зерновой",
    "grocery": "Бакалея",
}


def user(name: str) -> str:
    """Runners and coffee drinkers get Cyrillic ids, TV viewers Chinese ones; alice is покупатель-1."""
    if name == "alice":
        return "покупатель-1"
    return name.replace("runner-", "бегун-").replace("coffee-", "кофеман-").replace("viewer-", "观众-")


def item(i: str) -> str:
    return ITEMS.get(i, i)


def category(c: str) -> str:
    return CATEGORY_IDS.get(c, c)


@pytest.fixture(scope="module")
def unicode_shop(redis_url, tmp_path_factory):
    """The known-answer shop of tests/shop.py with every id rewritten, trained and published."""
    folder = tmp_path_factory.mktemp("unicode-shop")
    paths = {name: folder / f"{name}.csv" for name in ("events", "catalog", "categories")}
    events = [(t, user(u), item(i), e) for t, u, i, e in shop_events()]
    write_csv(paths["events"], ["timestamp", "user_id", "item_id", "event"], events)
    catalog = [[item(i), category(c), title, price, str(ok).lower()] for i, c, title, price, ok in CATALOG]
    write_csv(paths["catalog"], ["item_id", "category_id", "title", "price", "available"], catalog)
    write_csv(paths["categories"], ["category_id", "parent_id"], [(category(c), category(p)) for c, p in CATEGORIES])
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    result = train(r, Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"]))
    yield result
    r.flushdb()
    r.close()


def ids(answer) -> list[str]:
    return [i["item_id"] for i in answer["items"]]


def test_the_shop_trains_without_a_bad_row(unicode_shop):
    """Regression: every Cyrillic or CJK id was a bad row, so training on such a shop failed."""
    assert unicode_shop.bad_rows["events"].count == 0
    assert unicode_shop.bad_rows["catalog"].count == 0


def test_recommendations_also_bought_popular_and_offers_answer_for_unicode_ids(client, unicode_shop):
    """Regression: any non-ASCII id was a 400, and a category with a / could not be asked for."""
    answer = client.get(f"/v1/items/{quote('кроссовки-1', safe='')}/also-bought?limit=5").json
    assert answer["item_id"] == "кроссовки-1" and ids(answer)[0] == "футболка-1"
    assert answer["items"][0]["category_id"] == "Одежда/Бег"
    assert ids(client.get(f"/v1/items/{quote('电视-1', safe='')}/also-bought?limit=5").json)[0] == "线缆-1"

    alice = quote("покупатель-1", safe="")
    answer = client.get(f"/v1/users/{alice}/recommendations?limit=5").json
    assert answer["user_id"] == "покупатель-1" and answer["source"] == "personalized"
    assert "кроссовки-1" not in ids(answer)  # bought
    answer = client.get(
        f"/v1/items/{quote('кроссовки-2', safe='')}/also-bought?limit=20&user_id={alice}", headers=AUTH
    ).json
    assert "кроссовки-1" not in ids(answer)

    coffee = quote("Кофе/Зерновой", safe="")
    answer = client.get(f"/v1/popular?category={coffee}&limit=5").json
    assert set(ids(answer)) == {"кофе-зерно-1", "кофе-зерно-2"} and answer["category"] == "Кофе/Зерновой"
    answer = client.get(f"/v1/popular?category={quote('Бакалея', safe='')}&limit=5").json  # the parent
    assert set(ids(answer)) == {"кофе-зерно-1", "кофе-зерно-2"}

    offers = client.get(f"/v1/users/{alice}/category-offers?limit=3&items_per_category=2").json["offers"]
    assert offers and all(o["items"] for o in offers)
    assert {o["category_id"] for o in offers} <= set(CATEGORY_IDS.values()) | {"sports", "electronics"}

    viewer = quote("观众-1", safe="")
    answer = client.get(f"/v1/users/{viewer}/recommendations?limit=5").json
    assert answer["source"] == "personalized" and "线缆-1" not in ids(answer)
    batch = client.post("/v1/recommendations/batch", json={"user_ids": ["观众-1", "бегун-1"]}, headers=AUTH).json
    assert [r["user_id"] for r in batch["results"]] == ["观众-1", "бегун-1"]


def test_an_item_id_with_a_slash_is_reachable_in_a_path(client, unicode_shop):
    response = client.get(f"/v1/items/{quote('нет/такого', safe='')}/similar")
    assert response.status_code == 200 and response.json["item_id"] == "нет/такого"
    assert response.json["source"] == "popular"


@pytest.mark.parametrize(
    "value",
    ["кофе-зерно-1", "покупатель-1", "Кофе/Зерновой", "咖啡/豆", "a b", "a,b", "x" * MAX_ID_LENGTH, "é" * 128, "😀"],
)
def test_printable_ids_of_any_script_are_ids(value):
    assert is_valid_id(value)


@pytest.mark.parametrize(
    "value", ["", " ", " a", "a ", "\t", "a\nb", "a\n", "\x00", "\x7f", "a\u200bb", "\u00a0", "x" * 129, "é" * 129]
)
def test_blank_control_and_overlong_strings_are_not(value):
    assert not is_valid_id(value)


def test_the_trainer_and_the_service_apply_the_same_rule(tmp_path):
    """Each value the service refuses is a bad row at training, and each it accepts is kept."""
    values = ["кофе-зерно-1", "咖啡/豆", "a b", "ok", "a\u200bb", "x" * 129, "é" * 128, "é" * 129, "a\x07b", "~!"]
    path = tmp_path / "events.csv"
    write_csv(path, ["timestamp", "user_id", "item_id", "event"], [(1_700_000_000, v, "i1", "view") for v in values])
    events, bad = read_events(path, get_preset(None))
    assert sorted(events.user_ids) == sorted(v for v in values if is_valid_id(v))
    assert bad.count == sum(not is_valid_id(v) for v in values)


def test_the_ascii_regex_is_a_subset_of_the_rule():
    import re

    pattern = re.compile(ASCII_ID_REGEX)
    for value in ["a", "a b", " a", "a ", "a\n", "~" * 128, "~" * 129, "", "a\tb"]:
        if pattern.fullmatch(value):
            assert is_valid_id(value)
