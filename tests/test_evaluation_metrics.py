"""Each metric against cases computed by hand."""

import math

import numpy as np
import pytest

from training.evaluation import metrics

# one user, ranked a b c d e (codes 0..4); they went on to take b and e and x (code 9, not ranked)
RANKED = np.array([[0, 1, 2, 3, 4]])
RELEVANT = [np.array([1, 4, 9])]


def at(k):
    return {name: float(v[0]) for name, v in metrics.per_user(RANKED, RELEVANT, k).items()}


def test_precision_and_recall_count_hits_in_the_top_k():
    assert at(5)["precision"] == pytest.approx(2 / 5)
    assert at(5)["recall"] == pytest.approx(2 / 3)
    assert at(1)["precision"] == 0.0
    assert at(2)["precision"] == pytest.approx(1 / 2)
    assert at(2)["recall"] == pytest.approx(1 / 3)


def test_ndcg_discounts_by_rank_and_normalizes_by_the_ideal_list():
    dcg = 1 / math.log2(3) + 1 / math.log2(6)  # hits at ranks 2 and 5
    ideal = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)  # three relevant items, all on top
    assert at(5)["ndcg"] == pytest.approx(dcg / ideal)
    ideal_at_2 = 1 + 1 / math.log2(3)  # only two slots
    assert at(2)["ndcg"] == pytest.approx((1 / math.log2(3)) / ideal_at_2)


def test_map_averages_precision_at_each_hit():
    # hits at ranks 2 (precision 1/2) and 5 (precision 2/5); divided by min(3 relevant, 5)
    assert at(5)["map"] == pytest.approx((1 / 2 + 2 / 5) / 3)
    assert at(2)["map"] == pytest.approx((1 / 2) / 2)


def test_hit_rate_is_whether_anything_was_taken():
    assert at(1)["hit_rate"] == 0.0
    assert at(2)["hit_rate"] == 1.0


def test_a_perfect_list_scores_one_and_padding_never_hits():
    ranked = np.array([[7, 8, -1, -1], [-1, -1, -1, -1]])
    relevant = [np.array([8, 7]), np.array([5])]
    m = metrics.per_user(ranked, relevant, 4)
    assert m["ndcg"].tolist() == pytest.approx([1.0, 0.0])
    assert m["map"].tolist() == pytest.approx([1.0, 0.0])
    assert m["recall"].tolist() == pytest.approx([1.0, 0.0])


def test_hits_belong_to_their_own_user():
    ranked = np.array([[1, 2], [1, 2]])
    relevant = [np.array([2]), np.array([3])]
    assert metrics.hits(ranked, relevant).tolist() == [[False, True], [False, False]]


def test_coverage_is_the_share_of_items_recommended_to_anyone():
    ranked = np.array([[0, 1, 2], [1, 3, -1]])
    assert metrics.coverage(ranked, 2, n_items=10) == pytest.approx(3 / 10)  # 0, 1, 3
    assert metrics.coverage(ranked, 3, n_items=10) == pytest.approx(4 / 10)


def test_summary_averages_over_users_at_each_k():
    ranked = np.array([[1, 0], [0, 1]])
    relevant = [np.array([1]), np.array([1])]
    s = metrics.summary(ranked, relevant, (1, 2), n_items=4)
    assert s["hit_rate@1"] == pytest.approx(0.5)
    assert s["ndcg@2"] == pytest.approx((1 + 1 / math.log2(3)) / 2, abs=1e-5)
    assert s["coverage@1"] == pytest.approx(0.5)
