"""Train on the shared real data sets with their presets; every answer keeps the contract's rules."""

import random

import pytest
import redis

from recsvc import create_app
from training.inputs.presets import get_preset
from training.inputs.readers import PURCHASE, read_events
from training.train import Inputs, train

DATA_SETS = {
    "taobao": ("taobao_userbehavior_head/UserBehavior_head.csv.gz", None),
    "retailrocket": ("retailrocket/sample_events.csv.gz", "retailrocket/category_tree.csv.gz"),
}
SAMPLE = 40


@pytest.fixture(scope="module", params=sorted(DATA_SETS))
def shared_data_model(request, redis_url, shared_data):
    """Each shared data set trained and published with its preset: (the result, its events, user -> bought items)."""
    events_file, tree = DATA_SETS[request.param]
    inputs = Inputs(
        events=shared_data / events_file, preset=request.param, categories=shared_data / tree if tree else None
    )
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    result = train(r, inputs)
    events, _ = read_events(inputs.events, get_preset(request.param))
    bought: dict[str, set[str]] = {}
    for u, i, e in zip(events.user, events.item, events.event):
        if e == PURCHASE:
            bought.setdefault(events.user_ids[u], set()).add(events.item_ids[i])
    yield result, events, bought
    r.flushdb()


@pytest.mark.slow
def test_answers_on_real_data_keep_every_rule(shared_data_model, redis_url):
    result, events, bought = shared_data_model
    client = create_app({"REDIS_URL": redis_url}).test_client()
    rng = random.Random(0)
    buyers = sorted(bought)
    users = rng.sample(buyers, min(SAMPLE // 2, len(buyers))) + rng.sample(list(events.user_ids), SAMPLE // 2)
    items = rng.sample(list(events.item_ids), SAMPLE)
    answers = [(u, client.get(f"/v1/users/{u}/recommendations?limit=20").json) for u in users]
    answers += [
        (None, client.get(f"/v1/items/{i}/{kind}?limit=20").json) for i in items for kind in ("also-bought", "similar")
    ]
    personalized = 0
    for user, answer in answers:
        found = [x["item_id"] for x in answer["items"]]
        assert answer["model_version"] == result.version
        assert len(found) == 20 and len(set(found)) == 20
        if user is not None:
            assert not set(found) & bought.get(user, set()), user
            personalized += answer["source"] == "personalized"
        else:
            assert answer["item_id"] not in found
    assert personalized == len(users)  # every known user gets their own picks
    if events.item_categories:  # the RetailRocket sample has a tree but no item categories
        assert client.get(f"/v1/users/{users[0]}/category-offers").json["offers"]
