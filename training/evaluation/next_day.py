"""The next-day task of live events: do a known customer's picks follow what they did today?

The customers with history before the cut who come back on its first day have that day's events
posted through the service's own events path (``POST /v1/events``, the Flask app on the same Redis);
their picks are then asked through the read path, as stored (``live_share`` 0: purchases since
training removed, nothing else) and as served (the version's share), and scored on what they go on
to buy (``purchase``) or touch at all (``any``) after that day, without what they had bought by then.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import redis

from recsvc import create_app
from recsvc.contract import keys
from recsvc.contract.events import EVENTS
from recsvc.contract.units import DAY
from training import sorted_keys
from training.evaluation.served import ServedModel
from training.evaluation.split import Split, Task, take, task_of
from training.inputs.readers import PURCHASE, Events

TASKS = {"next_day_purchase": (PURCHASE,), "next_day_any": tuple(range(len(EVENTS)))}
"""What counts after the first day: a purchase, or any event."""
STORED = "stored"
"""The name of the stored picks (no live candidates) beside the served ones."""
POST_BATCH = 1_000
"""Events per ``POST /v1/events`` (its limit)."""
API_KEY = "next-day-evaluation"


@dataclass
class NextDay:
    """The first day's events of the customers who came back on it, and the tasks after that day."""

    day: Events
    tasks: dict[str, Task]


def next_day(s: Split, n_items: int, day_s: float = DAY) -> NextDay:
    """The next-day tasks of a split: users with train history and events in the first ``day_s`` after the cut;
    relevant: the items of each task's events after that, without the items they had bought by then."""
    train, test = s.train, s.test
    known = np.zeros(len(train.user_ids), dtype=bool)
    known[train.user] = True
    first = (test.timestamp < s.cutoff + day_s) & known[test.user]
    active = np.zeros(len(train.user_ids), dtype=bool)
    active[test.user[first]] = True
    day = take(test, first)
    bought = np.r_[train.event == PURCHASE, day.event == PURCHASE]
    owned = sorted_keys.unique(
        np.r_[train.user, day.user].astype(np.int64)[bought] * n_items + np.r_[train.item, day.item][bought]
    )
    later = (test.timestamp >= s.cutoff + day_s) & active[test.user]
    tasks = {}
    for name, codes in TASKS.items():
        mask = later & np.isin(test.event, codes)
        pairs = sorted_keys.unique(test.user[mask].astype(np.int64) * n_items + test.item[mask])
        tasks[name] = task_of(pairs[~sorted_keys.member(pairs, owned)], n_items)
    return NextDay(day=day, tasks=tasks)


def post_day(model: ServedModel, day: Events) -> int:
    """Post the day's events, oldest first, through ``POST /v1/events`` of an app on the model's store; returns
    how many."""
    app = create_app({"TESTING": True, "API_KEYS": API_KEY, "METRICS": False}, store=model.answers.store)
    client = app.test_client()
    order = np.argsort(day.timestamp, kind="stable")
    events = [
        {
            "user_id": str(day.user_ids[u]),
            "item_id": str(model.data.item_ids[i]),
            "event": EVENTS[e],
            "timestamp": int(t),
            "quantity": int(q),
        }
        for u, i, e, t, q in zip(
            day.user[order].tolist(),
            day.item[order].tolist(),
            day.event[order].tolist(),
            day.timestamp[order].tolist(),
            day.quantity[order].tolist(),
        )
    ]
    for start in range(0, len(events), POST_BATCH):
        answer = client.post("/v1/events", json=events[start : start + POST_BATCH], headers={"X-API-Key": API_KEY})
        body = answer.get_json(silent=True) or {}
        if answer.status_code != 200 or body.get("rejected"):
            raise ValueError(f"the events path refused the day's events: {body}")
    return len(events)


def forget_day(r: redis.Redis, user_ids: Sequence[str]) -> None:
    """Delete the posted events (the stream and the users' live lists): later models are asked without them."""
    r.delete(keys.EVENTS_STREAM, *(keys.live(u) for u in user_ids))


def ranked(
    r: redis.Redis, model: ServedModel, nd: NextDay, k: int, name: str, shares: Sequence[float] = ()
) -> dict[str, dict[str, np.ndarray]]:
    """task -> model -> users x k, asked with the day's events posted: the stored picks (``STORED``), the served
    ones (``name``: the version's own share) and, for a sweep, the picks at each of ``shares`` (``live_<share>``)."""
    users = np.unique(np.concatenate([task.users for task in nd.tasks.values()]))
    out: dict[str, dict[str, np.ndarray]] = {name: {} for name in nd.tasks}
    if not len(users):
        return out
    post_day(model, nd.day)
    try:
        asked: dict[str, float | None] = {STORED: 0.0, name: None, **{f"live_{x:g}": x for x in shares}}
        for model_name, share in asked.items():
            rows = dict(zip(users.tolist(), model.picks(users, k, live_share=share)))
            for task_name, task in nd.tasks.items():
                out[task_name][model_name] = np.array([rows[u] for u in task.users.tolist()]).reshape(-1, k)
    finally:
        forget_day(r, [str(model.user_ids[u]) for u in np.unique(nd.day.user).tolist()])
    return out
