"""Request ids, the JSON access log and Cache-Control on the answers."""

import json
import logging

import pytest

from recsvc import create_app
from recsvc.logs import JsonFormatter, configure
from tests.conftest import API_KEY, AUTH
from training.private_redis import free_port

pytestmark = pytest.mark.usefixtures("shop_model")


@pytest.fixture
def logged(redis_url):
    return create_app({"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": API_KEY, "ACCESS_LOG": True}).test_client()


def test_a_request_id_is_kept_when_sent_and_made_when_not(client):
    sent = client.get("/v1/popular", headers={"X-Request-Id": "shop-proxy-42"})
    assert sent.headers["X-Request-Id"] == "shop-proxy-42"
    made = {client.get("/v1/popular").headers["X-Request-Id"] for _ in range(3)}
    assert len(made) == 3 and all(len(i) == 16 for i in made)
    for bad in ("has space", "x" * 129, "tab\there", "кириллица"):
        answer = client.get("/v1/popular", headers={"X-Request-Id": bad})
        assert answer.headers["X-Request-Id"] != bad and len(answer.headers["X-Request-Id"]) == 16


def test_the_access_log_is_one_json_line_per_request(logged, caplog):
    caplog.set_level(logging.INFO, logger="recsvc.access")
    logged.get("/v1/items/shoe-1/also-bought?limit=3", headers={"X-Request-Id": "req-1"})
    logged.get("/v1/popular?category=nope")
    first, second = [r for r in caplog.records if r.name == "recsvc.access"]
    line = json.loads(JsonFormatter().format(first))
    assert line["request_id"] == "req-1" and line["status"] == 200 and line["method"] == "GET"
    assert line["path"] == "/v1/items/shoe-1/also-bought" and line["ms"] >= 0 and line["level"] == "info"
    assert json.loads(JsonFormatter().format(second))["status"] == 404


def test_the_access_log_is_off_by_default(client, caplog):
    caplog.set_level(logging.INFO, logger="recsvc.access")
    client.get("/v1/popular")
    assert not [r for r in caplog.records if r.name == "recsvc.access"]


def test_an_error_logged_while_answering_carries_the_request_id(caplog):
    down = create_app({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "TESTING": True}).test_client()
    answer = down.get("/v1/popular", headers={"X-Request-Id": "trace-me"})
    assert answer.status_code == 503 and answer.headers["X-Request-Id"] == "trace-me"
    [warning] = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert json.loads(JsonFormatter().format(warning))["request_id"] == "trace-me"


def test_lists_the_same_for_everyone_may_be_cached_and_a_customers_never(client, redis_url):
    for path in ("/v1/popular", "/v1/items/shoe-1/also-bought", "/v1/items/shoe-1/similar"):
        assert client.get(path).headers["Cache-Control"] == "public, max-age=60", path
    private = [
        "/v1/users/runner-1/recommendations",
        "/v1/users/runner-1/recently-viewed",
        "/v1/items/shoe-1/also-bought?user_id=runner-1",
        "/v1/popular?category=nope",  # an error
        "/v1/model",
    ]
    for path in private:
        assert client.get(path, headers=AUTH).headers["Cache-Control"] == "private, no-store", path
    assert "Cache-Control" not in client.get("/healthz").headers
    uncached = create_app({"REDIS_URL": redis_url, "TESTING": True, "CACHE_MAX_AGE": 0}).test_client()
    assert uncached.get("/v1/popular").headers["Cache-Control"] == "private, no-store"


def test_a_log_format_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="json, text"):
        configure("xml")
