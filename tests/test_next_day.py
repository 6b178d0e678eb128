"""The next-day task of live events (training/evaluation/next_day.py) on a shop whose answer is known."""

import dataclasses

import numpy as np

from recsvc.contract import keys
from tests.test_candidates import DAY, NOW, dataset_for, make_events
from training.config import TrainConfig
from training.evaluation import next_day, split
from training.evaluation.served import ServedModel
from training.private_redis import private_redis

ROWS = [
    # (days ago, user, item, event); the cut is 5 days ago, its first day ends 4 days ago
    *[(10, f"p{n}", "best", "purchase") for n in range(6)],
    (10, "known", "a0", "purchase"),
    (4.5, "known", "a1", "view"),  # back on the first day
    (2, "known", "a1", "purchase"),
    (1, "known", "a0", "purchase"),  # bought before: not a new purchase
    (1, "known", "b0", "view"),
    (10, "away", "a0", "purchase"),
    (2, "away", "a1", "purchase"),  # not back on the first day
    (4.5, "newcomer", "a1", "view"),  # no history before the cut
    (2, "newcomer", "a1", "purchase"),
    (10, "buyer", "a0", "view"),
    (4.5, "buyer", "a2", "purchase"),  # bought on the first day ...
    (2, "buyer", "a2", "purchase"),  # ... so buying it again is not new
    (1, "buyer", "a3", "view"),
]


def case():
    data = dataset_for(make_events(ROWS))
    return data, split.split(data.events, NOW - 5 * DAY)


def named(data, task) -> dict[str, list[str]]:
    users, items = data.events.user_ids, data.item_ids
    return {str(users[u]): sorted(str(items[i]) for i in rel) for u, rel in zip(task.users, task.relevant)}


def test_the_tasks_are_the_known_customers_back_on_the_first_day():
    data, s = case()
    nd = next_day.next_day(s, len(data.item_ids))
    assert sorted(str(data.events.user_ids[u]) for u in np.unique(nd.day.user)) == ["buyer", "known"]
    assert named(data, nd.tasks["next_day_purchase"]) == {"known": ["a1"]}
    assert named(data, nd.tasks["next_day_any"]) == {"buyer": ["a3"], "known": ["a1", "b0"]}


def test_the_day_is_posted_through_the_events_path_and_forgotten_after():
    data, s = case()
    nd = next_day.next_day(s, len(data.item_ids))
    with private_redis() as r:
        model = ServedModel(r, dataclasses.replace(data, events=s.train), TrainConfig(factors=4, iterations=3))
        ranked = next_day.ranked(r, model, nd, 5, "served", shares=(1.0,))
        assert not r.exists(keys.live("known"), keys.live("buyer"), keys.EVENTS_STREAM)
    assert set(ranked["next_day_any"]) == {next_day.STORED, "served", "live_1"}
    a1 = list(data.item_ids).index("a1")
    known = 1  # known's row in next_day_any (users in code order: buyer, known)
    assert ranked["next_day_any"]["live_1"][known][0] == a1  # viewed on the day: first when today takes it all
    assert a1 in ranked["next_day_any"]["served"][known]
