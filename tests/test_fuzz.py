"""The OpenAPI document is valid, and schemathesis finds no 5xx and no answer outside its schemas.

Every operation of ``/openapi.json`` is called in-process (WSGI) with generated requests, the API key
header set, on the known-answer shop; ``max_examples`` keeps the run short.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from recsvc import create_app
from tests.conftest import API_KEY, AUTH

MAX_EXAMPLES = int(os.environ.get("RECSVC_FUZZ_EXAMPLES", "25"))
"""Generated requests per operation and mode (valid, then invalid data); a long run sets more."""
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
CALLS = [0]
"""Requests made by the fuzzing tests, printed at the end of a long run (``RECSVC_FUZZ_EXAMPLES``)."""


@pytest.fixture(scope="module", autouse=True)
def requests_made():
    yield
    if "RECSVC_FUZZ_EXAMPLES" in os.environ:
        print(f"\nfuzzing: {CALLS[0]:,} requests")


@pytest.fixture(scope="module")
def fuzzed_app(redis_url, shop_model):
    """The service on the trained known-answer shop, with the key of the fuzzer."""
    # a long Redis timeout: the fuzzer tests what a request does, not how a busy machine answers in 0.1 s
    config = {"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": API_KEY, "METRICS": False, "REDIS_TIMEOUT_S": 10}
    return create_app(config)


@pytest.fixture
def api_schema(fuzzed_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzzed_app)


def test_the_openapi_document_is_valid_openapi_3(fuzzed_app):
    """Regression: `examples` (a JSON Schema 2019 keyword) is not allowed in OpenAPI 3.0.3 schemas."""
    document = fuzzed_app.test_client().get("/openapi.json").json
    assert document["openapi"] == "3.0.3"
    validate(document)
    schemas = document["components"]["schemas"]
    answers = ["Profile", "TriggerPage", "Model", "UserItems", "ItemItems", "PopularItems", "CategoryOffers"]
    for name in answers + ["BatchResults", "SessionItems", "EventsAnswer", "Item", "Error"]:
        assert schemas[name]["required"], name


def documented_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation of the document; building it needs no Redis."""
    document = create_app({"REDIS_URL": "redis://127.0.0.1:1/0", "METRICS": False}).test_client().get("/openapi.json")
    methods = ("get", "post", "put", "patch", "delete")
    cases = []
    for path, item in document.json["paths"].items():
        for method, spec in item.items():
            if method in methods:
                cases.append((method.upper(), path, GenerationMode.POSITIVE))
                if spec.get("parameters") or spec.get("requestBody"):  # something to make invalid
                    cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return cases


@pytest.mark.parametrize(("method", "path", "mode"), documented_operations())
def test_no_server_error_and_no_answer_outside_the_schema(api_schema, method, path, mode):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def call(case):
        CALLS[0] += 1
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    call()
