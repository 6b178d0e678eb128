"""The statistics of an A/B test: intervals of rates and means, and whether two arms differ.

Plain Python (the service has no scipy): Wilson score intervals for rates, the pooled two-proportion
z-test for a difference of rates, Welch's t-test (Welch–Satterthwaite degrees of freedom, Student's t
through the regularized incomplete beta function) for a difference of means. Two-sided, at 95%.
"""

import math
from dataclasses import asdict, dataclass

Z95 = 1.959963984540054
"""The normal quantile of a two-sided 95% interval."""
ALPHA = 0.05
PROPORTIONS_TEST = "two-proportion z-test (pooled, two-sided)"
MEANS_TEST = "Welch's t-test (unequal variances, two-sided)"


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95% interval (None where it cannot be told)."""

    value: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict:
        return {k: (None if v is None else round(v, 6)) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Difference:
    """Arm minus control, its 95% interval, the test's p-value and its verdict at ``ALPHA``."""

    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    significant: bool | None
    test: str

    def as_dict(self) -> dict:
        out: dict = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        return out


NOTHING = Estimate(None, None, None)


def rate(k: float, n: float) -> Estimate:
    """``k`` of ``n`` with its Wilson score interval."""
    if n <= 0:
        return NOTHING
    k = min(k, n)
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half))


def two_proportions(k1: float, n1: float, k2: float, n2: float) -> Difference:
    """Rate 2 minus rate 1: the interval from the unpooled standard error, the p-value from the pooled one."""
    if n1 <= 0 or n2 <= 0:
        return Difference(None, None, None, None, None, PROPORTIONS_TEST)
    k1, k2 = min(k1, n1), min(k2, n2)
    p1, p2 = k1 / n1, k2 / n2
    pooled = (k1 + k2) / (n1 + n2)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    diff = p2 - p1
    p_value = 1.0 if se_pooled == 0 else 2 * _normal_tail(abs(diff) / se_pooled)
    return Difference(diff, diff - Z95 * se, diff + Z95 * se, p_value, p_value < ALPHA, PROPORTIONS_TEST)


def mean(total: float, squares: float, n: float) -> tuple[Estimate, float]:
    """The mean of ``n`` values from their sum and sum of squares, with its t interval; and their variance."""
    if n < 2:
        return (Estimate(total / n, None, None) if n == 1 else NOTHING), 0.0
    m = total / n
    variance = max(0.0, (squares - n * m * m) / (n - 1))
    half = _t_quantile(n - 1) * math.sqrt(variance / n)
    return Estimate(m, m - half, m + half), variance


def welch(m1: float, v1: float, n1: float, m2: float, v2: float, n2: float) -> Difference:
    """Mean 2 minus mean 1, by Welch's t-test."""
    if n1 < 2 or n2 < 2:
        return Difference(None, None, None, None, None, MEANS_TEST)
    a, b = v1 / n1, v2 / n2
    diff = m2 - m1
    if a + b == 0:
        same = diff == 0
        return Difference(diff, diff, diff, 1.0 if same else 0.0, not same, MEANS_TEST)
    se = math.sqrt(a + b)
    df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    p_value = _t_two_sided(abs(diff) / se, df)
    half = _t_quantile(df) * se
    return Difference(diff, diff - half, diff + half, p_value, p_value < ALPHA, MEANS_TEST)


def _normal_tail(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def _t_two_sided(t: float, df: float) -> float:
    """P(|T| > t) for Student's T with ``df`` degrees of freedom."""
    return _incomplete_beta(df / 2, 0.5, df / (df + t * t))


def _t_quantile(df: float) -> float:
    """The t value with P(|T| > t) = 0.05, by bisection."""
    low, high = 0.0, 200.0
    for _ in range(80):
        middle = (low + high) / 2
        if _t_two_sided(middle, df) > ALPHA:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz's method)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast on this side only
        return 1.0 - _incomplete_beta(b, a, 1.0 - x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-14:
            break
    return math.exp(log_front) * fraction / a
