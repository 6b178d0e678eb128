"""The evaluation scores the service's own answers: the same lists the HTTP endpoints return."""

import dataclasses

import numpy as np
import pytest

import recsvc.read.user_candidates
from recsvc import create_app
from tests.gateways import model_store
from tests.test_candidates import DAY, NOW, dataset_for, make_events
from training.config import TrainConfig
from training.evaluation import split
from training.evaluation.served import ServedModel
from training.private_redis import private_redis

K = 5


def shop():
    """Heavy users (picks) and light users (one view: served from their history's lists)."""
    rows = []
    for u in range(12):
        group = "a" if u % 2 else "b"
        rows += [(10, f"h{u}", f"{group}{i}", "purchase") for i in range(4) if i != u % 4]
        rows.append((1, f"h{u}", f"{group}{u % 4}", "purchase"))
    for u in range(6):
        rows.append((9, f"l{u}", f"a{u % 4}", "view"))
        rows.append((1, f"l{u}", f"a{(u + 1) % 4}", "purchase"))
    rows += [(8, f"p{n}", "best", "purchase") for n in range(15)]
    events = make_events(rows)
    data = dataset_for(events)
    return data, split.split(data.events, NOW - 5 * DAY)


def answered(r, data, users, item_ids) -> tuple[list[list[int]], list[list[int]]]:
    """What the HTTP API answers: recommendations and also-bought (with user_id), as item codes."""
    code = {item: n for n, item in enumerate(data.item_ids.tolist())}
    client = create_app({"TESTING": True, "METRICS": False, "API_KEYS": "k"}, store=model_store(r)).test_client()
    key = {"X-API-Key": "k"}  # the answers as a key (an email) or the user's token gets them
    picks, also = [], []
    for user, item in zip(users, item_ids):
        body = client.get(f"/v1/users/{user}/recommendations?limit={K}", headers=key).get_json()
        picks.append([code[i["item_id"]] for i in body["items"]])
        body = client.get(f"/v1/items/{item}/also-bought?limit={K}&user_id={user}", headers=key).get_json()
        also.append([code[i["item_id"]] for i in body["items"]])
    return picks, also


def evaluated(r, data, s, users, subjects):
    model = ServedModel(r, dataclasses.replace(data, events=s.train), TrainConfig(factors=4, iterations=5))
    return model.picks(users, K), model.also_bought(subjects, users, K)


def rows(matrix: np.ndarray) -> list[list[int]]:
    return [[int(v) for v in row if v >= 0] for row in matrix]


@pytest.fixture
def case():
    data, s = shop()
    users = np.arange(len(data.events.user_ids))
    subjects = np.full(len(users), data.item_ids.tolist().index("a0"))
    return data, s, users, subjects


def test_evaluated_lists_are_the_http_answers(case):
    data, s, users, subjects = case
    with private_redis() as r:
        picks, also = evaluated(r, data, s, users, subjects)
        http_picks, http_also = answered(r, data, data.events.user_ids[users], data.item_ids[subjects])
    assert rows(picks) == http_picks
    assert rows(also) == http_also
    assert all(len(p) == K for p in http_picks)


def test_a_changed_serving_rule_changes_the_evaluated_lists(case, monkeypatch):
    data, s, users, subjects = case
    with private_redis() as r:
        before, _ = evaluated(r, data, s, users, subjects)
    monkeypatch.setattr(recsvc.read.user_candidates, "LIGHT_HISTORY", 0)  # light users: popular items only
    with private_redis() as r:
        after, _ = evaluated(r, data, s, users, subjects)
        http_after, _ = answered(r, data, data.events.user_ids[users], data.item_ids[subjects])
    light = [n for n, u in enumerate(data.events.user_ids[users]) if u.startswith("l")]
    assert any(rows(before)[n] != rows(after)[n] for n in light)
    assert rows(after) == http_after


def test_the_evaluated_service_measures_time_from_the_datas_now(case):
    """Buy-again's due-ness counts the days since each purchase from the model's "now" (its newest event), as
    ``recsvc train`` publishes it, not from the wall clock of the evaluation."""
    import time

    data, s, _, _ = case
    with private_redis() as r:
        model = ServedModel(r, dataclasses.replace(data, events=s.train), TrainConfig(factors=4, iterations=5))
        store = model.answers.store
        version = store.version()
        assert store.data_time(version, time.time()) == pytest.approx(int(s.train.timestamp.max()), abs=60)
        assert store.summary(version).retention.buy_again_order is not None
