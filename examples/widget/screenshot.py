"""Take docs/widget-demo.png and docs/dashboard.png with Debian's Chromium: the demo shop trained into a
private Redis, served by gunicorn, the demo page (examples/widget/demo.html) loaded from another origin.

    .venv/bin/python examples/widget/screenshot.py

The demo catalog's images (shop.example) do not exist: the page is shown with drawn placeholders.
"""

import csv
import sys
import tempfile
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cli.trainer import demo_urls  # noqa: E402 - after the path of the repository
from tests.browser import Pages, Service, chromium, placeholder_images, train_demo_shop  # noqa: E402
from training.private_redis import RedisServer  # noqa: E402

KEY = "demo-key"


def main() -> None:
    server = RedisServer().start()
    service = pages = None
    try:
        with tempfile.TemporaryDirectory() as folder:
            shop = Path(folder)
            train_demo_shop(redis.Redis.from_url(server.url), shop)
            urls = demo_urls(type("Shop", (), {"catalog": shop / "catalog.csv", "events": shop / "events.csv"}))
            with open(shop / "catalog.csv", newline="") as f:
                catalog = {row["item_id"]: row for row in csv.DictReader(f)}
        user, item = urls[0].split("/")[3], urls[1].split("/")[3]
        service, pages = Service(server.url, KEY), Pages()
        page_html = (Path(__file__).parent / "demo.html").read_text()
        fields = {"api": service.url, "item": item, "user": user, **{k: catalog[item][k] for k in ("title", "price")}}
        for name, value in fields.items():
            page_html = page_html.replace("{" + name + "}", value)
        pages.pages["/demo"] = page_html
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1000, "height": 1000})
            placeholder_images(page)
            page.goto(pages.url + "/demo")
            for kind in ("also-bought", "similar", "recommendations"):
                page.wait_for_selector(f'[data-recsvc="{kind}"][data-recsvc-state=ready]', timeout=10_000)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(ROOT / "docs" / "widget-demo.png"), full_page=True)
            page.goto(service.url + "/dashboard")
            page.fill("input[name=api_key]", KEY)
            page.click("button[type=submit]")
            page.wait_for_selector("[data-field=served-version]")
            page.screenshot(path=str(ROOT / "docs" / "dashboard.png"), full_page=True)
        print("wrote docs/widget-demo.png and docs/dashboard.png")
    finally:
        if pages:
            pages.stop()
        if service:
            service.stop()
        server.stop()


if __name__ == "__main__":
    main()
