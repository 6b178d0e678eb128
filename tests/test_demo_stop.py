"""``recsvc demo`` stopped as ``docker stop`` stops it (SIGTERM) takes its embedded redis-server with it.

Regression: Ctrl-C cleaned up, but SIGTERM ended the process without its exit handlers, and the embedded
redis-server it had started kept running.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_servers_in(folder: Path) -> list[int]:
    """The pids of the redis-servers whose working folder is under ``folder`` (the embedded one runs in its db's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            cwd = os.readlink(entry / "cwd")
        except OSError:  # gone meanwhile, or not ours
            continue
        if name.startswith("redis-server") and Path(cwd).resolve().is_relative_to(folder.resolve()):
            found.append(int(entry.name))
    return found


def wait_until(check, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def test_sigterm_stops_the_demo_and_its_embedded_redis(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"PYTHONPATH": str(ROOT)}
    demo = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: answers(f"http://127.0.0.1:{port}/healthz"), 240), "the demo did not serve"
        servers = redis_servers_in(tmp_path)
        assert servers, "no embedded redis-server found"
        demo.send_signal(signal.SIGTERM)
        demo.wait(30)
        assert wait_until(lambda: not redis_servers_in(tmp_path), 15), f"left running: {redis_servers_in(tmp_path)}"
    finally:
        if demo.poll() is None:
            demo.kill()
        for pid in redis_servers_in(tmp_path):  # never leave one behind, whatever the outcome
            os.kill(pid, signal.SIGKILL)
