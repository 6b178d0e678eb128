"""`recsvc catalog update`: availability, prices and titles change at once, without retraining."""

import json

import pytest

from cli.main import main
from recsvc.contract import keys, versions
from tests.conftest import AUTH

pytestmark = pytest.mark.usefixtures("fresh_retention_model")  # each test changes the published model


def every_item_id(client) -> set[str]:
    """The item ids of every answer that lists items, for the shop's users and items."""
    found = set()
    users = ["steady", "drifting", "regular-0", "browser", "carter", "nobody"]
    urls = [f"/v1/users/{u}/{e}?limit=100" for u in users for e in ("recommendations", "buy-again")]
    urls += [f"/v1/items/{i}/{e}?limit=100" for i in ("shoe-a", "tv-a", "coffee-b") for e in ("also-bought", "similar")]
    urls += ["/v1/popular?limit=100"]
    for url in urls:
        found |= {i["item_id"] for i in client.get(url, headers=AUTH).json["items"]}
    for u in users:
        for offer in client.get(f"/v1/users/{u}/category-offers?limit=10").json["offers"]:
            found |= {i["item_id"] for i in offer["items"]}
    for kind in ("replenishment?days=30", "abandoned-cart?hours=1", "category-interest?days=30", "win-back?days=90"):
        for entry in client.get(f"/v1/triggers/{kind}", headers=AUTH).json["entries"]:
            found |= {i["item_id"] for i in entry["items"]}
    return found


def run(capsys, redis_url, *argv):
    code = main(["--redis-url", redis_url, *argv])
    return code, capsys.readouterr()


def test_an_unavailable_item_vanishes_from_every_answer_and_comes_back(client, redis_url, tmp_path, capsys):
    assert {"coffee-a", "shoe-a"} <= every_item_id(client)  # seen before, so the process has it cached
    changes = tmp_path / "changes.csv"
    changes.write_text("item_id,available\ncoffee-a,false\nshoe-a,no\n")
    code, out = run(capsys, redis_url, "catalog", "update", str(changes))
    assert code == 0 and "2 hidden" in out.out
    assert not {"coffee-a", "shoe-a"} & every_item_id(client)
    assert client.get("/v1/users/steady/buy-again", headers=AUTH).json["items"][0]["item_id"] == "coffee-b"
    changes.write_text("item_id,available\ncoffee-a,true\n")
    assert run(capsys, redis_url, "catalog", "update", str(changes))[0] == 0
    assert client.get("/v1/users/steady/buy-again", headers=AUTH).json["items"][0]["item_id"] == "coffee-a"


def test_prices_and_titles_change_in_place(client, r, redis_url, tmp_path, capsys, fresh_retention_model):
    before = client.get("/v1/users/steady/buy-again", headers=AUTH).json["items"][0]
    assert (before["price"], before["title"]) == (10.0, "Coffee A")
    changes = tmp_path / "changes.jsonl"
    changes.write_text(json.dumps({"item_id": "coffee-a", "price": 8.5, "title": "Coffee A (offer)"}) + "\n")
    code, out = run(capsys, redis_url, "catalog", "update", str(changes))
    assert code == 0 and f"updated 1 items of {fresh_retention_model.version}" in out.out
    after = client.get("/v1/users/steady/buy-again", headers=AUTH).json["items"][0]
    assert (after["price"], after["title"], after["category_id"]) == (8.5, "Coffee A (offer)", "coffee")
    assert versions.current(r) == fresh_retention_model.version  # no new version: the served one changed


def test_unknown_items_and_bad_rows_are_reported(client, redis_url, tmp_path, capsys):
    changes = tmp_path / "changes.csv"
    bad_id = "bad\u200bid"  # a zero-width space: not printable
    changes.write_text(
        f"item_id,available,price\nnot-sold-here,false,\ncoffee-b,maybe,\n{bad_id},true,\ntv-a,,abc\n", encoding="utf-8"
    )
    code, out = run(capsys, redis_url, "catalog", "update", str(changes))
    assert code == 0
    assert "updated 0 items" in out.out and "1 not in the model" in out.out
    assert "skipped 3 bad rows" in out.out and "line 3: available 'maybe'" in out.out


def test_a_file_without_item_ids_fails_with_one_line(client, redis_url, tmp_path, capsys):
    changes = tmp_path / "changes.csv"
    changes.write_text("sku,available\na,false\n")
    code, out = run(capsys, redis_url, "catalog", "update", str(changes))
    assert code == 2 and "needs an item_id column" in out.err


def test_a_version_published_before_the_retention_keys_still_answers(client, r, fresh_retention_model):
    """Rollback to an older version: no buy-again, profile or trigger keys, no retention summary."""
    version = fresh_retention_model.version
    for pattern in ("ba:*", "p:*", "t:*"):
        for key in r.scan_iter(match=f"recsvc:v:{version}:{pattern}"):
            r.delete(key)
    meta = json.loads(r.get(keys.meta(version)))
    del meta["retention"]
    r.set(keys.meta(version), json.dumps(meta))
    assert client.get("/v1/users/steady/buy-again", headers=AUTH).json["source"] == "popular"
    assert client.get("/v1/users/steady/profile", headers=AUTH).json["segment"] == "new"
    page = client.get("/v1/triggers/replenishment", headers=AUTH).json
    assert page["entries"] == [] and page["next_cursor"] is None
