"""A time split of events: train on everything before a cutoff, test on what came after.

Both halves keep the full user and item code spaces, so a code means the same user or
item in each; nothing at or after the cutoff is in the train half.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timezone

import numpy as np

from recsvc.contract.units import DAY
from training.inputs.readers import Events


@dataclass
class Split:
    """The two halves of a time split and where it was cut (unix seconds)."""

    train: Events
    test: Events
    cutoff: int

    def describe(self) -> dict:
        return {
            "cutoff": datetime.fromtimestamp(self.cutoff, timezone.utc).isoformat(timespec="seconds"),
            "train_events": len(self.train),
            "test_events": len(self.test),
        }


def cutoff_of(
    events: Events, *, date: str | None = None, days: float | None = None, fraction: float | None = None
) -> int:
    """The cutoff time from exactly one of: an ISO date, the last N days, or the newest fraction of events."""
    given = [x is not None for x in (date, days, fraction)]
    if sum(given) != 1:
        raise ValueError("give exactly one of a split date, a number of days or a fraction")
    if date is not None:
        moment = datetime.fromisoformat(date)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return int(moment.timestamp())
    if days is not None:
        if days <= 0:
            raise ValueError("the split days must be positive")
        return int(events.timestamp.max() - days * DAY) + 1
    assert fraction is not None
    if not 0 < fraction < 1:
        raise ValueError("the split fraction must be between 0 and 1")
    ordered = np.sort(events.timestamp)
    return int(ordered[int(len(ordered) * (1 - fraction))])


def split(events: Events, cutoff: int) -> Split:
    """Events before the cutoff train; events at or after it test."""
    before = events.timestamp < cutoff
    if not before.any() or before.all():
        raise ValueError("the cutoff leaves one side of the split empty")
    return Split(train=take(events, before), test=take(events, ~before), cutoff=int(cutoff))


def take(events: Events, mask: np.ndarray) -> Events:
    """The events where ``mask`` holds."""
    return replace(
        events,
        timestamp=events.timestamp[mask],
        user=events.user[mask],
        item=events.item[mask],
        event=events.event[mask],
        quantity=events.quantity[mask],
    )


@dataclass
class Task:
    """The users one task is measured on and the items each went on to take."""

    users: np.ndarray
    relevant: list[np.ndarray]


def task_of(keys: np.ndarray, n_items: int) -> Task:
    """The task of sorted unique ``user * n_items + item`` keys: each user once, with their items."""
    users, items = keys // n_items, keys % n_items
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(users) else np.zeros(0, np.int64)
    return Task(users=users[starts], relevant=np.split(items, starts[1:]) if len(starts) else [])
