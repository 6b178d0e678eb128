"""The email example (examples/email): one HTML email per user of a trigger list, the batch API or an
export, each item with its reason in words; and the export rows it can read carry the catalog's fields."""

import csv
import html
import importlib.util
import json
import urllib.request
from pathlib import Path

import pytest

from cli.main import main as recsvc
from recsvc.contract.reasons import ITEMS as ITEM_REASONS
from tests.browser import Service

ROOT = Path(__file__).resolve().parents[1]
KEY = "email-test-key"


def load_generator():
    spec = importlib.util.spec_from_file_location("email_generate", ROOT / "examples" / "email" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = load_generator()


@pytest.fixture(scope="module")
def service(retention_model, redis_url):
    running = Service(redis_url, KEY)
    yield running
    running.stop()


def api(service, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(service.url + path, data, headers), timeout=20) as r:
        return json.load(r)


@pytest.mark.parametrize("kind", ITEM_REASONS)
def test_every_reason_the_service_gives_has_its_own_words(kind):
    reason = {"type": kind, "item_id": "shoe-1", "days_since_last_purchase": 30, "interval_days": 28.5}
    words = generate.reason_in_words(reason, {"shoe-1": "Trail running shoe"})
    assert words != "Picked for you."
    if "item_id" in reason and kind in ("because_you_bought", "because_you_viewed", "bought_together", "similar"):
        assert "Trail running shoe" in words


def test_a_replenishment_email_names_the_due_items_and_their_rhythm(service, retention_shop, tmp_path):
    out = tmp_path / "mails"
    assert (
        generate.main(
            [
                "--api",
                service.url,
                "--key",
                KEY,
                "--trigger",
                "replenishment",
                "--catalog",
                str(retention_shop["catalog"]),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    entries = api(service, "/v1/triggers/replenishment?limit=500&items_per_user=4")["entries"]
    assert sorted(p.stem for p in out.glob("*.html")) == sorted(e["user_id"] for e in entries)
    steady = next(e for e in entries if e["user_id"] == "steady")
    page = html.unescape((out / "steady.html").read_text())
    assert "Time to stock up?" in page
    for item in steady["items"]:
        reason = item["reason"]
        assert item["title"] in page and f"{item['price']:.2f}" in page
        assert f"You last bought it {reason['days_since_last_purchase']} days ago" in page
    assert KEY not in page


def test_emails_from_the_batch_api_and_from_an_export(service, redis_url, retention_shop, tmp_path, capsys):
    out = tmp_path / "batch"
    generate.main(["--api", service.url, "--key", KEY, "--users", "steady,nobody", "--out", str(out)])
    results = api(service, "/v1/recommendations/batch", {"user_ids": ["steady"], "limit": 4})["results"]
    page = html.unescape((out / "steady.html").read_text())
    assert all(item["title"] in page for item in results[0]["items"])
    assert (out / "nobody.html").exists()  # popular items for a user the model does not know
    exported = tmp_path / "picks.jsonl"
    assert recsvc(["--redis-url", redis_url, "export", "picks", "--out", str(exported), "--no-progress"]) == 0
    capsys.readouterr()
    written = generate.render(generate.export_entries(exported), "picks", {}, tmp_path / "export")
    assert len(written) == len(exported.read_text().splitlines())


def test_export_rows_carry_the_catalogs_fields(retention_model, redis_url, tmp_path, capsys):
    out = tmp_path / "picks.csv"
    assert (
        recsvc(["--redis-url", redis_url, "export", "picks", "--format", "csv", "--out", str(out), "--no-progress"])
        == 0
    )
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {"title", "price", "url", "image_url"} <= set(rows[0])
    assert all(row["title"] == row["item_id"].replace("-", " ").title() and float(row["price"]) > 0 for row in rows)
    jsonl = tmp_path / "picks.jsonl"
    recsvc(["--redis-url", redis_url, "export", "picks", "--out", str(jsonl), "--no-progress"])
    first = json.loads(jsonl.read_text().splitlines()[0])
    assert {"title", "price"} <= set(first["items"][0])


def test_a_price_drop_says_the_old_and_new_price():
    reason = {"type": "price_drop", "watched": "addtocart", "old_price": 24.9, "new_price": 19.9, "since": "2024-02-20"}
    assert generate.reason_in_words(reason, {}) == "Now 19.90 instead of 24.90, since 2024-02-20."
    came_back = {"type": "back_in_stock", "watched": "wishlist", "since": "2024-02-21"}
    assert generate.reason_in_words(came_back, {}) == "Back in stock since 2024-02-21."
