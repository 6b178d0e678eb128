"""The picks' candidate generators: each proposes its best items among those the user has not bought."""

import random

import numpy as np
import pytest

from tests.test_candidates import catalogue_for, make_events
from training import interactions, model
from training.config import TrainConfig
from training.lists import candidates
from training.lists.generators import ALS_MARGIN, Generators


def regulars_shop():
    """A grocer: 40 items, the first 12 staples nearly everyone buys; user "regular" bought all 12 staples and
    8 more. Every generator ranks the staples first for them; none may be proposed."""
    rng = random.Random(7)
    items = [f"i{n:02d}" for n in range(40)]
    rows = []
    for u in range(120):
        user = f"u{u:03d}"
        for item in items[:12]:
            if rng.random() < 0.8:
                rows.append((rng.uniform(1, 60), user, item, "purchase"))
        for item in rng.sample(items[12:], 4):
            rows.append((rng.uniform(1, 60), user, item, "purchase"))
    rows += [(rng.uniform(1, 60), "regular", item, "purchase") for item in items[:20]]
    return make_events(rows)


@pytest.mark.parametrize("name", ["als", "knn", "ease", "popular"])
def test_a_regular_gets_a_full_set_of_candidates_none_of_them_bought(name):
    # regression: the generators took their top items first and dropped the bought ones after, so a grocer's
    # regulars were left with few candidates of each (Instacart: EASE alone ranked below the EASE baseline)
    events = regulars_shop()
    config = TrainConfig(factors=8, iterations=5, ease_items=40)
    inter = interactions.build(events, config)
    factors = model.fit(inter.strength, config)
    catalogue, _ = catalogue_for(events)
    pool = candidates.candidate_pool(inter, factors, catalogue, 40)
    gens = Generators(inter, factors, pool, catalogue, per_generator=5, knn_neighbours=20, popular=5, ease_items=40)
    user = list(events.user_ids).index("regular")
    proposed = gens.all(np.array([user]))[name]
    bought = set(inter.purchases[user].indices)
    if name == "als":  # its items with a positive score, up to ALS_MARGIN more than the others
        assert 5 <= proposed.nnz <= 5 + ALS_MARGIN
    else:
        assert proposed.nnz == 5
    assert not set(proposed.indices) & bought
    assert 0 < proposed.data.max() <= 1
