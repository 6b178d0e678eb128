"""Overload is shed: a bounded number of requests in flight per process, the excess refused at once with a
503 and Retry-After while the probes still answer; each request within a time budget."""

import os
import signal
import threading
import time

from recsvc import create_app
from tests.test_stall import stallable, timed  # noqa: F401 - the fixture is used by name

USERS = ["u1", "u2", "u3", "nobody"] * 250


def test_a_request_beyond_the_bound_is_refused_at_once_while_the_probes_answer(stallable):  # noqa: F811
    """Regression: nothing bounded the requests a worker took on, so an overload queued them all (50 batches of
    1,000 users a second put /healthz at 8-11 s, with no 503)."""
    app = create_app(
        {"REDIS_URL": stallable.url, "TESTING": True, "MAX_IN_FLIGHT": 1, "REDIS_TIMEOUT_S": 2.0, "API_KEYS": "k"}
    )
    client = app.test_client()
    assert client.get("/v1/popular").status_code == 200
    held = threading.Thread(target=lambda: client.get("/v1/users/u1/recommendations"))
    os.kill(stallable.process.pid, signal.SIGSTOP)  # the one admitted request waits on Redis
    try:
        held.start()
        time.sleep(0.5)  # the held request is in, waiting on Redis (2 s)
        refused, refused_s = timed(client, "/v1/popular")
        healthz, healthz_s = timed(client, "/healthz")
    finally:
        os.kill(stallable.process.pid, signal.SIGCONT)
        held.join()
    assert refused.status_code == 503 and refused_s < 0.1, refused_s
    assert refused.headers["Retry-After"] == "1"
    assert refused.get_json()["error"] == {"code": "unavailable", "message": "the service is busy; retry shortly"}
    assert healthz.status_code == 200 and healthz_s < 0.1


def test_the_bound_frees_its_slots_whatever_the_answer(stallable):  # noqa: F811
    client = create_app({"REDIS_URL": stallable.url, "TESTING": True, "MAX_IN_FLIGHT": 1}).test_client()
    for path in ("/v1/popular", "/v1/users/u1/recommendations", "/v1/nowhere", "/v1/popular?limit=0"):
        client.get(path)
    assert client.get("/v1/popular").status_code == 200


def test_a_batch_past_its_time_budget_is_stopped_with_a_503(stallable):  # noqa: F811
    """Regression: no request had a time budget (a batch of 1,000 users x 20 once ran for 281 s)."""
    app = create_app({"REDIS_URL": stallable.url, "TESTING": True, "API_KEYS": "k", "REQUEST_BUDGET_S": 1e-4})
    client = app.test_client()
    response = client.post("/v1/recommendations/batch", json={"user_ids": USERS}, headers={"X-API-Key": "k"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "deadline_exceeded"
    app.config["REQUEST_BUDGET_S"] = 10  # read when the app is made: this one keeps its tiny budget
    roomy = create_app({"REDIS_URL": stallable.url, "TESTING": True, "API_KEYS": "k"}).test_client()
    response = roomy.post("/v1/recommendations/batch", json={"user_ids": USERS}, headers={"X-API-Key": "k"})
    assert response.status_code == 200


def test_a_path_that_is_not_utf8_is_a_400(stallable):  # noqa: F811
    """Regression: %ff%fe became U+FFFD and was answered as an item id."""
    client = create_app({"REDIS_URL": stallable.url, "TESTING": True}).test_client()
    for path in ("/v1/items/%ff%fe/similar", "/v1/users/%c3/recommendations", "/%ff"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert response.get_json()["error"]["code"] == "invalid_argument"
    assert client.get("/v1/items/%D0%9A%D0%BE%D1%84%D0%B5/similar").status_code == 200  # Кофе: UTF-8


def test_a_second_batch_in_a_process_is_refused_while_one_runs(stallable):  # noqa: F811
    """Batches have a bound of their own: a second one at once would halve the speed of both under the GIL."""
    app = create_app(
        {"REDIS_URL": stallable.url, "TESTING": True, "MAX_HEAVY_IN_FLIGHT": 1, "REDIS_TIMEOUT_S": 2.0, "API_KEYS": "k"}
    )
    client = app.test_client()

    def batch():
        return client.post("/v1/recommendations/batch", json={"user_ids": ["u1", "u2"]}, headers={"X-API-Key": "k"})

    assert batch().status_code == 200
    held = threading.Thread(target=batch)
    os.kill(stallable.process.pid, signal.SIGSTOP)
    try:
        held.start()
        time.sleep(0.5)  # the held request is in, waiting on Redis (2 s)
        start = time.monotonic()
        second = batch()
        second_s = time.monotonic() - start
    finally:
        os.kill(stallable.process.pid, signal.SIGCONT)
        held.join()
    assert second.status_code == 503 and second_s < 0.1
    assert second.headers["Retry-After"] == "1"
    assert batch().status_code in (200, 503)  # 503 while the breaker the held batch opened still probes
