"""Fit implicit ALS on the users with enough history."""

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from training.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class Factors:
    """Latent factors; ``users`` maps each fitted row back to its user code."""

    users: np.ndarray  # user codes of the fitted users
    user_factors: np.ndarray  # len(users) x factors
    item_factors: np.ndarray  # items x factors; all zeros for items no fitted user touched

    def item_norms(self) -> np.ndarray:
        return np.linalg.norm(self.item_factors, axis=1)


def fit(strength: sp.csr_matrix, config: TrainConfig, show_progress: bool = False) -> Factors:
    """Fit ALS on the rows of users with at least ``min_user_items`` distinct items."""
    distinct = np.diff(strength.indptr)
    users = np.flatnonzero(distinct >= config.min_user_items)
    if len(users) == 0:
        users = np.flatnonzero(distinct > 0)
    matrix = strength[users].tocsr().astype(np.float32)
    with threadpool_limits(1, "blas"):  # implicit parallelizes itself; BLAS threads would fight it
        model = AlternatingLeastSquares(
            factors=config.factors,
            regularization=config.regularization,
            alpha=config.alpha,
            iterations=config.iterations,
            random_state=config.random_state,
            calculate_training_loss=False,
        )
        model.fit(matrix, show_progress=show_progress)
    item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)
    untouched = np.diff(matrix.tocsc().indptr) == 0
    item_factors[untouched] = 0.0  # an item no fitted user touched keeps its random start: drop it
    log.info("fitted %d users x %d items, %d factors", len(users), matrix.shape[1], config.factors)
    return Factors(
        users=users, user_factors=np.ascontiguousarray(model.user_factors, dtype=np.float32), item_factors=item_factors
    )
