"""``recsvc serve --production``: granian's workers serve the same answers, add up their metrics in
``/metrics``, restart gracefully on SIGHUP and stop on SIGTERM."""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recsvc import create_app
from training.private_redis import free_port

pytest.importorskip("granian")
pytestmark = pytest.mark.usefixtures("shop_model")
ROOT = Path(__file__).resolve().parents[1]


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not {what} after {timeout:.0f} s")


def workers_of(pid: int) -> set[int]:
    """The worker processes of the server (its children)."""
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[1] == str(pid):
                        found.add(int(entry.name))
            except OSError:
                pass
    return found


def requests_counted(port: int, endpoint: str) -> float:
    """recsvc_http_requests_total of an endpoint, as /metrics adds it up over the workers."""
    _, body = get(port, "/metrics")
    prefix = f'recsvc_http_requests_total{{endpoint="{endpoint}",method="GET",status="200"}} '
    return sum(float(line[len(prefix) :]) for line in body.decode().splitlines() if line.startswith(prefix))


def test_production_server_serves_restarts_and_stops(redis_url, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    command = [sys.executable, "-m", "cli.main", "--redis-url", redis_url, "serve", "--production"]
    command += ["--port", str(port), "--workers", "2"]
    with open(tmp_path / "server.log", "w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: get(port, "/readyz")[0] == 200, "ready")
        wait_until(lambda: len(workers_of(server.pid)) == 2, "two workers")
        expected = create_app({"REDIS_URL": redis_url}).test_client().get("/v1/users/alice/recommendations").json
        status, body = get(port, "/v1/users/alice/recommendations")
        assert status == 200
        assert {**json.loads(body), "rec_id": None} == {**expected, "rec_id": None}
        for _ in range(20):  # spread over both workers: the count is their sum
            assert get(port, "/healthz")[0] == 200
        assert requests_counted(port, "/healthz") == 20

        before = workers_of(server.pid)
        server.send_signal(signal.SIGHUP)
        wait_until(lambda: len(workers_of(server.pid) - before) == 2, "restarted")
        wait_until(lambda: get(port, "/healthz")[0] == 200, "serving after the restart")
        assert get(port, "/v1/users/alice/recommendations")[0] == 200
        assert requests_counted(port, "/healthz") >= 21  # the restarted workers' counts stay in the sum

        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    log_text = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log_text, log_text
