"""back-in-stock and price-drop on the retention shop, from `recsvc catalog update` and from training.

Who watches shoe-a: ``carter`` carted it two days ago, ``browser`` viewed it on two days; ``one-timer``
bought it, so is not told. Nobody watches shoe-b long enough (``browser`` viewed it once,
``cart-then-bought`` bought it).
"""

import csv
from datetime import datetime, timezone

import pytest

from cli.main import main
from recsvc.contract import catalog_changes, keys
from tests.conftest import AUTH, train_retention_shop
from tests.retention_shop import DAY, END, write_retention_shop


def entries(client, kind, **params) -> dict[str, dict]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    answer = client.get(f"/v1/triggers/{kind}?{query}", headers=AUTH)
    assert answer.status_code == 200, answer.json
    return {e["user_id"]: e for e in answer.json["entries"]}


def update(capsys, redis_url, path, text) -> str:
    path.write_text(text)
    code = main(["--redis-url", redis_url, "catalog", "update", str(path)])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def test_an_item_back_in_stock_reaches_those_who_carted_or_viewed_it(
    fresh_retention_model, client, redis_url, tmp_path, capsys
):
    changes = tmp_path / "changes.csv"
    update(capsys, redis_url, changes, "item_id,available\nshoe-a,false\nshoe-b,false\n")
    assert entries(client, "back-in-stock") == {}  # hidden is not back
    out = update(capsys, redis_url, changes, "item_id,available\nshoe-a,true\nshoe-b,true\n")
    assert "2 items back in stock (2 users)" in out
    found = entries(client, "back-in-stock")
    assert set(found) == {"carter", "browser"}
    carter = found["carter"]["items"]
    assert [i["item_id"] for i in carter] == ["shoe-a"]
    assert carter[0]["reason"] == {"type": "back_in_stock", "watched": "addtocart", "since": today()}
    assert found["browser"]["items"][0]["reason"]["watched"] == "viewed"
    update(capsys, redis_url, changes, "item_id,available\nshoe-a,false\n")
    assert entries(client, "back-in-stock") == {}  # gone again: nothing true to say


def test_a_price_drop_of_the_set_share_reaches_the_watchers_with_both_prices(
    fresh_retention_model, client, redis_url, tmp_path, capsys
):
    changes = tmp_path / "changes.csv"
    update(capsys, redis_url, changes, "item_id,price\nshoe-a,86\n")  # 90 -> 86: 4.4%, under the 10% share
    assert entries(client, "price-drop") == {}
    out = update(capsys, redis_url, changes, "item_id,price\nshoe-a,77\n")  # 86 -> 77: 10.5%
    assert "1 price drops (2 users)" in out
    found = entries(client, "price-drop")
    assert set(found) == {"carter", "browser"}
    item = found["carter"]["items"][0]
    assert (item["item_id"], item["price"]) == ("shoe-a", 77.0)
    assert item["reason"] == {
        "type": "price_drop",
        "watched": "addtocart",
        "old_price": 86.0,
        "new_price": 77.0,
        "since": today(),
    }
    update(capsys, redis_url, changes, "item_id,price\nshoe-a,95\n")  # dearer again: the drop no longer holds
    assert entries(client, "price-drop") == {}


def test_catalog_trigger_windows_and_errors(fresh_retention_model, client, redis_url, tmp_path, capsys):
    update(capsys, redis_url, tmp_path / "c.csv", "item_id,price\nshoe-a,50\n")
    assert set(entries(client, "price-drop", days=0)) == set()  # changed just now, but not within 0 days
    assert set(entries(client, "price-drop", days=1)) == {"carter", "browser"}
    assert client.get("/v1/triggers/price-drop?hours=3", headers=AUTH).status_code == 400
    assert client.get("/v1/triggers/back-in-stock?days=91", headers=AUTH).status_code == 400


def write_catalog(path, prices: dict[str, float], hidden: set[str] = frozenset()) -> None:
    with open(path) as f:
        rows = list(csv.DictReader(f))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "category_id", "title", "price", "available"])
        for row in rows:
            item = row["item_id"]
            w.writerow([item, row["category_id"], row["title"], prices.get(item, row["price"]), item not in hidden])


def test_training_finds_the_changes_since_the_served_version(r, client, tmp_path):
    paths = write_retention_shop(tmp_path / "shop")
    write_catalog(paths["catalog"], {}, hidden={"shoe-a"})
    train_retention_shop(r, paths)
    assert entries(client, "back-in-stock") == {} and entries(client, "price-drop") == {}
    write_catalog(paths["catalog"], {"shoe-a": 60.0})
    second = train_retention_shop(r, paths)
    assert set(entries(client, "back-in-stock")) == {"carter", "browser"}
    drop = entries(client, "price-drop")["browser"]["items"][0]["reason"]
    assert (drop["old_price"], drop["new_price"], drop["watched"]) == (90.0, 60.0, "viewed")
    assert second.summary.retention.triggers["price-drop"] == 2
    # a third training on the same catalog carries the changes over (they still hold) with their dates
    recorded = r.hgetall(keys.catalog_changes(second.version, "price-drop"))
    third = train_retention_shop(r, paths)
    assert set(entries(client, "price-drop")) == {"carter", "browser"}
    assert r.hgetall(keys.catalog_changes(third.version, "price-drop")) == recorded
    # ... until the price is back up
    write_catalog(paths["catalog"], {"shoe-a": 90.0})
    train_retention_shop(r, paths)
    assert entries(client, "price-drop") == {}


def test_the_watchers_key_lists_who_watches(r, fresh_retention_model):
    version = fresh_retention_model.version
    assert sorted(r.get(keys.watchers(version, "shoe-a")).decode().split("\n")) == ["browser", "carter"]
    assert r.get(keys.watchers(version, "shoe-b")) is None


def test_an_earlier_purchase_does_not_keep_a_watched_item_out(r, client, redis_url, tmp_path, capsys):
    """Regression: the lists blocked every item the user had ever bought, so a coffee buyer who carted
    the coffee again was counted among the users told of its price drop but got an empty entry."""
    paths = write_retention_shop(tmp_path / "shop")
    with open(paths["events"], "a") as f:
        f.write(f"{END - DAY // 2},steady,coffee-a,addtocart\n")  # bought on day 90, in the cart again now
    train_retention_shop(r, paths)
    update(capsys, redis_url, tmp_path / "c.csv", "item_id,price\ncoffee-a,8\n")
    steady = entries(client, "price-drop")["steady"]["items"]
    assert [i["item_id"] for i in steady] == ["coffee-a"] and steady[0]["reason"]["watched"] == "addtocart"


@pytest.mark.parametrize(
    ("was_hidden", "available", "old", "new", "kinds"),
    [
        (True, True, None, None, {"back-in-stock"}),
        (True, False, 20.0, 10.0, set()),  # still hidden: nothing to tell
        (False, True, 20.0, 18.0, {"price-drop"}),  # exactly 10% off
        (False, True, 20.0, 18.5, set()),
        (True, True, 20.0, 5.0, {"back-in-stock", "price-drop"}),
        (False, True, None, 5.0, set()),  # no old price known
    ],
)
def test_one_rule_for_catalog_changes(was_hidden, available, old, new, kinds):
    """The trainer and `recsvc catalog update` share this rule (``recsvc.contract.catalog_changes``)."""
    found = catalog_changes.triggered(was_hidden, available, old, new, 0.1, 1_000.5)
    assert set(found) == kinds
    if "price-drop" in found:
        assert found["price-drop"] == {"at": 1000, "old_price": old, "new_price": new}
