"""The time split: nothing at or after the cutoff reaches training."""

import dataclasses

import numpy as np
import pytest

from tests.test_candidates import DAY, NOW, dataset_for, make_events
from training.config import TrainConfig
from training.evaluation import split
from training.evaluation.served import ServedModel
from training.private_redis import private_redis


def shop_rows():
    rows = [(10, f"u{u}", f"i{(u + n) % 6}", "view") for u in range(8) for n in range(3)]
    rows += [(9, f"u{u}", f"i{u % 6}", "purchase") for u in range(8)]
    rows += [(2, f"u{u}", f"i{(u + 4) % 6}", "purchase") for u in range(8)]  # after the cutoff
    return rows


def test_train_is_strictly_before_the_cutoff_and_test_at_or_after_it():
    events = make_events(shop_rows())
    cutoff = NOW - 5 * DAY
    s = split.split(events, cutoff)
    assert (s.train.timestamp < cutoff).all() and (s.test.timestamp >= cutoff).all()
    assert len(s.train) + len(s.test) == len(events)
    assert list(s.train.item_ids) == list(events.item_ids)  # codes mean the same items on both sides


def test_cutoff_by_date_days_and_fraction():
    events = make_events(shop_rows())
    assert split.cutoff_of(events, days=5) == NOW - 7 * DAY + 1  # the newest event is 2 days old
    assert split.cutoff_of(events, date="2023-11-14T22:13:20+00:00") == NOW
    cutoff = split.cutoff_of(events, fraction=0.2)
    assert (events.timestamp >= cutoff).mean() == pytest.approx(8 / 40)  # the 8 late purchases
    with pytest.raises(ValueError):
        split.cutoff_of(events, days=5, fraction=0.2)
    with pytest.raises(ValueError):
        split.cutoff_of(events, fraction=1.5)


def test_a_cutoff_that_leaves_a_side_empty_is_refused():
    with pytest.raises(ValueError):
        split.split(make_events(shop_rows()), NOW + DAY)


def test_what_happens_after_the_cutoff_cannot_change_the_trained_lists():
    events = make_events(shop_rows())
    config = TrainConfig(factors=4, iterations=5)
    s = split.split(events, NOW - 5 * DAY)
    # the same past with a very different future: everyone buys i5 many times
    future = dataclasses.replace(s.test, timestamp=np.full(len(s.test), NOW), item=np.full(len(s.test), 5, np.int32))
    merged = dataclasses.replace(
        events,
        **{
            f: np.concatenate((getattr(s.train, f), getattr(future, f)))
            for f in ("timestamp", "user", "item", "event", "quantity")
        },
    )
    other = split.split(merged, s.cutoff)
    users = np.arange(len(events.user_ids))
    data = dataset_for(events)
    with private_redis() as r:
        first = ServedModel(r, dataclasses.replace(data, events=s.train), config).picks(users, 5)
        second = ServedModel(r, dataclasses.replace(data, events=other.train), config).picks(users, 5)
    assert np.array_equal(first, second)
