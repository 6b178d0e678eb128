"""The learned also-bought order: its candidates' features, its lists, and when the window lets it serve."""

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from training.config import TrainConfig
from training.inputs import dataset
from training.inputs.dataset import Inputs
from training.lists import also_bought_order, also_ranker, complements, holdout
from training.lists.also_ranker import FEATURES, NEXT_CANDIDATES, PairEvidence
from training.samples import shapes


def evidence(n_items: int = 6) -> PairEvidence:
    """Item 0's neighbours: 1 (0.9), 2 (0.3); its buyers bought 3 next (4 of its 8 buyers) and 1 (1 buyer)."""
    neighbours = sp.csr_matrix(
        (np.array([0.9, 0.3, 0.5]), (np.array([0, 0, 1]), np.array([1, 2, 0]))), shape=(n_items, n_items)
    )
    together = sp.csr_matrix((np.array([4.0, 1.0]), (np.array([0, 0]), np.array([3, 1]))), shape=(n_items, n_items))
    buyers = np.array([8.0, 2.0, 1.0, 4.0, 1.0, 1.0])
    return PairEvidence(neighbours, together, buyers, np.array([0, 0, 1, 1, 1, -1], np.int32))


def test_an_items_candidates_are_its_neighbours_and_what_its_buyers_bought_next_with_their_figures():
    rows, items, features = evidence().candidates(np.array([0]))
    assert rows.tolist() == [0, 0, 0] and items.tolist() == [1, 2, 3]
    f = {name: features[:, n].tolist() for n, name in enumerate(FEATURES)}
    assert np.allclose(f["knn"], [0.9, 0.3, 0.0])
    assert np.allclose(f["knn_scaled"], [1.0, 0.3 / 0.9, 0.0])
    assert f["knn_rank"] == [0, 1, also_ranker.ABSENT_RANK]
    assert f["next_buyers"] == [1, 0, 4]
    assert np.allclose(f["next_cosine"], [1 / np.sqrt(8 * 2), 0.0, 4 / np.sqrt(8 * 4)])
    assert np.allclose(f["next_share"], [1 / 8, 0.0, 4 / 8])
    assert f["next_rank"] == [1, also_ranker.ABSENT_RANK, 0]
    assert f["same_category"] == [1, 0, 0]
    assert np.allclose(f["buyers_of_item"], np.log1p([2, 1, 4])) and np.allclose(f["buyers_of_subject"], np.log1p(8))


def test_only_the_most_bought_next_items_join_the_candidates():
    n_items = NEXT_CANDIDATES + 10
    together = sp.csr_matrix(
        (np.arange(1, n_items, dtype=float), (np.zeros(n_items - 1, int), np.arange(1, n_items))),
        shape=(n_items, n_items),
    )
    found = PairEvidence(sp.csr_matrix((n_items, n_items)), together, np.ones(n_items), np.zeros(n_items, np.int32))
    _, items, _ = found.candidates(np.array([0]))
    assert sorted(items.tolist()) == list(range(n_items - NEXT_CANDIDATES, n_items))  # the most buyers in common


class ByBuyersInCommon:
    """A model that ranks by buyers in common, then by item-kNN score: its lists' order is known."""

    def predict(self, features, num_threads=1):
        return 10 * features[:, FEATURES.index("next_buyers")] + features[:, FEATURES.index("knn")]


def test_learned_lists_are_in_the_models_order_and_say_which_entries_were_bought_together():
    lists = also_ranker.also_bought_learned(ByBuyersInCommon(), evidence(), k=2)
    items, scores = lists.row(0)
    assert items.tolist() == [3, 1]  # 4 buyers in common, then 1 (and the higher kNN score): 2 is cut
    assert (scores > 0).all()  # both bought together with item 0
    items, scores = lists.row(1)
    assert items.tolist() == [0] and scores[0] < 0  # a neighbour never bought with it: viewed together
    assert lists.lengths()[2:].tolist() == [0, 0, 0, 0]


def test_a_learned_order_serves_only_through_the_guard_and_its_lists_keep_the_rules(tmp_path):
    shop = shapes.write(tmp_path, shapes.shape_with("complements_strong", users=2_000))
    data = dataset.read(Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
    config = TrainConfig(also_bought_min_subjects=10)
    hold = holdout.of(data.events, len(data.item_ids), config)
    report = also_ranker.choose(hold, data.catalogue, config)
    assert report.kind in ("validated", "learned"), report.why
    assert "learned (cross-validated)" in report.holdout_ndcg10 and "model" not in report.to_dict()
    if report.kind == "learned":  # it passed the guard: as good as the fixed order, the strongest pairs kept
        kept = report.guard["strong_pairs_kept@10"]
        assert kept["fixed"] is None or kept["learned"] >= kept["fixed"]
    together = complements.Together.of(data.events, len(data.item_ids), config)
    window = also_bought_order.chosen_on_window(hold, data.catalogue, config)[1]
    assert window is not None
    evidence = PairEvidence.of(window.together, hold.neighbours, data.catalogue)
    rows, items, features = evidence.candidates(window.task.subjects)
    labels = np.asarray(window.task.gains[rows, items]).ravel() > 0
    model = report.model or also_ranker._booster(features, labels, rows)
    # any item-kNN of the shop serves to check the lists' shape
    lists = also_ranker.also_bought_learned(
        model, PairEvidence.of(together, hold.neighbours, data.catalogue, together.evidenced(config)), 10
    )
    assert lists.rows == len(data.item_ids) and lists.lengths().max() <= 10
    rows = np.repeat(np.arange(lists.rows), lists.lengths())
    assert not (lists.values == rows).any()  # never the item itself
    assert data.catalogue.available[lists.values].all()
    shown = lists.scores > 0
    assert together.after[rows[shown], lists.values[shown]].min() >= config.also_bought_min_co_buyers
    unlearned = also_ranker.choose(hold, data.catalogue, replace(config, also_bought_learned=False))
    assert unlearned.kind == "validated" and unlearned == also_bought_order.choose_order(hold, data.catalogue, config)
