"""What the browser tests share: the demo shop served by gunicorn, a shop's own pages on another origin,
and Debian's Chromium driven by Playwright (never a downloaded build).

Without a Chromium the browser tests are skipped, unless ``RECSVC_REQUIRE_BROWSER=1`` (CI sets it):
then they fail.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis

from training.samples.demo_shop import write_demo_shop
from training.train import Inputs, TrainResult, train

CHROMIUM_NAMES = ("chromium", "chromium-browser")
DEMO_USERS = 600
"""Users of the demo shop the browser tests train on: enough for every list, quick to train."""
SHOP_ITEMS = "https://shop.example/items/"
"""Where the demo shop's catalog links its items; a test answers these with a small product page."""


def chromium_path() -> str:
    """The system's Chromium (``RECSVC_CHROMIUM`` or the first on PATH); skips or fails the test without one."""
    path = os.environ.get("RECSVC_CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if path is None:
        message = "no Chromium on this machine (apt-get install -y chromium)"
        if os.environ.get("RECSVC_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_demo_shop(r: redis.Redis, folder: Path) -> TrainResult:
    """The demo shop, written into ``folder``, trained and published."""
    shop = write_demo_shop(folder, users=DEMO_USERS, seed=0)
    return train(r, Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))


WORKERS = ("-w", "1", "-k", "gthread", "--threads", "4")
"""One process with threads: Chromium opens spare connections ahead of need, and each would hold a sync
worker until gunicorn's timeout (a browser-facing service runs behind a proxy, or with threads)."""


class Service:
    """The service under gunicorn (one process) on a free port of 127.0.0.1, reading ``redis_url``."""

    def __init__(self, redis_url: str, api_key: str, **settings: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "REDIS_URL": redis_url, "RECSVC_API_KEYS": api_key, "OPENBLAS_NUM_THREADS": "1"}
        env.update({f"RECSVC_{name}": value for name, value in settings.items()})
        self.log = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would stall the service
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *WORKERS, "-b", f"127.0.0.1:{self.port}", "recsvc:create_app()"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.log.seek(0)
                    said = self.log.read().decode()[-2000:]
                    self.stop()
                    raise RuntimeError(f"the service did not start: {said}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the service and wait until it is gone."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


class Pages:
    """A shop's web server on its own origin: ``pages`` maps a path to HTML; ``/slow`` never answers."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.release = threading.Event()
        pages, release = self.pages, self.release

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                if self.path.startswith("/slow"):  # a service that takes the connection and never answers
                    release.wait(30)
                    return
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, format, *args) -> None:  # noqa: A002 - http.server's signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium of the system, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def placeholder_images(page) -> None:
    """Answer the demo catalog's image and item URLs (shop.example) from the test: drawn placeholders and a
    small product page, so no request leaves the machine."""

    def image(route) -> None:
        name = route.request.url.rsplit("/", 1)[-1].removesuffix(".jpg")
        hue = sum(map(ord, name)) % 360
        svg = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240"><rect width="240" height="240" '
            f'fill="hsl({hue},45%,80%)"/><text x="120" y="128" font-family="sans-serif" font-size="15" '
            f'text-anchor="middle" fill="#333">{name}</text></svg>'
        )
        route.fulfill(status=200, content_type="image/svg+xml", body=svg)

    page.route("https://shop.example/images/**", image)
    page.route(
        f"{SHOP_ITEMS}**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>A product page</h1>"),
    )
