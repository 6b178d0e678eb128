"""Near-copies: the items of X's own category that its buyers buy instead of X, not after it.

Also-bought damps them (``AlsoBoughtOrder.same_category_factor``). Which categories hold near-copies is read
from the shop's own purchases, not assumed: where the buyers of a category's items go on to buy another item
of it no more often than chance (a running shoe, then a shirt, not a second shoe), its items are alternatives
and are damped; where they do beyond chance (a shopper's own department, a grocer's shelf), another item of
the category is what X's buyers go on to buy, and it keeps its score.
"""

import numpy as np
import scipy.sparse as sp

from training.lists.use_tasks import CHANCE_Z


def categories(after: sp.spmatrix, category: np.ndarray, n_categories: int) -> np.ndarray:
    """Per category: whether its items are near-copies of each other. ``after`` (items x items) counts the buyers of
    x who bought y next (``complements.Together.after``). A category's items are near-copies unless the share of
    its buyers' next purchases that stay in it exceeds chance: the share of every next purchase that goes to
    it, plus ``CHANCE_Z`` standard errors over the category's next purchases. With none, they are."""
    a = sp.coo_matrix(after)
    from_c, to_c = category[a.row], category[a.col]
    known = (from_c >= 0) & (to_c >= 0)
    from_c, to_c, count = from_c[known], to_c[known], a.data[known].astype(np.float64)
    leaving = np.bincount(from_c, count, minlength=n_categories)
    stay = from_c == to_c
    staying = np.bincount(from_c[stay], count[stay], minlength=n_categories)
    base = np.bincount(to_c, count, minlength=n_categories) / max(count.sum(), 1.0)
    share = staying / np.maximum(leaving, 1.0)
    chance = base + CHANCE_Z * np.sqrt(base * (1 - base) / np.maximum(leaving, 1.0))
    return ~((leaving > 0) & (share > chance))


def damped(
    x: np.ndarray, y: np.ndarray, values: np.ndarray, category: np.ndarray, near: np.ndarray, factor: float
) -> np.ndarray:
    """The values of item pairs (x, y), those of one category whose items are near-copies (``near``) times
    ``factor``."""
    same = (category[x] == category[y]) & (category[x] >= 0)
    same[same] = near[category[x[same]]]
    return np.where(same, values * factor, values)
