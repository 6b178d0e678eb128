"""Hostile requests get a 4xx or 503 JSON error, never a 500: huge or non-finite numbers, deep JSON,
forged cursors, a Redis out of memory."""

import base64
import subprocess
import time

import pytest
import redis

from recsvc import create_app
from tests.conftest import AUTH
from training.private_redis import free_port, server_binary


def is_json_error(response, status):
    body = response.get_json()
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"]
    return body["error"]


def post_raw(client, path, text, headers=None):
    return client.post(path, data=text, content_type="application/json", headers=headers or {})


@pytest.mark.parametrize("limit", ["1e400", "-1e400", "-Infinity", "Infinity", "NaN", "5.9", "true", '"5.0"', "1e3"])
@pytest.mark.parametrize("path", ["/v1/recommendations/batch", "/v1/sessions/recommendations"])
def test_a_limit_that_is_no_small_integer_is_a_400(client, shop_model, path, limit):
    """Regression: int(1e400) raised OverflowError (500) and int(5.9) read the limit as 5."""
    text = f'{{"user_ids": ["u1"], "items": ["i1"], "limit": {limit}}}'
    is_json_error(post_raw(client, path, text, AUTH), 400)


@pytest.mark.parametrize("limit", ["5.9", "1e3", "0x10", "5 ", "", "99999999999999999999999"])
def test_a_query_limit_that_is_no_integer_is_a_400(client, shop_model, limit):
    is_json_error(client.get(f"/v1/popular?limit={limit}"), 400)


def test_an_integral_json_limit_is_accepted(client, shop_model):
    response = post_raw(client, "/v1/recommendations/batch", '{"user_ids": ["u1"], "limit": 2.0}', AUTH)
    assert response.status_code == 200 and len(response.json["results"][0]["items"]) == 2


@pytest.mark.parametrize("path", ["/v1/recommendations/batch", "/v1/sessions/recommendations", "/v1/events"])
def test_json_nested_a_thousand_deep_is_a_400(client, shop_model, path):
    """Regression: the parser's RecursionError was a 500."""
    text = '{"user_ids": ' + "[" * 1000 + "]" * 1000 + "}"
    is_json_error(post_raw(client, path, text, AUTH), 400)
    is_json_error(post_raw(client, path, "[" * 100_000 + "]" * 100_000, AUTH), 400)


@pytest.mark.parametrize("timestamp", ["1e400", "-1e400", "NaN", "Infinity", "1e300", '"0001-01-01T00:00:00+14:00"'])
def test_an_event_timestamp_out_of_range_is_a_rejected_event(client, timestamp):
    """Regression: int(1e400 / 1000) raised OverflowError (500)."""
    text = f'{{"user_id": "u1", "item_id": "i1", "event": "view", "timestamp": {timestamp}}}'
    response = post_raw(client, "/v1/events", text, AUTH)
    is_json_error(response, 400)
    assert response.json["rejected"] == 1 and "timestamp" in response.json["errors"][0]["message"]


@pytest.mark.parametrize("offset", ["1e400", str(10**30), "NaN", "-1", "1.5", "true", '"3"'])
def test_a_forged_trigger_cursor_is_a_400(client, retention_model, offset):
    """Regression: an offset of 1e400 raised OverflowError and 10**30 a Redis ResponseError (500s)."""
    raw = f'["{retention_model.version}", 0, 1e12, {offset}]'
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    response = client.get(f"/v1/triggers/replenishment?cursor={cursor}", headers=AUTH)
    assert "cursor" in is_json_error(response, 400)["message"]


@pytest.mark.parametrize("score", ["NaN", '"nan"'])
def test_a_trigger_cursor_with_a_nan_score_is_a_400(client, retention_model, score):
    raw = f'["{retention_model.version}", {score}, 1e12, 0]'
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    is_json_error(client.get(f"/v1/triggers/replenishment?cursor={cursor}", headers=AUTH), 400)


def test_a_405_says_which_methods_are_allowed(client):
    """Regression: the JSON error handler dropped the Allow header of a 405."""
    response = client.delete("/v1/popular")
    assert is_json_error(response, 405)["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD", "OPTIONS"}
    response = client.get("/v1/events")
    is_json_error(response, 405)
    assert "POST" in response.headers["Allow"]


@pytest.fixture
def full_redis():
    """A private redis-server limited to 1 MB that refuses writes past it, filled up."""
    port = free_port()
    process = subprocess.Popen(
        [server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--maxmemory", "1mb", "--maxmemory-policy", "noeviction", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    r = redis.Redis(port=port)
    try:
        for _ in range(200):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.02)
        try:
            for n in range(10_000):
                r.set(f"filler:{n}", b"x" * 1_000)
        except redis.exceptions.OutOfMemoryError:
            pass
        r.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def test_events_into_a_redis_out_of_memory_are_a_503_with_a_code(full_redis):
    """Regression: Redis's OOM error on the XADD was a 500."""
    client = create_app({"REDIS_URL": full_redis, "TESTING": True, "API_KEYS": "k"}).test_client()
    event = {"user_id": "u1", "item_id": "i1", "event": "view"}
    response = client.post("/v1/events", json=event, headers={"X-API-Key": "k"})
    assert is_json_error(response, 503)["code"] == "store_full"
