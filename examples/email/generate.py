"""Render one personalized HTML email per user from recsvc's answers, with each item's reason in words.

    python examples/email/generate.py --api http://127.0.0.1:8000 --key KEY --trigger replenishment --out mails/
    python examples/email/generate.py --api http://127.0.0.1:8000 --key KEY --users u1,u2 --out mails/
    python examples/email/generate.py --export picks.jsonl --out mails/     # rows of `recsvc export picks`

``--catalog catalog.csv`` (the shop's catalog, as given to ``recsvc train``) names the items a reason
refers to ("because you bought Trail running shoe"); without it the reason names the item id.
The API key stays on the server that sends the emails; it is never put into an email.
"""

import argparse
import csv
import json
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"
SUBJECTS = {
    "replenishment": "Time to stock up?",
    "abandoned-cart": "Still thinking it over?",
    "category-interest": "New finds in what you looked at",
    "win-back": "We have missed you",
    "back-in-stock": "Back in stock",
    "price-drop": "Now for less",
    "picks": "Picked for you",
}


def reason_in_words(reason: dict, names: dict[str, str]) -> str:
    """The sentence an email shows under an item, true to the reason the service gave."""
    kind = reason.get("type")
    named = names.get(reason.get("item_id", ""), reason.get("item_id", ""))
    if kind == "due_again":
        days, interval = reason["days_since_last_purchase"], reason["interval_days"]
        return f"You last bought it {days} days ago; you usually buy it every {interval:g} days."
    if kind == "price_drop" and "old_price" in reason:
        return f"Now {reason['new_price']:.2f} instead of {reason['old_price']:.2f}, since {reason['since']}."
    if kind == "back_in_stock" and "since" in reason:
        return f"Back in stock since {reason['since']}."
    sentences = {
        "because_you_bought": f"Because you bought {named}.",
        "because_you_viewed": f"Because you looked at {named}.",
        "bought_together": f"Often bought with {named}.",
        "viewed_together": f"Often looked at with {named}.",
        "similar": f"Like {named}.",
        "recently_viewed": "You looked at it recently.",
        "in_cart": "It is still in your cart.",
        "viewed_not_bought": "From a category you have been looking at.",
        "similar_shoppers": "Customers with tastes like yours bought it.",
        "trending": "Trending in the shop right now.",
        "popular": "One of our most popular items.",
        "personalized": "Picked for you from what you bought and looked at.",
        "back_in_stock": "Back in stock.",
        "price_drop": "Its price has dropped.",
        "promoted": "Featured by the shop.",
        "new_arrival": "New in the shop.",
    }
    return sentences.get(kind, "Picked for you.")


def catalog_names(path: Path | None) -> dict[str, str]:
    """item_id -> title from the shop's catalog CSV (empty without one)."""
    if path is None:
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {row["item_id"]: row.get("title") or row["item_id"] for row in csv.DictReader(f)}


def _call(api: str, path: str, key: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(api.rstrip("/") + path, data, headers), timeout=30) as r:
        return json.load(r)


def trigger_entries(api: str, key: str, kind: str, items_per_user: int) -> Iterator[dict]:
    """Every entry of a trigger list, page after page."""
    cursor = None
    while True:
        query = {"limit": 500, "items_per_user": items_per_user, **({"cursor": cursor} if cursor else {})}
        page = _call(api, f"/v1/triggers/{kind}?{urllib.parse.urlencode(query)}", key)
        yield from page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            return


def batch_entries(api: str, key: str, user_ids: list[str], limit: int) -> Iterator[dict]:
    """Each user's picks from the batch API, 1,000 users a call."""
    for start in range(0, len(user_ids), 1_000):
        body = {"user_ids": user_ids[start : start + 1_000], "limit": limit}
        yield from _call(api, "/v1/recommendations/batch", key, body)["results"]


def export_entries(path: Path) -> Iterator[dict]:
    """The rows of a `recsvc export` JSON lines file."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def render(entries: Iterator[dict], kind: str, names: dict[str, str], out: Path) -> list[Path]:
    """Write ``<out>/<user_id>.html`` for every entry with items; returns the files written."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["reason"] = lambda reason: reason_in_words(reason, names)
    template = env.get_template("email.html.j2")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in entries:
        if not entry.get("items"):
            continue
        path = out / f"{urllib.parse.quote(entry['user_id'], safe='')}.html"
        path.write_text(template.render(entry=entry, subject=SUBJECTS.get(kind, SUBJECTS["picks"])), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--trigger", choices=["replenishment", "abandoned-cart", "category-interest", "win-back"])
    source.add_argument("--users", help="comma-separated user ids: their picks from the batch API")
    source.add_argument("--export", type=Path, help="a JSON lines file of `recsvc export picks` or `triggers`")
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--key", help="an API key of the service (trigger lists and the batch API need one)")
    parser.add_argument("--catalog", type=Path, help="the shop's catalog CSV, to name the items reasons refer to")
    parser.add_argument("--items", type=int, default=4, help="items per email")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if (args.trigger or args.users) and not args.key:
        parser.error("--trigger and --users need --key")
    if args.trigger:
        entries, kind = trigger_entries(args.api, args.key, args.trigger, args.items), args.trigger
    elif args.users:
        entries, kind = batch_entries(args.api, args.key, args.users.split(","), args.items), "picks"
    else:
        entries, kind = export_entries(args.export), "picks"
    written = render(entries, kind, catalog_names(args.catalog), args.out)
    print(f"wrote {len(written)} emails to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
