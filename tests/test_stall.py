"""A stalled or unreachable Redis: fast 503s, a /readyz that answers at once and hides where Redis is,
and recovery without a restart once Redis answers again."""

import os
import signal
import time
from pathlib import Path

import pytest
import redis

from recsvc import create_app
from tests.shop import write_shop
from training.private_redis import RedisServer
from training.train import Inputs, train


@pytest.fixture(scope="module")
def stallable(tmp_path_factory):
    """A private redis-server with the known-answer shop published, which a test may SIGSTOP."""
    server = RedisServer().start()
    paths = write_shop(tmp_path_factory.mktemp("stall-shop"))
    train(redis.Redis(port=server.port), Inputs(events=paths["events"], catalog=paths["catalog"]))
    yield server
    if server.process:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def timed(client, path):
    start = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - start


def answers_again_within(client, path: str, seconds: float) -> bool:
    """Whether ``path`` answers 200 within ``seconds`` (the breaker's probe finds Redis back)."""
    deadline = time.monotonic() + seconds
    while client.get(path).status_code != 200:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_stalled_redis_fails_requests_fast_and_the_service_recovers(stallable):
    """Regression: with a 2 s socket timeout retried three times, every request waited on a stopped Redis."""
    client = create_app({"REDIS_URL": stallable.url, "TESTING": True}).test_client()
    assert client.get("/v1/popular").status_code == 200
    os.kill(stallable.process.pid, signal.SIGSTOP)
    try:
        for path in ("/v1/popular", "/v1/users/u1/recommendations", "/readyz"):
            response, seconds = timed(client, path)
            assert response.status_code == 503, path
            assert seconds < 1.0, (path, seconds)
            body = response.get_json()
            assert "127.0.0.1" not in response.get_data(as_text=True)
            assert str(stallable.port) not in response.get_data(as_text=True)
            if path != "/readyz":
                assert body["error"]["code"] == "unavailable"
    finally:
        os.kill(stallable.process.pid, signal.SIGCONT)
    assert answers_again_within(client, "/v1/popular", 1.0)
    assert client.get("/readyz").status_code == 200


def test_the_redis_timeout_is_a_setting(stallable, monkeypatch):
    monkeypatch.setenv("RECSVC_REDIS_TIMEOUT_S", "0.1")
    client = create_app({"REDIS_URL": stallable.url, "TESTING": True}).test_client()
    assert client.get("/readyz").status_code == 200
    os.kill(stallable.process.pid, signal.SIGSTOP)
    try:
        response, seconds = timed(client, "/readyz")
    finally:
        os.kill(stallable.process.pid, signal.SIGCONT)
    assert response.status_code == 503
    assert seconds < 0.5


def test_readyz_does_not_name_an_unreachable_redis():
    """Regression: /readyz answered with redis-py's message, host and port included."""
    client = create_app({"REDIS_URL": "redis://127.0.0.1:1/0", "TESTING": True}).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "127.0.0.1" not in response.get_data(as_text=True)
    assert ":1" not in response.get_data(as_text=True)


@pytest.mark.parametrize("key", ["1e3", "12345", "true", "null", '"quoted"'])
def test_api_keys_from_the_environment_are_exact_strings(redis_url, monkeypatch, key):
    """Regression: Flask's from_prefixed_env parsed RECSVC_API_KEYS as JSON, so 1e3 became 1000.0."""
    monkeypatch.setenv("RECSVC_API_KEYS", key)
    client = create_app({"REDIS_URL": redis_url, "TESTING": True}).test_client()
    event = {"user_id": "u1", "item_id": "i1", "event": "view"}
    assert client.post("/v1/events", json=event, headers={"X-API-Key": key}).status_code == 200
    if key == "1e3":
        assert client.post("/v1/events", json=event, headers={"X-API-Key": "1000.0"}).status_code == 401


def test_under_gunicorn_a_stalled_redis_gives_every_waiting_request_a_fast_503(stallable, tmp_path):
    """Concurrent requests to a real server while Redis is stopped: each fails within a second, none queues
    behind another's wait, and the server answers again once Redis does."""
    import concurrent.futures
    import shutil
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    from training.private_redis import free_port

    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    if gunicorn is None:
        pytest.skip("no gunicorn")
    port = free_port()
    env = {**os.environ, "REDIS_URL": stallable.url, "RECSVC_METRICS": "false", "RECSVC_REDIS_TIMEOUT_S": "0.3"}
    server = subprocess.Popen(
        [gunicorn, "--workers", "2", "--threads", "4", "--timeout", "10", "--bind", f"127.0.0.1:{port}"]
        + ["recsvc:create_app()"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def get(path: str) -> tuple[int, float]:
        start = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as e:
            status = e.code
            e.close()
        return status, time.monotonic() - start

    try:
        for _ in range(200):
            try:
                if get("/readyz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        os.kill(stallable.process.pid, signal.SIGSTOP)
        try:
            paths = ["/v1/popular", "/v1/users/u1/recommendations", "/v1/items/shoe-1/similar", "/readyz"] * 2
            with concurrent.futures.ThreadPoolExecutor(len(paths)) as pool:
                results = list(pool.map(get, paths))
        finally:
            os.kill(stallable.process.pid, signal.SIGCONT)
        assert all(status == 503 for status, _ in results), results
        assert max(seconds for _, seconds in results) < 1.0, results
        deadline = time.monotonic() + 2.0  # each worker's breaker probes Redis and closes
        while any(get("/v1/popular")[0] != 200 for _ in range(4)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(10)


def test_after_a_timeout_the_breaker_answers_503_at_once_until_redis_answers_again(stallable):
    """Regression: every request waited out its own Redis timeout, so a stall queued each worker's requests
    behind one another (a 6 s stop at 100 req/s gave p99 4.8 s)."""
    app = create_app({"REDIS_URL": stallable.url, "TESTING": True, "REDIS_TIMEOUT_S": 0.3, "BREAKER_PROBE_S": 0.1})
    client = app.test_client()
    assert client.get("/v1/users/u1/recommendations").status_code == 200
    os.kill(stallable.process.pid, signal.SIGSTOP)
    try:
        first, first_s = timed(client, "/v1/users/u1/recommendations")
        assert first.status_code == 503
        later = [timed(client, path) for path in ("/v1/users/u1/recommendations", "/v1/popular", "/readyz") * 5]
        healthz, healthz_s = timed(client, "/healthz")
    finally:
        os.kill(stallable.process.pid, signal.SIGCONT)
    assert first_s >= 0.25  # the one request that found the stall waited its timeout
    assert all(r.status_code == 503 for r, _ in later)
    assert max(seconds for _, seconds in later) < 0.05, [round(s, 3) for _, s in later]
    assert all(r.headers.get("Retry-After") == "1" for r, _ in later if r.request.path != "/readyz")
    assert later[0][0].get_json()["error"]["code"] == "unavailable"
    assert healthz.status_code == 200 and healthz_s < 0.05
    assert answers_again_within(client, "/v1/users/u1/recommendations", 1.0)  # a probe every 0.1 s found Redis
    assert app.extensions["recsvc"].store.breaker.openings == 1


def test_timeouts_mapped_outside_the_store_open_the_breaker_too(stallable):
    """The browser's reports reach Redis beside the store: their timeout opens the same breaker."""
    app = create_app({"REDIS_URL": stallable.url, "TESTING": True, "REDIS_TIMEOUT_S": 0.3, "BREAKER_PROBE_S": 0.1})
    client = app.test_client()
    rec_id = client.get("/v1/popular").get_json()["rec_id"]
    os.kill(stallable.process.pid, signal.SIGSTOP)
    try:
        report = client.post("/v1/track", json={"rec_id": rec_id, "type": "impression", "visitor_id": "visitor-1"})
        follow, follow_s = timed(client, "/v1/popular")
    finally:
        os.kill(stallable.process.pid, signal.SIGCONT)
    assert report.status_code == 503
    assert follow.status_code == 503 and follow_s < 0.05
    assert app.extensions["recsvc"].store.breaker.is_open
