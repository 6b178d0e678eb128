"""The fold-in gives the user vector implicit's own ``recalculate_user`` gives, and scores the pool with it."""

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from recsvc.contract.events import PURCHASE, VIEW
from recsvc.read.foldin import FoldIn

WEIGHTS = np.array([1.0, 4.0, 8.0, 2.0])  # view, addtocart, purchase, wishlist


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    matrix = sp.random(60, 40, density=0.15, random_state=1, format="csr", dtype=np.float32)
    matrix.data[:] = rng.choice([1.0, 8.0], size=matrix.nnz)
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=8, regularization=0.1, alpha=2.0, iterations=5, random_state=3)
        model.fit(matrix, show_progress=False)
    return model


def tables(model, pool=None) -> FoldIn:
    y = np.asarray(model.item_factors, dtype=np.float32)
    pool = np.arange(len(y)) if pool is None else np.asarray(pool)
    ids = [f"i{n}" for n in range(len(y))]
    yty = y.T.astype(np.float64) @ y
    return FoldIn(
        item_ids=ids,
        item_index={i: n for n, i in enumerate(ids)},
        factors=y,
        pool=pool,
        pool_factors=y[pool],
        base=yty + model.regularization * np.eye(y.shape[1]),
        alpha=model.alpha,
        weights=WEIGHTS,
    )


def test_the_user_vector_is_implicits_recalculate_user(fitted):
    events = [(VIEW, 3), (VIEW, 7), (PURCHASE, 7), (VIEW, 12)]  # item 7: viewed and bought, strength 9
    row = sp.csr_matrix((np.array([1.0, 9.0, 1.0], np.float32), ([0, 0, 0], [3, 7, 12])), shape=(1, 40))
    expected = fitted.recalculate_user(0, row)
    assert np.allclose(tables(fitted).user_vector(events), expected, rtol=1e-3, atol=1e-4)


def test_picks_are_the_best_scored_pool_items_explained_by_the_closest_history_item(fitted):
    foldin = tables(fitted, pool=range(0, 40, 2))
    events = [(VIEW, 3), (VIEW, 8)]
    picks = list(foldin.recommend(events, 5))
    x = foldin.user_vector(events)
    scores = foldin.factors[foldin.pool] @ x
    assert [p[0] for p in picks] == foldin.pool[np.argsort(-scores)][: len(picks)].tolist()
    assert all(p[0] % 2 == 0 for p in picks)  # only pool items
    best = picks[0][0]
    closest = max((3, 8), key=lambda h: float(foldin.factors[best] @ foldin.factors[h]))
    assert picks[0][2] == {"type": "because_you_viewed", "item_id": f"i{closest}"}


def test_unknown_items_give_no_picks(fitted):
    foldin = tables(fitted)
    assert foldin.indexed([(VIEW, "i3"), (VIEW, "nope")]) == [(VIEW, 3)]
    assert list(foldin.recommend([], 5)) == []
