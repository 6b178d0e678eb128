"""The catalog's other columns: typed attributes with the version, changed by updates, never shown in answers."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsvc.admin.catalog import update_catalog
from recsvc.contract import keys
from recsvc.contract.units import ITEM_ATTRIBUTES
from tests.conftest import AUTH
from tests.gateways import catalog_records
from tests.shop import CATALOG, write_csv, write_shop
from training.config import TrainConfig
from training.inputs.catalog_files import read_catalog
from training.inputs.presets import get_preset
from training.train import Inputs, train

EXTRA = {
    # item_id: brand, margin, in_stock, is_new, bad-name
    "shoe-1": ("acme", "0.31", "true", "yes", "x"),
    "shoe-2": ("acme", "0.25", "FALSE", "No", "x"),
    "shirt-1": ("zoom", "1", "true", "no", "x"),
    "sock-1": ("", "0.5", "", "YES", "x"),
    "tv-1": ("vista", "-0.05", "false", "no", ""),
}
SHOWN = {"item_id", "score", "category_id", "reason", *ITEM_ATTRIBUTES}
"""The keys an item in an answer may have."""


@pytest.fixture
def model(r, tmp_path):
    """The known-answer shop with brand, margin, in_stock, is_new and a column whose name cannot be an attribute."""
    paths = write_shop(tmp_path / "shop")
    write_csv(
        paths["catalog"],
        ["item_id", "category_id", "title", "price", "available", "brand", "margin", "in_stock", "is_new", "bad-name"],
        (
            [item, category, title, price, str(available).lower(), *EXTRA.get(item, ("",) * 5)]
            for item, category, title, price, available in CATALOG
        ),
    )
    inputs = Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"])
    return train(r, inputs, TrainConfig(factors=8, iterations=3))


def attributes(r, version: str) -> dict[str, dict]:
    """item_id -> its stored attributes."""
    return {a["item_id"]: a for a in (json.loads(raw) for raw in r.hvals(keys.attrs(version)))}


def types(r, version: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in r.hgetall(keys.attribute_types(version)).items()}


def test_other_columns_are_published_typed_and_a_bad_name_is_reported(r, model):
    stored = attributes(r, model.version)
    assert stored["shoe-1"] == {
        "item_id": "shoe-1",
        "category_id": "running-shoes",
        "title": "Trail running shoe",
        "price": 89.0,
        "brand": "acme",
        "margin": 0.31,
        "in_stock": True,
        "is_new": True,
    }
    assert stored["shoe-2"]["in_stock"] is False and stored["shoe-2"]["is_new"] is False
    assert stored["shirt-1"]["margin"] == 1.0 and stored["tv-1"]["margin"] == -0.05
    assert "brand" not in stored["sock-1"] and "in_stock" not in stored["sock-1"]  # empty cells
    assert not {"brand", "margin", "in_stock", "is_new"} & set(stored["cable-1"])
    assert types(r, model.version) == {
        "brand": "string",
        "margin": "number",
        "in_stock": "boolean",
        "is_new": "boolean",
    }
    manifest = json.loads(r.get(keys.manifest(model.version)))
    assert manifest["sizes"][keys.attribute_types(model.version)] == ["hash", 4]
    bad = model.bad_rows["catalog"]
    assert (bad.count, bad.columns, bad.rows) == (1, 1, 0)  # reported once, no row lost
    assert bad.examples == [
        "catalog.csv: column 'bad-name' skipped: not a name: a letter or _, then up to 63 letters, digits or _"
    ]
    assert model.summary.counts.bad_rows == 1


def test_answers_show_only_the_fixed_attributes(client, model):
    urls = [f"/v1/users/{u}/recommendations?limit=100" for u in ("alice", "runner-1", "viewer-2", "nobody")]
    urls += [f"/v1/items/{i}/{e}?limit=100" for i in ("shoe-1", "tv-1", "sock-1") for e in ("also-bought", "similar")]
    urls += ["/v1/popular?limit=100", "/v1/popular?category=running-shoes"]
    items = [item for url in urls for item in client.get(url).json["items"]]
    for offer in client.get("/v1/users/alice/category-offers?limit=10").json["offers"]:
        items += offer["items"]
    batch = client.post("/v1/recommendations/batch", json={"user_ids": ["alice", "runner-2"]}, headers=AUTH).json
    items += [item for result in batch["results"] for item in result["items"]]
    assert {"shoe-1", "shoe-2", "shirt-1", "sock-1", "tv-1"} <= {i["item_id"] for i in items}
    assert all(set(item) <= SHOWN for item in items)
    assert not any("margin" in json.dumps(item) for item in items)


def test_an_update_changes_attributes_adds_a_typed_column_and_skips_a_bad_row(r, client, model, tmp_path):
    version = model.version
    changes = tmp_path / "changes.csv"
    changes.write_text(
        "item_id,brand,margin,on_sale,bad name\n"
        "shoe-1,zoom,0.2,yes,\n"
        "shoe-2,,0.4,no,\n"
        "shirt-1,acme,lots,yes,z\n"  # line 4: margin is a number; nothing of this row is applied
        "tv-1,,,Yes,\n"
    )
    rev = int(r.get(keys.catalog_rev(version)) or 0)
    result = update_catalog(catalog_records(r), changes)
    stored = attributes(r, version)
    assert {k: stored["shoe-1"][k] for k in ("brand", "margin", "on_sale")} == {
        "brand": "zoom",
        "margin": 0.2,
        "on_sale": True,
    }
    assert {k: stored["shoe-2"][k] for k in ("brand", "margin", "on_sale")} == {
        "brand": "acme",
        "margin": 0.4,
        "on_sale": False,
    }
    assert (
        stored["shirt-1"]["brand"] == "zoom"
        and stored["shirt-1"]["margin"] == 1.0
        and "on_sale" not in stored["shirt-1"]
    )
    assert stored["tv-1"]["on_sale"] is True and stored["tv-1"]["brand"] == "vista"
    assert stored["shoe-1"]["title"] == "Trail running shoe" and stored["shoe-1"]["in_stock"] is True  # the rest stays
    assert types(r, version) == {
        "brand": "string",
        "margin": "number",
        "in_stock": "boolean",
        "is_new": "boolean",
        "on_sale": "boolean",
    }
    assert result.changed == 3 and result.new_attributes == {"on_sale": "boolean"}
    assert result.bad_rows == 2 and result.examples == [
        "changes.csv: column 'bad name' skipped: not a name: a letter or _, then up to 63 letters, digits or _",
        "changes.csv line 4: margin 'lots' is not a number",
    ]
    assert int(r.get(keys.catalog_rev(version))) == rev + 1
    shown = client.get("/v1/popular?limit=100").json["items"]
    assert "shoe-1" in {i["item_id"] for i in shown} and all(set(item) <= SHOWN for item in shown)


def test_json_lines_updates_parse_by_the_stored_type(r, model, tmp_path):
    changes = tmp_path / "changes.jsonl"
    rows = [
        {"item_id": "shoe-1", "margin": 0.12, "in_stock": False, "brand": "zoom"},
        {"item_id": "shoe-2", "in_stock": "1"},  # line 2: 1 and 0 are numbers, not booleans
        {"item_id": "tv-1", "margin": True},  # line 3
        {"item_id": "sock-1", "stock": 12, "is_new": "no", "category": "x"},
    ]
    changes.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = update_catalog(catalog_records(r), changes)
    stored = attributes(r, model.version)
    assert (stored["shoe-1"]["margin"], stored["shoe-1"]["in_stock"], stored["shoe-1"]["brand"]) == (
        0.12,
        False,
        "zoom",
    )
    assert stored["shoe-2"]["in_stock"] is False and stored["tv-1"]["margin"] == -0.05
    assert (stored["sock-1"]["stock"], stored["sock-1"]["is_new"], "category" in stored["sock-1"]) == (
        12.0,
        False,
        False,
    )
    assert result.new_attributes == {"stock": "number"}
    assert result.examples == [
        "changes.jsonl: column 'category' skipped: the name is reserved for answers and rules "
        "(item_id, category_id, score, reason, available, category)",
        "changes.jsonl line 2: in_stock '1' is not a boolean",
        "changes.jsonl line 3: margin 'true' is not a number",
    ]


def test_a_parquet_catalog_keeps_its_own_column_types(tmp_path):
    path = tmp_path / "catalog.parquet"
    table = pa.table(
        {
            "item_id": ["a", "b", "c"],
            "category_id": ["c1", "c1", "c2"],
            "is_new": ["yes", "no", "yes"],  # a string column: text that reads as boolean stays a string
            "margin": pa.array([0.31, float("nan"), None], pa.float64()),  # NaN and null are empty
            "in_stock": [True, False, None],
            "stock": pa.array([3, 0, 12], pa.int32()),
            "brand": pa.array(["acme", "zoom", "acme"]).dictionary_encode(),
        }
    )
    pq.write_table(table, path)
    catalog, bad = read_catalog(path, get_preset(None))
    assert bad.count == 0
    assert catalog.types == {
        "is_new": "string",
        "margin": "number",
        "in_stock": "boolean",
        "stock": "number",
        "brand": "string",
    }
    assert catalog.items["a"] == {
        "category_id": "c1",
        "available": True,
        "is_new": "yes",
        "margin": 0.31,
        "in_stock": True,
        "stock": 3.0,
        "brand": "acme",
    }
    assert "margin" not in catalog.items["b"] and "in_stock" not in catalog.items["c"]


def test_an_update_keeps_the_limits_of_new_columns(r, model, tmp_path):
    r.hset(keys.attribute_types(model.version), mapping={f"a{n}": "number" for n in range(45)})  # 49 in all
    changes = tmp_path / "changes.csv"
    changes.write_text(f"item_id,margin,notes,first,second\nshoe-1,0.3,{'n' * 1001},1,yes\n")
    result = update_catalog(catalog_records(r), changes)
    assert result.new_attributes == {"first": "number"} and result.changed == 1
    assert result.examples == [
        "changes.csv: column 'notes' skipped: a value has 1,001 characters, more than 1,000",
        "changes.csv: column 'second' skipped: the version has 50 other attributes already",
    ]
    stored = attributes(r, model.version)["shoe-1"]
    assert (stored["margin"], stored["first"], "notes" in stored, "second" in stored) == (0.3, 1.0, False, False)
