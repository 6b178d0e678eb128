"""``/openapi.json`` a front-end developer can trust: valid, every answer's schema complete (required
fields, enums of ``source`` and ``reason.type``), its examples from the demo shop, and real answers of
the known shop inside their schemas with no undeclared field."""

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from recsvc.contract.reasons import ITEMS as ITEM_REASONS
from recsvc.http.openapi import SCHEMAS
from tests.conftest import AUTH
from training.samples.demo_catalog import ITEMS

DEMO_ITEMS = {item_id for items in ITEMS.values() for item_id, _, _ in items}


@pytest.fixture(scope="module")
def document(redis_url):
    from recsvc import create_app

    return create_app({"REDIS_URL": redis_url, "TESTING": True}).test_client().get("/openapi.json").json


def inline(schema, components: dict):
    """The schema with every ``$ref`` to a component replaced by the component itself."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return inline(components[schema["$ref"].rsplit("/", 1)[1]], components)
        return {k: inline(v, components) for k, v in schema.items()}
    if isinstance(schema, list):
        return [inline(v, components) for v in schema]
    return schema


def undeclared(instance, schema, path="") -> list[str]:
    """Fields of ``instance`` its schema does not declare (where the schema lists its properties)."""
    found = []
    if isinstance(instance, dict) and isinstance(schema, dict) and "properties" in schema:
        extra = schema.get("additionalProperties")
        for key, value in instance.items():
            if key in schema["properties"]:
                found += undeclared(value, schema["properties"][key], f"{path}.{key}")
            elif not extra:
                found.append(f"{path}.{key}")
    elif isinstance(instance, list) and isinstance(schema, dict) and "items" in schema:
        for n, value in enumerate(instance):
            found += undeclared(value, schema["items"], f"{path}[{n}]")
    return found


def check(answer: dict, name: str, document: dict) -> None:
    schema = inline(document["components"]["schemas"][name], document["components"]["schemas"])
    errors = [e.message for e in OAS30Validator(schema).iter_errors(answer)]
    assert errors == [], (name, errors[:3])
    assert undeclared(answer, schema) == [], name


def test_the_document_is_valid_openapi(document):
    validate(document)


def test_every_answer_lists_its_required_fields_and_enums(document):
    schemas = document["components"]["schemas"]
    for name in ("UserItems", "ItemItems", "PopularItems", "SessionItems", "CategoryOffers"):
        assert {"model_version", "source", "rec_id"} <= set(schemas[name]["required"]), name
        assert schemas[name]["properties"]["source"]["enum"], name
    assert schemas["Reason"]["properties"]["type"]["enum"] == list(ITEM_REASONS)
    offers = schemas["CategoryOffers"]["properties"]["offers"]["items"]
    assert offers["required"] == ["category_id", "score", "reason", "items"]
    assert offers["properties"]["reason"]["properties"]["type"]["enum"] == ["viewed_not_bought", "affinity", "popular"]
    assert schemas["BatchResults"]["properties"]["results"]["items"]["required"]
    assert schemas["Model"]["required"] and schemas["TriggerPage"]["properties"]["kind"]["enum"]


@pytest.mark.parametrize("name", [name for name, schema in SCHEMAS.items() if "example" in schema])
def test_each_example_is_an_answer_of_the_demo_shop_inside_its_schema(document, name):
    example = document["components"]["schemas"][name]["example"]
    check(example, name, document)
    items = [i["item_id"] for i in example.get("items", [])]
    for part in example.get("offers", []) + example.get("results", []) + example.get("entries", []):
        items += [i["item_id"] for i in part["items"]]
    assert set(items) <= DEMO_ITEMS


def test_the_examples_cover_every_answer(document):
    schemas = document["components"]["schemas"]
    answers = ["UserItems", "ItemItems", "PopularItems", "SessionItems", "CategoryOffers", "BatchResults"]
    for name in answers + ["Profile", "TriggerPage", "Model", "EventsAnswer", "TrackAnswer", "Error"]:
        assert "example" in schemas[name], name


ANSWERS = [
    ("get", "/v1/users/alice/recommendations", "UserItems"),
    ("get", "/v1/users/nobody/recommendations", "UserItems"),
    ("get", "/v1/users/alice/recently-viewed", "UserItems"),
    ("get", "/v1/users/coffee-1/buy-again", "UserItems"),
    ("get", "/v1/users/alice/buy-again", "UserItems"),
    ("get", "/v1/items/shoe-1/also-bought", "ItemItems"),
    ("get", "/v1/items/shoe-1/similar", "ItemItems"),
    ("get", "/v1/items/unknown/similar", "ItemItems"),
    ("get", "/v1/popular?category=sports", "PopularItems"),
    ("get", "/v1/users/alice/category-offers", "CategoryOffers"),
    ("get", "/v1/users/nobody/category-offers", "CategoryOffers"),
    ("get", "/v1/users/alice/profile", "Profile"),
    ("get", "/v1/users/coffee-1/profile", "Profile"),
    ("get", "/v1/users/nobody/profile", "Profile"),
    ("get", "/v1/triggers/replenishment?days=365", "TriggerPage"),
    ("get", "/v1/triggers/abandoned-cart?hours=0", "TriggerPage"),
    ("get", "/v1/model", "Model"),
    ("get", "/v1/popular?limit=0", "Error"),
]


@pytest.mark.parametrize(("method", "path", "name"), ANSWERS)
def test_real_answers_are_inside_their_schemas(shop_model, client, document, method, path, name):
    check(client.open(path, method=method.upper(), headers=AUTH).json, name, document)


def test_batch_session_and_track_answers_are_inside_their_schemas(shop_model, client, document):
    batch = client.post("/v1/recommendations/batch", json={"user_ids": ["alice", "nobody"]}, headers=AUTH).json
    check(batch, "BatchResults", document)
    check(client.post("/v1/sessions/recommendations", json={"items": ["tv-1"]}).json, "SessionItems", document)
    check(client.post("/v1/sessions/recommendations", json={"items": ["no-such"]}).json, "SessionItems", document)
    rec_id = client.get("/v1/popular").json["rec_id"]
    check(client.post("/v1/track", json={"rec_id": rec_id, "type": "impression"}).json, "TrackAnswer", document)
    check(client.post("/v1/track", json={"rec_id": rec_id, "type": "impression"}).json, "TrackAnswer", document)
