"""The learned order of the picks, their reasons, and re-offered views, on shops whose right answers are known."""

import random
from pathlib import Path

import numpy as np
import pytest

from recsvc import create_app
from tests.gateways import model_store
from tests.shop import write_csv
from training.lists import ranker
from training.train import Inputs, train

DAY = 86_400
NOW = 1_700_000_000


def write(folder: Path, events: list[tuple], items: dict[str, str]) -> Inputs:
    """Events (days ago, user, item, event) and a catalog of item -> category, as contract files."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = sorted((NOW - int(days * DAY), user, item, event) for days, user, item, event in events)
    write_csv(folder / "events.csv", ["timestamp", "user_id", "item_id", "event"], rows)
    write_csv(folder / "catalog.csv", ["item_id", "category_id", "title"], [(i, c, i) for i, c in items.items()])
    return Inputs(events=folder / "events.csv", catalog=folder / "catalog.csv")


def noisy_views_shop(seed: int = 3) -> tuple[list[tuple], dict[str, str]]:
    """Each user buys within their own group of items; their many views are of random other items and
    never lead to a purchase. The fixed blend re-offers views first; the shop's own history says not to."""
    rng = random.Random(seed)
    groups = {g: [f"g{g}-{i}" for i in range(8)] for g in range(6)}
    noise = [f"noise-{i}" for i in range(80)]
    items = {i: f"group-{g}" for g, members in groups.items() for i in members} | {i: "noise" for i in noise}
    events = []
    for u in range(700):
        user, group = f"u{u:03d}", groups[u % 6]
        bought = rng.sample(group, 5)
        for n, item in enumerate(bought):
            events.append((60 - n * 12 - rng.random() * 5, user, item, "purchase"))
        for item in rng.sample(noise, 6):
            events.append((rng.uniform(0, 60), user, item, "view"))
    return events, items


def two_worlds_shop(seed: int = 5) -> tuple[list[tuple], dict[str, str]]:
    """Pet owners and coffee drinkers; three customers do both, once."""
    rng = random.Random(seed)
    pets = [f"pet-{i}" for i in range(10)]
    coffee = [f"coffee-{i}" for i in range(10)]
    items = {i: "pets" for i in pets} | {i: "coffee" for i in coffee}
    events = []
    for u in range(300):
        world = pets if u % 2 else coffee
        for item in rng.sample(world, 4):
            events.append((rng.uniform(1, 60), f"c{u:03d}", item, rng.choice(("view", "purchase"))))
    for u in range(3):
        events.append((10, f"c{u:03d}", "pet-0", "purchase"))
    return events, items


@pytest.fixture
def answers_of(r):
    """GET a path of the service on the test Redis, as JSON."""
    client = create_app({"TESTING": True, "METRICS": False, "API_KEYS": "k"}, store=model_store(r)).test_client()
    return lambda path, **headers: client.get(
        path, headers={"X-API-Key": "k", **headers}
    ).get_json()  # as emails see it


def test_the_shops_own_window_overrules_the_blend_where_views_do_not_lead_to_purchases(r, tmp_path, answers_of):
    events, items = noisy_views_shop()
    result = train(r, write(tmp_path, events, items))
    order = result.summary["picks_order"]
    held_out = order["holdout_ndcg@10"]
    # item-kNN alone is as good here (within noise): the learned order stays
    assert order["kind"] == "learned", order
    assert held_out["learned"] > held_out["blend"] + 0.1
    assert held_out["learned"] + held_out["difference_95ci"] >= max(held_out[k] for k in ("als", "knn", "ease"))
    picks = answers_of("/v1/users/u000/recommendations?limit=5&include_viewed=true")["items"]
    bought = {item for _, user, item, event in events if user == "u000" and event == "purchase"}
    # the three items of the user's group they did not buy come first; the blend would put views first
    assert {p["item_id"] for p in picks[:3]} == {i for i in items if items[i] == "group-0"} - bought


def test_too_few_labelled_users_fall_back_to_the_blend_and_say_so(shop_model):
    order = shop_model.summary["picks_order"]
    assert order["kind"] == "blend"
    assert "needs" in order["why"] or "did not beat" in order["why"]


def test_no_reason_crosses_unrelated_worlds(r, tmp_path, answers_of):
    events, items = two_worlds_shop()
    train(r, write(tmp_path, events, items))
    named = 0
    for u in range(300):
        for pick in answers_of(f"/v1/users/c{u:03d}/recommendations?limit=10")["items"]:
            cause = pick["reason"].get("item_id")
            if cause is not None:
                named += 1
                assert items[cause] == items[pick["item_id"]], (u, pick)
    assert named > 100  # reasons are given, just never across worlds


def test_re_offered_views_take_at_most_the_share_unless_asked(r, tmp_path, answers_of):
    events, items = two_worlds_shop()
    viewer = [(0.5, "viewer", f"coffee-{i}", "view") for i in range(8)]
    viewer += [(3, "viewer", "coffee-8", "purchase"), (3, "viewer", "coffee-9", "purchase")]
    train(r, write(tmp_path, events + viewer, items))

    def viewed(query: str) -> int:
        body = answers_of(f"/v1/users/viewer/recommendations?limit=10{query}")
        return sum(p["reason"]["type"] == "recently_viewed" for p in body["items"])

    assert viewed("") <= 3  # 30% of 10
    assert viewed("&include_viewed=false") == 0
    assert viewed("&include_viewed=true") > viewed("")
    assert answers_of("/v1/users/viewer/recently-viewed", **{"X-API-Key": ""})["error"]["code"] == "unauthenticated"
    again = answers_of("/v1/users/viewer/recently-viewed?limit=20", **{"X-API-Key": "k"})
    assert again["source"] == "personalized"
    ids = [p["item_id"] for p in again["items"] if p["reason"]["type"] == "recently_viewed"]
    assert set(ids) == {f"coffee-{i}" for i in range(8)}
    assert answers_of("/v1/users/viewer/recommendations?include_viewed=maybe")["error"]["code"] == "invalid_argument"


def test_a_fixed_order_that_scores_as_high_on_the_window_ranks_even_within_noise():
    # regression: EASE alone ranked below the learned order on the Instacart window only "within noise", so
    # the learned order stayed, and lost to EASE by 0.010 NDCG@10 on the evaluation's split
    rng = np.random.default_rng(0)
    ease = rng.uniform(0, 1, 200)
    fixed = {"blend": ease - 0.2, "als": ease - 0.3, "knn": ease - 0.1, "ease": ease}
    assert ranker.best_fixed(fixed) == "ease"
    noise = rng.normal(0, 0.3, 200)
    behind = ease + noise - noise.mean() - 0.01  # 0.01 behind EASE, the 95% interval of the gap about ± 0.04
    assert not ranker.learned_ranks(behind, fixed)
    assert not ranker.learned_ranks(ease, fixed)  # a tie goes to the fixed order
    assert ranker.learned_ranks(ease + 0.001, fixed)
    assert ranker.best_fixed({"blend": ease, "knn": ease}) == "blend"
