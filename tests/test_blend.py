"""The blended picks: what the user viewed comes back, what they bought never does."""

import dataclasses

import numpy as np

from tests.test_candidates import block_events, catalogue_for, code, item_names, make_events
from training import interactions, model
from training.config import TrainConfig
from training.lists import blend, candidates


def fitted(events, config):
    inter = interactions.build(events, config)
    factors = model.fit(inter.strength, config)
    catalogue, _ = catalogue_for(events)
    pool = candidates.candidate_pool(inter, factors, catalogue, 100)
    return inter, factors, pool, catalogue


def test_without_the_other_parts_the_blend_is_the_plain_als_picks():
    events = block_events()
    config = TrainConfig(factors=2, iterations=10, blend_knn=0, blend_history=0, blend_popularity=0)
    inter, factors, pool, catalogue = fitted(events, config)
    picks, because = blend.blended_picks(inter, factors, pool, catalogue, config)
    plain, plain_because = candidates.user_picks(inter, factors, pool, config.picks_per_user)
    assert np.array_equal(picks.values, plain.values) and np.array_equal(because, plain_because)


def test_viewed_items_come_back_first_and_bought_items_never():
    rows = [(5, f"u{u}", f"i{i}", "view") for u in range(12) for i in range(4) if (u + i) % 4]
    rows += [(1, "u0", "i1", "view"), (1, "u0", "i1", "view"), (1, "u0", "i2", "purchase")]
    rows += [(1, "solo", "i3", "view")]  # one item: not fitted, still gets picks
    events = make_events(rows)
    config = TrainConfig(factors=2, iterations=10, picks_min_items=1)
    inter, factors, pool, catalogue = fitted(events, config)
    picks, because = blend.blended_picks(inter, factors, pool, catalogue, config)
    u0 = item_names(events, picks, list(events.user_ids).index("u0"))
    assert u0[0] == "i1"  # viewed most, not bought
    assert "i2" not in u0
    solo = list(events.user_ids).index("solo")
    assert item_names(events, picks, solo)[0] == "i3"
    assert len(because) == len(picks.values)
    # with picks for users of three items or more, the solo viewer is left to the service's item lists
    lighter = dataclasses.replace(config, picks_min_items=3)
    assert blend.blended_picks(inter, factors, pool, catalogue, lighter)[0].lengths()[solo] == 0


def test_item_knn_adds_the_neighbours_of_the_history():
    events = block_events()
    config = dataclasses.replace(
        TrainConfig(factors=2, iterations=10), blend_history=0, blend_als=0, blend_popularity=0
    )
    inter, factors, pool, catalogue = fitted(events, config)
    picks, _ = blend.blended_picks(inter, factors, pool, catalogue, config)
    # u00 viewed a1..a4 of block a: the neighbours of its history are a-items only
    assert {n[0] for n in item_names(events, picks, 0)} == {"a"}
    assert code(events, "a0") in picks.row(0)[0]
