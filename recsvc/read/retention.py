"""The read model of the retention features: buy-again lists and customer profiles."""

import math
import time
from collections.abc import Callable

from recsvc.contract.records import BuyAgainRecord, Profile, UserRecord
from recsvc.contract.units import DAY, OVERDUE_FADE
from recsvc.read.answers import Answers
from recsvc.read.listing import Candidate, Filters, Listing

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PROFILE_CATEGORIES = 3


def due_score(days_since: float, interval_days: float, times_bought: int, recency_days: float = 0.0) -> float:
    """How due an item is, weighted by how often the user bought it, and by how recently where
    ``recency_days`` is set (the shop's newest window chooses it: ``training/lists/buy_again_order.py``).

    Due-ness rises to 1 at the item's interval, then fades slowly: an item far past its
    interval was probably dropped. Half the weight stays with the purchase count, the best
    single signal of a repeat purchase (chosen on the Instacart sample, see docs/quality.md).
    The recency factor ``exp(-days_since / recency_days)`` puts recent purchases first.
    """
    ratio = days_since / interval_days
    due = ratio if ratio <= 1 else 1 / (1 + OVERDUE_FADE * (ratio - 1))
    score = times_bought * (0.5 + 0.5 * due)
    return score * math.exp(-days_since / recency_days) if recency_days > 0 else score


def due_candidates(record: BuyAgainRecord, now: float, recency_days: float = 0.0) -> list[Candidate]:
    """A user's repeatable items, most due first, each with its ``due_again`` reason."""
    out = []
    for item, last, count, interval in zip(record.items, record.last, record.counts, record.interval_days):
        days = max(0.0, (now - last) / DAY)
        reason = {
            "type": "due_again",
            "days_since_last_purchase": int(days),
            "interval_days": round(float(interval), 1),
            "times_bought": int(count),
        }
        out.append((item, due_score(days, interval, count, recency_days), reason))
    out.sort(key=lambda c: -c[1])
    return out


class RetentionAnswers:
    """Answers buy-again and profile requests from the store behind ``answers``."""

    def __init__(self, answers: Answers, clock: Callable[[], float] = time.time):
        self.answers = answers
        self.store = answers.store
        self.clock = clock
        self._peak: tuple[str, dict | None] | None = None

    def now(self, version: str) -> float:
        """The version's notion of now (``ModelStore.data_time``)."""
        return self.store.data_time(version, self.clock())

    def recency_days(self, version: str) -> float:
        """The recency scale buy-again is ordered with (0: due-ness alone), from the version's summary."""
        return self.store.summary(version).retention.recency_days

    def best_time(self, version: str, profile: Profile | None) -> dict | None:
        """When to contact the user: the hour and weekday they usually shop at, in the shop's time zone.

        From their own events where the trainer had enough of them, else the shop's peak; None for a
        version trained before this was computed."""
        shop = self._shop_time(version)
        if shop is None:
            return None
        if profile is not None and profile.contact_hour is not None and profile.contact_weekday is not None:
            own = {"hour": profile.contact_hour, "weekday": WEEKDAYS[profile.contact_weekday]}
            return {**shop, **own, "source": "own_events" if profile.contact_own else "shop_peak"}
        return shop

    def _shop_time(self, version: str) -> dict | None:
        """The shop's peak hour and weekday and its time zone, read once per version."""
        if self._peak is None or self._peak[0] != version:
            retention = self.store.summary(version).retention
            peak = retention.shop_peak
            shop = {**peak, "source": "shop_peak", "timezone": retention.timezone or "UTC"} if peak else None
            self._peak = (version, shop)
        return self._peak[1]

    def buy_again(self, user_id: str, filters: Filters) -> dict:
        """Items the user bought that are due again; popular items when there are none."""
        version, _, record, _ = self.store.retention_user(user_id)
        listing = Listing(self.store, version, filters)
        if record is not None:
            listing.add(due_candidates(record, self.now(version), self.recency_days(version)))
        source = "buy_again" if listing.items else "popular"
        if not listing.items:
            listing.fill_popular()
        return {"user_id": user_id, "model_version": version, "source": source, "items": listing.items}

    def profile(self, user_id: str) -> dict:
        """Segment, at-risk flag, RFM figures and top categories of a user."""
        version, user, _, profile = self.store.retention_user(user_id)
        return {"user_id": user_id, "model_version": version, **self.describe(version, user, profile)}

    def describe(self, version: str, user: UserRecord | None, profile: Profile | None) -> dict:
        """The public profile of one user from their records (None where the trainer wrote none)."""
        if profile is None:  # no purchase, cart or interest: new, or not known at all
            categories = self._categories_of(version, list(user.recent) if user else [])
            return {
                "known": user is not None,
                "segment": "new",
                "at_risk": False,
                "orders": 0,
                "spend": 0.0,
                "days_since_last_order": None,
                "usual_interval_days": None,
                "top_categories": categories,
                "best_time": self.best_time(version, None),
            }
        now = self.now(version)
        last = profile.last_order
        return {
            "known": True,
            "segment": profile.segment,
            "at_risk": profile.at_risk,
            "orders": profile.orders,
            "spend": profile.spend,
            "spend_unit": profile.spend_unit,
            "days_since_last_order": int((now - last) // DAY) if last is not None else None,
            "usual_interval_days": profile.usual_interval_days,
            "top_categories": list(profile.top_categories),
            "best_time": self.best_time(version, profile),
        }

    def _categories_of(self, version: str, items: list[int]) -> list[str]:
        """The categories of a user's recent items, most frequent first."""
        counts: dict[str, int] = {}
        for a in self.store.attrs(version, items):
            if a and a.get("category_id"):
                counts[a["category_id"]] = counts.get(a["category_id"], 0) + 1
        return sorted(counts, key=lambda c: -counts[c])[:PROFILE_CATEGORIES]
