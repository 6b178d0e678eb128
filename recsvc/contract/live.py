"""A user's events posted since training, as kept in ``keys.live``: what the next answer must follow."""

from collections.abc import Sequence
from dataclasses import dataclass

from recsvc.contract.events import PURCHASE
from recsvc.contract.units import DAY

LIVE_LENGTH = 100
"""Events kept per user (newest first); older ones are dropped by LTRIM."""
LIVE_TTL_S = 30 * DAY
"""Seconds a user's live list lives after their last event; by then a nightly training has learned them."""


def entry(code: int, item_id: str) -> str:
    """One list entry: the event code (one digit) then the item id."""
    return f"{code}{item_id}"


@dataclass(frozen=True)
class Live:
    """A user's recent events, newest first, as (event code, item id)."""

    events: tuple[tuple[int, str], ...] = ()

    @classmethod
    def decode(cls, entries: Sequence[bytes] | None) -> "Live":
        """The events of a live list as read with LRANGE (None or empty: no events)."""
        if not entries:
            return EMPTY
        return cls(tuple((int(e[:1]), e[1:].decode()) for e in entries))

    @property
    def bought(self) -> frozenset[str]:
        """Items bought since training: never recommended back."""
        return frozenset(item for code, item in self.events if code == PURCHASE)

    def __bool__(self) -> bool:
        return bool(self.events)


EMPTY = Live()
