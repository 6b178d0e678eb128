"""The production server (``recsvc serve --production``) under stress, over real sockets: a stalled Redis, slow
clients and bad paths leave ``/healthz`` answering at once."""

import concurrent.futures
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_stall import stallable  # noqa: F401 - the fixture is used by name
from training.private_redis import free_port

pytest.importorskip("granian")
ROOT = Path(__file__).resolve().parents[1]


def get(port: int, path: str, timeout: float = 10.0) -> tuple[int, float, bytes]:
    """Status, seconds and body of one GET on a new connection."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, time.monotonic() - start, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def production(stallable, tmp_path_factory):  # noqa: F811
    """One granian worker with two admitted threads and a spare, on the stallable Redis: (port, Redis server)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(RECSVC_REDIS_TIMEOUT_S="0.3", RECSVC_BREAKER_PROBE_S="0.1")
    command = [sys.executable, "-m", "cli.main", "--redis-url", stallable.url, "serve", "--production"]
    command += ["--port", str(port), "--workers", "1", "--threads", "2"]
    log = open(tmp_path_factory.mktemp("production") / "server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(port, "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the production server did not start"
            time.sleep(0.2)
        yield port, stallable
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # its workers too, whatever they are stuck in
        server.wait(10)
        log.close()


def test_a_path_that_is_not_utf8_is_a_json_400_under_granian(production):
    port, _ = production
    status, _, body = get(port, "/v1/items/%ff%fe/similar")
    assert status == 400
    assert b'"invalid_argument"' in body


def test_with_redis_stopped_every_request_fails_fast_and_healthz_answers_at_once(production):
    """Regression: each request waited out its Redis timeout, the next ones queued behind it, and /healthz
    queued with them (4.5 s at 100 req/s with Redis stopped for 6 s)."""
    port, redis_server = production
    os.kill(redis_server.process.pid, signal.SIGSTOP)
    try:
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda p: get(port, p), ["/v1/users/u1/recommendations"] * 24))
            healthz = [get(port, "/healthz") for _ in range(5)]
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    assert {status for status, _, _ in answers} == {503}
    assert max(seconds for _, seconds, _ in answers) < 1.0, sorted(round(s, 2) for _, s, _ in answers)
    assert all(status == 200 and seconds < 0.1 for status, seconds, _ in healthz), healthz
    deadline = time.monotonic() + 2
    while get(port, "/v1/users/u1/recommendations")[0] != 200:
        assert time.monotonic() < deadline, "the service did not recover once Redis answered"
        time.sleep(0.05)


def test_slow_clients_do_not_stall_healthz(production):
    """Regression: 16 connections sending half a body to POST /v1/track held every worker thread: /healthz
    timed out for 40 s."""
    port, _ = production
    slow = []
    try:
        for _ in range(16):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(
                b"POST /v1/track HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n" + b"{" * 500
            )
            slow.append(sock)
        time.sleep(0.3)
        healthz = [get(port, "/healthz", timeout=5) for _ in range(5)]
    finally:
        for sock in slow:
            sock.close()
    assert all(status == 200 and seconds < 0.2 for status, seconds, _ in healthz), healthz
