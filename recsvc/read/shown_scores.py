"""The scores answers show, for many items at once: ``round(score, 4)`` as arrays, to the bit."""

import numpy as np

DIGITS = 4
SCALE = 10.0**DIGITS
SAFE_BELOW = 2.0**40
"""Below this, a score times ``SCALE`` is off the exact product by at most 2^-13, so only a product that close to a
half decides differently from ``round``; those and larger ones are rounded by ``round`` itself."""
NEAR_HALF = 1e-3


def rounded(scores: np.ndarray) -> np.ndarray:
    """``round(score, 4)`` of each score (taken as float64), as Python rounds: the nearest decimal of 4 places, ties
    to even, then the nearest double to it (a division of the integer by 10^4 is exactly that)."""
    flat = np.asarray(scores, np.float64).ravel()
    scaled = flat * SCALE
    out = np.rint(scaled) / SCALE
    with np.errstate(invalid="ignore"):
        doubtful = ~(np.abs(scaled) < SAFE_BELOW) | (np.abs(scaled - np.floor(scaled) - 0.5) <= NEAR_HALF)
    where = np.flatnonzero(doubtful)
    if where.size:
        out[where] = [round(score, DIGITS) for score in flat[where].tolist()]
    return out.reshape(scores.shape)


def boosted(scores: np.ndarray, factors: np.ndarray, boosted: np.ndarray) -> np.ndarray:
    """``listing.boosted_score`` of each score: rounded, then where ``boosted`` times its factor, rounded again."""
    shown = rounded(scores)
    where = np.flatnonzero(boosted)
    shown[where] = rounded(shown[where] * factors[where])
    return shown
