"""Trigger lists for the email generator: who to contact now, each with the items to show.

The trainer writes one sorted set of users per kind, scored by a time (``keys.trigger``);
a page is a score range read from an offset. The cursor carries the version and the
range, so paging through stays on the same list while time moves on.
"""

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone

from recsvc.contract.keys import CATALOG_KINDS
from recsvc.contract.records import WATCH_REASONS, BuyAgainRecord, Profile, UserRecord
from recsvc.contract.units import DAY, HOUR
from recsvc.read.listing import Filters, Listing
from recsvc.read.retention import RetentionAnswers, due_candidates

SCAN_FACTOR = 10  # a page reads at most this many users per entry asked for ...
MIN_SCAN = 1_000  # ... or this many, whichever is more
MAX_OFFSET = 2**31 - 1  # the largest offset a cursor may carry: far beyond any list, well within Redis's range
MAX_OVERDUE = 3.0  # replenishment: items more than this many intervals overdue were probably dropped


@dataclass(frozen=True)
class Window:
    """What a trigger's parameter means: its name, unit in seconds, default and maximum."""

    name: str
    unit: int
    default: int
    maximum: int


WINDOWS = {
    "replenishment": Window("days", DAY, 7, 365),  # due within N days
    "category-interest": Window("days", DAY, 7, 90),  # viewed within the last N days
    "abandoned-cart": Window("hours", HOUR, 24, 24 * 90),  # in the cart for at least N hours
    "win-back": Window("days", DAY, 30, 365),  # became at risk within the last N days
    "back-in-stock": Window("days", DAY, 7, 90),  # a watched item came back within the last N days
    "price-drop": Window("days", DAY, 7, 90),  # a watched item got cheaper within the last N days
}
SUPPRESS_DAYS = 7
"""Users sent a message of a kind within this many days are left out of that kind's list (0: nobody)."""
MAX_SUPPRESS_DAYS = 365
"""The longest suppression window; sends older than this are forgotten."""


class BadCursor(ValueError):
    """A cursor this service did not make, or one from another model version."""


@dataclass(frozen=True)
class Page:
    """Where a page starts: the version, the score range and the offset into it."""

    version: str
    low: float
    high: float
    offset: int

    def encode(self) -> str:
        """The cursor string: URL-safe base64 of the page's JSON, without padding."""
        raw = json.dumps([self.version, self.low, self.high, self.offset], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> "Page":
        """The page of a cursor ``encode`` made; BadCursor for anything else."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            version, low, high, offset = json.loads(raw)
            page = cls(str(version), float(low), float(high), offset)
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError):
            raise BadCursor("cursor is not one this service returned") from None
        # an offset is a whole number Redis accepts (1e400, 10**30 or NaN are not); scores are never NaN
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
            raise BadCursor("cursor is not one this service returned")
        if math.isnan(page.low) or math.isnan(page.high):
            raise BadCursor("cursor is not one this service returned")
        return page


class Triggers:
    """Pages of trigger lists."""

    def __init__(self, retention: RetentionAnswers):
        self.retention = retention
        self.answers = retention.answers
        self.store = retention.store

    def page(
        self,
        kind: str,
        window: int,
        limit: int,
        items_per_user: int,
        cursor: str | None = None,
        suppress_days: int = SUPPRESS_DAYS,
    ) -> dict:
        """One page of ``kind``: ``{"kind", "model_version", "entries", "next_cursor"}``.

        Users sent a message of this kind within ``suppress_days`` (``POST /v1/triggers/<kind>/sent``) are left out.
        """
        version = self.store.version()
        wall = self.retention.clock()
        # catalog changes are stamped with the wall clock, the other lists with the model's
        now = wall if kind in CATALOG_KINDS else self.retention.now(version)
        changes = self.store.catalog_changes(version, kind) if kind in CATALOG_KINDS else {}
        if cursor:
            page = Page.decode(cursor)
            if page.version != version:
                raise BadCursor("the model was republished since this cursor was made: start again without it")
        else:
            page = Page(version, *self._range(kind, now, window * WINDOWS[kind].unit), 0)
        filters = Filters(limit=items_per_user)
        span = window * WINDOWS[kind].unit
        entries: list[dict] = []
        offset, end = page.offset, False
        # users with nothing left to show (all hidden, or long overdue) are skipped, so read on
        # until the page is full, the list ends, or enough users were read for one request
        while len(entries) < limit and offset - page.offset < max(MIN_SCAN, SCAN_FACTOR * limit):
            users = self.store.trigger_page(version, kind, page.low, page.high, offset, limit)
            found = self.store.retention_users(version, users)
            sent = self.store.sent_at(kind, users) if suppress_days else [None] * len(users)
            consumed = 0
            for user_id, (user, again, profile), sent_at in zip(users, found, sent):
                consumed += 1
                if sent_at is not None and sent_at >= wall - suppress_days * DAY:
                    continue
                entry = self._entry(kind, version, now, span, user_id, user, again, profile, filters, changes)
                if entry is not None and entry["items"]:
                    entries.append(entry)
                    if len(entries) == limit:
                        break
            offset += consumed
            if len(users) < limit and consumed == len(users):
                end = True  # the list has no more users
                break
        more = not end
        next_cursor = Page(version, page.low, page.high, offset).encode() if more else None
        return {"kind": kind, "model_version": version, "entries": entries, "next_cursor": next_cursor}

    @staticmethod
    def _range(kind: str, now: float, span: float) -> tuple[float, float]:
        """The score range of users to contact now."""
        if kind == "replenishment":
            return float("-inf"), now + span  # first item due by then
        if kind == "abandoned-cart":
            return float("-inf"), now - span  # the cart has waited that long
        return now - span, float("inf")  # category-interest, win-back, catalog changes: recent enough

    def _entry(
        self,
        kind: str,
        version: str,
        now: float,
        span: float,
        user_id: str,
        user: UserRecord | None,
        again: BuyAgainRecord | None,
        profile: Profile | None,
        filters: Filters,
        changes: dict[int, dict],
    ) -> dict | None:
        """One user's entry of a trigger list; None when the user has nothing for it."""
        blocked = set(user.bought) if user else set()
        entry = {
            "user_id": user_id,
            "segment": profile.segment if profile else "new",
            "best_time": self.retention.best_time(version, profile),
        }
        if kind in CATALOG_KINDS:
            if profile is None:
                return None
            # watched items were not bought since they were watched: an earlier purchase (coffee) does not block them
            return {**entry, "items": self._changed_items(kind, version, profile, changes, filters)}
        if kind == "replenishment":
            if again is None:
                return None
            listing = Listing(self.store, version, filters)
            listing.add([c for c in due_candidates(again, now) if _due_within(c[2], span)])
            return {**entry, "items": listing.items}
        if kind == "abandoned-cart":
            listing = Listing(self.store, version, filters, blocked)
            cart = profile.cart if profile else ()
            listing.add([(i, 1.0, {"type": "in_cart"}) for i in cart])
            return {**entry, "cart_at": profile.cart_at if profile else None, "items": listing.items}
        if kind == "category-interest":
            interest = profile.interest if profile else ()
            categories = [c for c in interest if c in self.store.category_parents(version)]
            if not categories:
                return None
            listing = Listing(self.store, version, Filters(filters.limit, categories[0]), blocked)
            listing.fill_popular()
            for item in listing.items:
                item["reason"] = {"type": "viewed_not_bought", "category_id": categories[0]}
            return {**entry, "category_id": categories[0], "items": listing.items}
        # win-back: their personal picks
        answer = self.answers.for_user_record(version, user, filters)
        days = self.retention.describe(version, user, profile)["days_since_last_order"]
        return {**entry, "days_since_last_order": days, "items": answer["items"]}

    def _changed_items(
        self, kind: str, version: str, profile: Profile, changes: dict[int, dict], filters: Filters
    ) -> list[dict]:
        """The user's watched items that came back or got cheaper, latest change first, each with the change as reason.

        A change that no longer holds (the item hidden again, or dearer than the dropped price) is left out."""
        watched = [(i, why) for i, why in zip(profile.watched, profile.watched_reasons) if i in changes]
        attrs = self.store.attrs(version, [i for i, _ in watched])
        candidates = []
        for (item, why), attr in zip(watched, attrs):
            change = changes[item]
            reason = {"type": kind.replace("-", "_"), "watched": WATCH_REASONS[why]}
            if kind == "price-drop":
                price = (attr or {}).get("price")
                if price is None or float(price) > change["new_price"]:
                    continue
                reason.update(old_price=change["old_price"], new_price=change["new_price"], since=_date(change["at"]))
            else:
                reason["since"] = _date(change["at"])
            candidates.append((change["at"], item, reason))
        candidates.sort(key=lambda c: -c[0])  # the latest change first
        listing = Listing(self.store, version, filters)
        listing.add((item, 1.0, reason) for _, item, reason in candidates)
        return listing.items


def _date(at: float) -> str:
    """The UTC date of a unix time, ``2026-12-01``."""
    return datetime.fromtimestamp(at, timezone.utc).date().isoformat()


def _due_within(reason: dict, span: float) -> bool:
    """Due by now + span, and not so long overdue that the user has surely dropped it."""
    days, interval = reason["days_since_last_purchase"], reason["interval_days"]
    return days + span / DAY >= interval and days <= MAX_OVERDUE * interval
