"""Retention figures from the orders of one run: repeat rate, cohorts, frequency, order value, churn, LTV.

Computed at every training from the same orders as the profiles (``training.orders.orders_of``: purchases
more than 12 hours apart, valued at catalog prices where known) and published with the version as
JSON (``keys.analytics``). Calendar months are the shop's (``TrainConfig.timezone``). Definitions are
in docs/retention.md; every figure is broken down by segment and by acquisition month (cohort). The
document is typed (``recsvc.contract.analytics.RetentionAnalytics``) and built here only.
"""

import math
from typing import Any

import numpy as np

from recsvc.contract.analytics import (
    Cohort,
    GroupFigures,
    LtvProjection,
    OverallFigures,
    ProjectedLtv,
    RepeatRate,
    RetentionAnalytics,
    SegmentMonth,
)
from recsvc.contract.units import DAY
from training import analytics_time
from training.config import TrainConfig
from training.orders import AT_RISK, LOST, SEGMENTS, Orders, standing

REPEAT_WINDOWS_DAYS = (7, 30, 60, 90)  # 7: short histories can be read too
LTV_HORIZON_MONTHS = 12
SNAPSHOT_MONTHS = 24  # segment sizes are traced over at most this many recent months
Z95 = 1.959964
LTV_METHOD = (
    "chain-ladder: each cohort's revenue per customer to date, carried forward month by month with the "
    "average growth older cohorts showed at the same age (complete months only)"
)


def wilson(hits: int, n: int) -> list[float] | None:
    """The 95% Wilson score interval of a share ``hits / n`` (None without observations)."""
    if n == 0:
        return None
    p = hits / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


class Buyers:
    """Per buyer (a user with an order): first and second order, order count, revenue, cohort, segment."""

    def __init__(self, orders: Orders, segment: np.ndarray, month: np.ndarray):
        n = len(orders.user)
        self.starts = np.flatnonzero(np.r_[True, orders.user[1:] != orders.user[:-1]]) if n else np.zeros(0, np.int64)
        self.user = orders.user[self.starts]
        self.orders = np.diff(np.r_[self.starts, n]).astype(np.int64)
        self.first = orders.time[self.starts]
        second = np.minimum(self.starts + 1, max(n - 1, 0))
        self.second = np.where(self.orders >= 2, orders.time[second] if n else np.nan, np.nan)
        self.revenue = np.add.reduceat(orders.value, self.starts) if n else np.zeros(0)
        self.cohort = month[self.starts]
        self.segment = segment[self.user]

    def __len__(self) -> int:
        return len(self.user)


def group_figures(b: Buyers, sel: np.ndarray, now: float) -> GroupFigures:
    """Repeat rates, frequency, order value, revenue per buyer and churn shares of the selected buyers."""
    return GroupFigures(**group_values(b, sel, now))


def group_values(b: Buyers, sel: np.ndarray, now: float) -> dict[str, Any]:
    """The fields of ``group_figures``."""
    n = int(sel.sum())
    n_orders = int(b.orders[sel].sum())
    revenue = float(b.revenue[sel].sum())
    repeat = {}
    for days in REPEAT_WINDOWS_DAYS:
        eligible = sel & (now - b.first >= days * DAY)  # only buyers whose first order is that old can have repeated
        hits = int((eligible & (b.second - b.first <= days * DAY)).sum())
        m = int(eligible.sum())
        repeat[str(days)] = RepeatRate(rate=round(hits / m, 4) if m else None, ci95=wilson(hits, m), eligible=m)
    at_risk = int((sel & (b.segment == AT_RISK)).sum())
    lost = int((sel & (b.segment == LOST)).sum())
    return {
        "buyers": n,
        "orders": n_orders,
        "revenue": round(revenue, 2),
        "repeat_rate": repeat,
        "orders_per_buyer": round(n_orders / n, 3) if n else None,
        "average_order_value": round(revenue / n_orders, 2) if n_orders else None,
        "revenue_per_buyer": round(revenue / n, 2) if n else None,
        "at_risk_share": round(at_risk / n, 4) if n else None,
        "lost_share": round(lost / n, 4) if n else None,
    }


def cohort_table(b: Buyers, orders: Orders, month: np.ndarray, current: int) -> tuple[list[int], dict]:
    """Per cohort and month of age: the share of its buyers who ordered, and revenue per buyer to date."""
    cohorts = sorted(set(b.cohort.tolist()))
    if not cohorts:
        return [], {"retention": [], "ltv": [], "customers": []}
    index = {c: i for i, c in enumerate(cohorts)}
    width = current - cohorts[0] + 1
    buyer_of_order = np.repeat(np.arange(len(b)), b.orders)
    cohort_of_order = np.array([index[c] for c in b.cohort.tolist()], dtype=np.int64)[buyer_of_order]
    age = month - b.cohort[buyer_of_order]
    active = np.unique(buyer_of_order * width + age)  # each buyer once per month of age they ordered in
    active_cohort = cohort_of_order[np.searchsorted(buyer_of_order, active // width)]
    counts = np.bincount(active_cohort * width + active % width, minlength=len(cohorts) * width)
    revenue = np.bincount(cohort_of_order * width + age, weights=orders.value, minlength=len(cohorts) * width)
    size = np.bincount(cohort_of_order[b.starts], minlength=len(cohorts)).astype(np.float64)
    shares = counts.reshape(len(cohorts), width) / size[:, None]
    ltv = np.cumsum(revenue.reshape(len(cohorts), width), axis=1) / size[:, None]
    ages = [current - c + 1 for c in cohorts]  # months observed, the current (partial) one included
    return cohorts, {
        "customers": size.astype(int).tolist(),
        "retention": [[round(float(x), 4) for x in row[:a]] for row, a in zip(shares, ages)],
        "ltv": [[float(x) for x in row[:a]] for row, a in zip(ltv, ages)],  # rounded when published
    }


def chain_ladder(ltv: list[list[float]], horizon: int) -> tuple[list[float | None], list[ProjectedLtv | None]]:
    """Development factors of cumulative revenue per customer, and each cohort's projection to ``horizon`` months.

    Row ``ltv[c]`` ends with the current, partial month, which is left out. A cohort is carried from
    its last complete month by the factors of the older cohorts; where no older cohort reached an age,
    the projection stops there (``months`` says how far it got)."""
    complete = [row[:-1] for row in ltv]
    longest = max((len(r) for r in complete), default=0)
    factors: list[float | None] = []
    for k in range(longest - 1):
        pairs = [(r[k], r[k + 1]) for r in complete if len(r) > k + 1]
        base = sum(p[0] for p in pairs)
        factors.append(sum(p[1] for p in pairs) / base if base > 0 else None)
    projections: list[ProjectedLtv | None] = []
    for row in complete:
        if not row:
            projections.append(None)
            continue
        value, months = row[min(len(row), horizon) - 1], min(len(row), horizon)
        while months < horizon and months - 1 < len(factors) and factors[months - 1] is not None:
            value *= factors[months - 1]  # type: ignore[operator]
            months += 1
        projections.append(ProjectedLtv(months=months, value=round(value, 2), observed_months=len(row)))
    return [round(f, 4) if f is not None else None for f in factors], projections


def segments_over_time(orders: Orders, months: list[int], now: float, config: TrainConfig) -> list[SegmentMonth]:
    """Segment sizes among the buyers so far at the end of each month (the current one: now)."""
    tz = analytics_time.zone(config.timezone)
    codes, dense = np.unique(orders.user, return_inverse=True)  # buyers only: small arrays per month
    by_buyer = Orders(dense.astype(np.int64), orders.time, orders.value, orders.unit)
    out = []
    for m in months[-SNAPSHOT_MONTHS:]:
        at = min(float(analytics_time.month_start(m + 1, tz)) - 1, now)
        s = standing(by_buyer, len(codes), at, config)
        counts = np.bincount(s.segment[s.orders > 0], minlength=len(SEGMENTS))
        buyers = int(counts.sum())
        by_segment: dict[str, Any] = {name: int(c) for name, c in zip(SEGMENTS, counts)}  # a field each
        out.append(
            SegmentMonth(
                month=analytics_time.month_name(m),
                at=int(at),
                buyers=buyers,
                **by_segment,
                churn_share=round(float(counts[AT_RISK] + counts[LOST]) / buyers, 4) if buyers else None,
            )
        )
    return out


def document(orders: Orders, segment: np.ndarray, now: float, config: TrainConfig) -> RetentionAnalytics:
    """Every retention figure of one run."""
    tz = analytics_time.zone(config.timezone)
    month = analytics_time.month_index(analytics_time.local_seconds(orders.time.astype(np.int64), tz))
    current = int(analytics_time.month_index(analytics_time.local_seconds(np.array([int(now)]), tz))[0])
    b = Buyers(orders, segment, month)
    everyone = np.ones(len(b), dtype=bool)
    same_user = orders.user[1:] == orders.user[:-1]
    gaps = np.diff(orders.time)[same_user] / DAY
    overall = OverallFigures(
        **group_values(b, everyone, now),
        median_days_between_orders=round(float(np.median(gaps)), 1) if len(gaps) else None,
    )
    cohorts, table = cohort_table(b, orders, month, current)
    factors, projections = chain_ladder(table["ltv"], LTV_HORIZON_MONTHS)
    months = list(range(cohorts[0], current + 1)) if cohorts else []
    return RetentionAnalytics(
        timezone=config.timezone,
        now=int(now),
        spend_unit=orders.unit,
        overall=overall,
        by_segment={name: group_figures(b, b.segment == code, now) for code, name in enumerate(SEGMENTS)},
        by_cohort={analytics_time.month_name(c): group_figures(b, b.cohort == c, now) for c in cohorts},
        cohorts=[
            Cohort(
                cohort=analytics_time.month_name(c),
                customers=table["customers"][i],
                retention=table["retention"][i],
                ltv=[round(x, 2) for x in table["ltv"][i]],
                projected_ltv=projections[i],
            )
            for i, c in enumerate(cohorts)
        ],
        ltv_projection=LtvProjection(method=LTV_METHOD, horizon_months=LTV_HORIZON_MONTHS, factors=factors),
        segments_over_time=segments_over_time(orders, months, now, config),
    )
