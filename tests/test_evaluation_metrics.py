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


def test_bootstrap_weights_draw_every_user_slot_once_per_resample_and_repeat_with_the_seed():
    w = metrics.resample_weights(7, resamples=50, seed=3)
    assert w.shape == (50, 7)
    assert (w.sum(axis=1) == 7).all()
    assert (w == metrics.resample_weights(7, resamples=50, seed=3)).all()
    assert not (w == metrics.resample_weights(7, resamples=50, seed=4)).all()


def test_users_all_equal_give_a_zero_width_interval():
    values = {"ndcg@10": np.full(30, 0.25), "recall@10": np.zeros(30)}
    bounds = metrics.intervals(values, metrics.Bootstrap(30))
    assert bounds == {"ndcg@10": [0.25, 0.25], "recall@10": [0.0, 0.0]}


def test_the_interval_contains_the_mean_and_narrows_with_more_users():
    rng = np.random.default_rng(1)
    few, many = rng.random(40), rng.random(4000)
    lo, hi = metrics.interval(few, metrics.Bootstrap(40))
    assert lo < few.mean() < hi
    lo2, hi2 = metrics.interval(many, metrics.Bootstrap(4000))
    assert lo2 < many.mean() < hi2
    assert hi2 - lo2 < (hi - lo) / 5  # about sqrt(100) = 10 times narrower
    # the normal approximation: a 95% interval is about 2 x 1.96 standard errors wide
    assert hi2 - lo2 == pytest.approx(2 * 1.96 * many.std() / math.sqrt(4000), rel=0.15)


def test_a_hit_rate_of_half_over_100_users_has_the_binomial_interval():
    hit = np.r_[np.ones(50), np.zeros(50)]
    lo, hi = metrics.interval(hit, metrics.Bootstrap(100))
    assert lo == pytest.approx(0.4, abs=0.02) and hi == pytest.approx(0.6, abs=0.02)  # 0.5 +- 1.96 * 0.05


def test_a_known_difference_is_detected_and_an_equal_pair_is_within_noise():
    rng = np.random.default_rng(2)
    other = rng.random(500)
    better = other + 0.05 + rng.normal(0, 0.05, 500)
    w = metrics.Bootstrap(500)
    d = metrics.paired(better, other, w)
    assert d["difference"] == pytest.approx(0.05, abs=0.01)
    assert 0 < d["ci"][0] < d["difference"] < d["ci"][1]
    assert not d["within_noise"]
    assert metrics.paired(other, better, w)["difference"] < 0  # the sign: reference minus other
    same = metrics.paired(other, other, w)
    assert same == {"difference": 0.0, "ci": [0.0, 0.0], "within_noise": True}
    noisy = metrics.paired(other, rng.permutation(other), w)  # same mean, different users: noise
    assert noisy["within_noise"]


def test_paired_intervals_are_narrower_than_the_gap_between_two_unpaired_intervals():
    # the same users scored by two models: their difference per user varies much less than each model
    rng = np.random.default_rng(5)
    base = rng.random(200)
    a, b = base + 0.02, base
    w = metrics.Bootstrap(200)
    lo_a, _ = metrics.interval(a, w)
    _, hi_b = metrics.interval(b, w)
    assert lo_a < hi_b  # the two intervals overlap...
    assert not metrics.paired(a, b, w)["within_noise"]  # ...yet the paired difference is clear


def test_no_users_give_empty_intervals():
    w = metrics.Bootstrap(0)
    assert metrics.intervals({"ndcg@10": np.zeros(0)}, w) == {"ndcg@10": [0.0, 0.0]}
    assert metrics.paired(np.zeros(0), np.zeros(0), w)["within_noise"]


def test_chunked_resamples_are_the_same_draws_for_every_call_and_chunk_size():
    rng = np.random.default_rng(7)
    values = rng.random(300)
    boot = metrics.Bootstrap(300)
    assert (boot.means(values) == boot.means(values)).all()  # what pairs two models' resamples
    small = metrics.Bootstrap(300)
    small.chunk = 7  # many chunks: still one fixed set of draws per chunk, each row sums to the users
    assert small.means(values).shape == (metrics.RESAMPLES,)
    assert metrics.interval(values, small) == pytest.approx(metrics.interval(values, boot), abs=0.02)
    assert (small.means(values) == small.means(values)).all()
