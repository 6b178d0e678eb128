"""A user's events posted since training, as kept in ``keys.live``: what the next answer must follow."""

from collections.abc import Sequence
from dataclasses import dataclass

from recsvc.contract.events import PURCHASE
from recsvc.contract.units import DAY

LIVE_LENGTH = 100
"""Events kept per user (newest first); older ones are dropped by LTRIM."""
LIVE_TTL_S = 30 * DAY
"""Seconds a user's live list lives after their last event; by then a nightly training has learned them."""
ARRIVAL = "\t"
"""Separates an entry's item id from the unix second it arrived at (no id holds a tab: ``contract.ids``)."""
UNKNOWN_ARRIVAL = -1
"""The arrival of an entry written without one (before entries carried it): older than any version."""


def entry(code: int, item_id: str, arrived: int) -> str:
    """One list entry: the event code (one digit), the item id, then the unix second the service received it."""
    return f"{code}{item_id}{ARRIVAL}{arrived}"


def _decoded(raw: bytes) -> tuple[int, str, int]:
    """(event code, item id, arrival) of one entry."""
    text = raw[1:].decode()
    item_id, _, arrived = text.partition(ARRIVAL)
    return int(raw[:1]), item_id, int(arrived) if arrived else UNKNOWN_ARRIVAL


@dataclass(frozen=True)
class Live:
    """A user's recent events, newest first, as (event code, item id), and when each arrived (unix seconds)."""

    events: tuple[tuple[int, str], ...] = ()
    arrivals: tuple[int, ...] = ()

    @classmethod
    def decode(cls, entries: Sequence[bytes] | None) -> "Live":
        """The events of a live list as read with LRANGE (None or empty: no events)."""
        if not entries:
            return EMPTY
        decoded = [_decoded(e) for e in entries]
        return cls(tuple((code, item) for code, item, _ in decoded), tuple(at for _, _, at in decoded))

    @property
    def bought(self) -> frozenset[str]:
        """Items bought since training: never recommended back."""
        return frozenset(item for code, item in self.events if code == PURCHASE)

    def browsed_since(self, moment: float) -> list[tuple[int, str]]:
        """The views, carts and wishes that arrived at or after ``moment`` (unix seconds), newest first: what a
        model trained then has not learned."""
        return [event for event, at in zip(self.events, self.arrivals) if at >= moment and event[0] != PURCHASE]

    def __bool__(self) -> bool:
        return bool(self.events)


EMPTY = Live()
