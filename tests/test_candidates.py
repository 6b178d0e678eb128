"""Known-answer fixtures for the model and each precomputed list."""

from dataclasses import replace

import numpy as np

from training import interactions, model, pipeline, window
from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.inputs.dataset import assemble
from training.inputs.readers import EVENTS, Catalog, Events
from training.lists import candidates, generators
from training.model import Factors

DAY = 86_400
NOW = 1_700_000_000


def make_events(rows, categories=None) -> Events:
    """rows: (days ago, user, item, event name)."""
    users = sorted({r[1] for r in rows})
    items = sorted({r[2] for r in rows})
    return Events(
        timestamp=np.array([NOW - int(r[0] * DAY) for r in rows], np.int64),
        user=np.array([users.index(r[1]) for r in rows], np.int32),
        item=np.array([items.index(r[2]) for r in rows], np.int32),
        event=np.array([EVENTS.index(r[3]) for r in rows], np.int8),
        quantity=np.ones(len(rows), np.int32),
        user_ids=np.array(users, dtype=object),
        item_ids=np.array(items, dtype=object),
    )


def catalogue_for(events, category_of=None, parents=(), unavailable=()):
    """CodedCatalog with categories by item id; parents as (child, parent) codes over sorted category names."""
    category_of = category_of or {}
    names = sorted(set(category_of.values()) | {p for pair in parents for p in pair})
    parent = np.full(len(names), -1, np.int32)
    for child, par in parents:
        parent[names.index(child)] = names.index(par)
    cats = np.array([names.index(category_of[i]) if i in category_of else -1 for i in events.item_ids], np.int32)
    available = np.array([i not in unavailable for i in events.item_ids])
    return CodedCatalog(category=cats, available=available, category_parent=parent), names


def dataset_for(events, category_of=None, unavailable=()):
    """The events as a training dataset, with categories by item id and unavailable items."""
    category_of = category_of or {}
    items = {i: {"category_id": category_of.get(i), "available": i not in unavailable} for i in events.item_ids}
    return assemble(events, Catalog(items), {})


def als_picks(events, inter, factors, pool, config):
    """The served picks in ALS order (``picks_ranker="als"``) and the reason code of each."""
    neighbours = generators.item_neighbours(inter.strength, config.neighbours_per_item)
    data = dataset_for(events)
    config = replace(config, picks_ranker="als")
    order, _ = window.picks_order(data, config, None)
    scorer = pipeline.Scorer.of(data, inter, factors, pool, neighbours, order, config)
    return scorer.picks(pipeline.active_users(inter, config))


def item_names(events, ragged, row):
    values, _ = ragged.row(row)
    return [events.item_ids[v] for v in values]


def code(events, item):
    return list(events.item_ids).index(item)


def block_events():
    """Two tastes: users 0-19 view a0..a4, users 20-39 view b0..b4, each missing one item."""
    rows = []
    for u in range(40):
        group = "a" if u < 20 else "b"
        for i in range(5):
            if i != u % 5:
                rows.append((1, f"u{u:02d}", f"{group}{i}", "view"))
    return make_events(rows)


def test_als_learns_the_blocks_similar_items_and_picks():
    events = block_events()
    config = TrainConfig(factors=2, iterations=15, regularization=0.01, min_user_items=2)
    inter = interactions.build(events, config)
    factors = model.fit(inter.strength, config)
    catalogue, _ = catalogue_for(events)
    pool = candidates.candidate_pool(inter, factors, catalogue, 100)
    similar = candidates.similar_items(factors, pool, 3)
    for item in ("a0", "b2"):
        assert {n[0] for n in item_names(events, similar, code(events, item))} == {item[0]}
    picks, because = als_picks(events, inter, factors, pool, config)
    # user u00 never saw a0: it is their top pick, explained by an item of their own block
    assert item_names(events, picks, 0)[0] == "a0"
    assert events.item_ids[because[picks.indptr[0]]].startswith("a")


def test_picks_leave_out_what_the_user_bought():
    rows = [(1, f"u{u}", f"i{i}", "view") for u in range(10) for i in range(4)]
    rows += [(0, "u0", "i0", "purchase"), (0, "u0", "i1", "purchase")]
    events = make_events(rows)
    config = TrainConfig(factors=2, iterations=5)
    inter = interactions.build(events, config)
    factors = model.fit(inter.strength, config)
    catalogue, _ = catalogue_for(events)
    picks, _ = als_picks(events, inter, factors, candidates.candidate_pool(inter, factors, catalogue, 10), config)
    assert set(item_names(events, picks, 0)) == {"i2", "i3"}
    assert set(item_names(events, picks, 1)) == {"i0", "i1", "i2", "i3"}  # views are not purchases


def test_popular_counts_recent_activity_more_and_rolls_up_categories():
    rows = [(200, f"o{u}", "old", "view") for u in range(10)]
    rows += [(1, f"n{u}", "new", "view") for u in range(10)]
    rows += [(1, "n0", "bought", "purchase")]  # one purchase weighs as much as several views
    events = make_events(rows)
    inter = interactions.build(events, TrainConfig(popular_half_life_days=14))
    catalogue, names = catalogue_for(
        events, {"old": "leaf-a", "new": "leaf-a", "bought": "leaf-b"}, parents=[("leaf-a", "root"), ("leaf-b", "root")]
    )
    overall, per_category = candidates.popular(inter, catalogue, 10)
    assert item_names(events, overall, 0) == ["new", "bought", "old"]
    assert item_names(events, per_category, names.index("root")) == ["new", "bought", "old"]
    assert item_names(events, per_category, names.index("leaf-b")) == ["bought"]


def test_category_offers_put_viewed_not_bought_first():
    rows = [
        (1, "u", "lamp", "view"),
        (1, "u", "lamp", "view"),
        (1, "u", "sofa", "purchase"),
        (1, "u", "sofa", "view"),
        (1, "u", "book", "view"),
    ]
    rows += [(1, "v", "book", "purchase")]
    events = make_events(rows)
    inter = interactions.build(events, TrainConfig())
    catalogue, names = catalogue_for(events, {"lamp": "lights", "sofa": "furniture", "book": "books"})
    empty = candidates.Ragged.empty(len(events.user_ids))
    offers, reasons = candidates.category_offers(inter.strength, inter.purchases, empty, catalogue, 5)
    u = list(events.user_ids).index("u")
    cats = [names[c] for c in offers.row(u)[0]]
    lo, hi = offers.indptr[u], offers.indptr[u + 1]
    # lights (two views) before books (one view), both never bought; furniture was bought: affinity
    assert cats == ["lights", "books", "furniture"]
    assert reasons[lo:hi].tolist() == [0, 0, 1]


def test_recent_and_bought_lists_are_newest_first_and_distinct():
    rows = [
        (3, "u", "a", "view"),
        (1, "u", "b", "view"),
        (2, "u", "a", "view"),
        (0, "u", "c", "purchase"),
        (5, "u", "d", "purchase"),
        (4, "u", "d", "purchase"),
    ]
    events = make_events(rows)
    inter = interactions.build(events, TrainConfig())
    assert item_names(events, inter.recent, 0) == ["b", "a"]
    assert item_names(events, inter.bought, 0) == ["c", "d"]
    assert inter.purchases[0, code(events, "d")] == 2


def test_membership_includes_every_ancestor():
    events = make_events([(0, "u", "x", "view")])
    catalogue, names = catalogue_for(events, {"x": "leaf"}, parents=[("leaf", "mid"), ("mid", "top")])
    member = catalogue.membership().toarray()[0]
    assert {names[c] for c in np.flatnonzero(member)} == {"leaf", "mid", "top"}


def test_users_below_the_picks_threshold_get_no_precomputed_picks():
    rows = [(1, f"u{u}", f"i{i}", "view") for u in range(10) for i in range(4)]
    rows += [(1, "light", "i0", "view"), (1, "light", "i1", "view")]
    events = make_events(rows)
    config = TrainConfig(factors=2, iterations=5, min_user_items=2)
    inter = interactions.build(events, config)
    factors = model.fit(inter.strength, config)
    catalogue, _ = catalogue_for(events)
    pool = candidates.candidate_pool(inter, factors, catalogue, 10)
    light = list(events.user_ids).index("light")
    assert light in factors.users  # fitted: its items help the item factors
    picks, _ = als_picks(events, inter, factors, pool, replace(config, picks_min_items=3))
    assert picks.lengths()[light] == 0 and picks.lengths()[list(events.user_ids).index("u0")] > 0


def test_top_per_row_of_no_rows_is_empty():
    """Regression: a run where no user qualified for picks crashed in rank_in_row."""
    from training.ragged import top_per_row

    empty = top_per_row(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32), 0, 5)
    assert empty.indptr.tolist() == [0] and len(empty.values) == 0


def test_rows_best_first_is_lexsorts_order_ties_and_signed_zeros_included():
    from training.ragged import by_row_best_first

    rng = np.random.default_rng(0)
    special = np.array([0.0, -0.0, 1.0, -1.0, 1e-45, -1e-45, 3.4e38, -np.inf, np.inf, 0.5, 0.5], np.float32)
    for scores in (rng.standard_normal(5_000).astype(np.float32), rng.choice(special, 5_000)):
        for row_of in (rng.integers(0, 40, 5_000), np.sort(rng.integers(0, 40, 5_000))):
            assert np.array_equal(by_row_best_first(row_of, scores), np.lexsort((-scores, row_of)))
    with_nan = np.array([1.0, np.nan, 2.0], np.float32)
    assert np.array_equal(by_row_best_first(np.zeros(3, np.int64), with_nan), [2, 0, 1])  # NaN last, as lexsort


def test_a_history_built_without_its_latest_lists_weighs_the_same():
    events = block_events()
    config = TrainConfig()
    full, bare = interactions.build(events, config), interactions.build(events, config, latest=False)
    assert (full.strength != bare.strength).nnz == 0
    assert np.array_equal(full.popularity, bare.popularity)
    assert bare.recent.values.size == 0 and bare.bought.values.size == 0 and bare.recent.rows == full.recent.rows


def test_similar_items_computed_a_few_items_at_a_time_are_the_same_lists(monkeypatch):
    rng = np.random.default_rng(1)
    item_factors = rng.standard_normal((40, 4)).astype(np.float32)
    item_factors[[3, 17]] = 0.0  # items no fitted user touched: no list
    factors = Factors(np.arange(2), np.zeros((2, 4), np.float32), item_factors)
    pool = np.arange(0, 40, 2)
    whole = candidates.similar_items(factors, pool, 5)
    monkeypatch.setattr(candidates, "SIMILAR_BLOCK", 7)
    blocks = candidates.similar_items(factors, pool, 5)
    assert whole.lengths()[[3, 17]].tolist() == [0, 0] and whole.lengths().max() == 5
    assert np.array_equal(whole.indptr, blocks.indptr) and np.array_equal(whole.values, blocks.values)
    assert np.array_equal(whole.scores, blocks.scores)
    unit = item_factors / np.maximum(np.linalg.norm(item_factors, axis=1, keepdims=True), 1e-12)
    cosine = unit[8] @ unit[pool].T
    cosine[pool == 8] = -np.inf  # not its own neighbour
    assert whole.row(8)[0].tolist() == pool[np.argsort(-cosine)[:5]].tolist()


def test_the_window_choices_are_the_same_beside_the_fit_or_after_it(monkeypatch):
    from training import window

    data = dataset_for(block_events())
    config = replace(TrainConfig(), picks_ranker="blend")
    beside = window.beside(lambda: "fit", data, config)
    monkeypatch.setattr(window, "BESIDE_MAX_EVENTS", 0)
    after = window.beside(lambda: "fit", data, config)
    assert beside[0] == after[0] == "fit"
    assert beside[1][0].new_items == after[1][0].new_items and beside[1][0].ranker == after[1][0].ranker
