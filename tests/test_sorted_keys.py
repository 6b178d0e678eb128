"""Sets of integer keys by sorting agree with numpy's own set functions."""

import numpy as np

from training import sorted_keys


def test_unique_and_member_agree_with_numpy():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**40, 5_000)
    keys = np.r_[keys, keys[:1_000]]  # duplicates
    wanted = np.r_[rng.integers(0, 2**40, 1_000), keys[::7]]
    distinct = sorted_keys.unique(keys)
    assert np.array_equal(distinct, np.unique(keys))
    assert np.array_equal(sorted_keys.member(wanted, distinct), np.isin(wanted, keys))
    assert not sorted_keys.member(np.array([1, 2]), np.zeros(0, np.int64)).any()
    assert len(sorted_keys.unique(np.zeros(0, np.int64))) == 0
