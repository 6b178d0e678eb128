"""The retention figures of a version (``keys.analytics``): what the trainer computes (``training.analytics``),
``GET /v1/analytics/retention`` serves, ``recsvc report retention`` draws and the dashboard shows.

Each part is a ``summary.Part`` whose fields are the stored JSON's keys in their stored order. A figure that
cannot be measured (no buyer old enough, no order) is an explicit null, and stays one: these parts keep their
nulls (``KEEP_NULLS``). Parsing is as tolerant as the summary's: a key a document lacks reads as None (or an
empty part) and is left out again when the document is written back; an unknown key is kept in ``extra``.
"""

import json
from dataclasses import dataclass, field
from typing import ClassVar

from recsvc.contract.summary import Part


@dataclass
class Figures(Part):
    """A part of the retention figures: its nulls are kept."""

    KEEP_NULLS: ClassVar[bool] = True


@dataclass
class RepeatRate(Figures):
    """The share of buyers who ordered again within a window, over those whose first order is that old."""

    rate: float | None = None  # None: no buyer is eligible yet
    ci95: list[float] | None = None  # the 95% Wilson interval of ``rate``
    eligible: int | None = None  # buyers whose first order is at least the window old


@dataclass
class GroupFigures(Figures):
    """The figures of a group of buyers (all of them, a segment, an acquisition month)."""

    EACH: ClassVar[dict[str, type[Part]]] = {"repeat_rate": RepeatRate}

    buyers: int | None = None
    orders: int | None = None
    revenue: float | None = None
    repeat_rate: dict[str, RepeatRate] = field(default_factory=dict)  # by window in days: "7", "30", "60", "90"
    orders_per_buyer: float | None = None
    average_order_value: float | None = None
    revenue_per_buyer: float | None = None
    at_risk_share: float | None = None
    lost_share: float | None = None


@dataclass
class OverallFigures(GroupFigures):
    """Every buyer's figures, and the typical time between a buyer's orders."""

    median_days_between_orders: float | None = None


@dataclass
class ProjectedLtv(Figures):
    """A cohort's revenue per customer carried forward to the horizon (``months``: how far it got)."""

    months: int | None = None
    value: float | None = None
    observed_months: int | None = None  # complete months observed


@dataclass
class Cohort(Figures):
    """The buyers first acquired in one month: who ordered in each later month, and what they spent to date."""

    NESTED: ClassVar[dict[str, type[Part]]] = {"projected_ltv": ProjectedLtv}

    cohort: str | None = None  # the month, YYYY-MM in the shop's time zone
    customers: int | None = None
    retention: list[float] = field(default_factory=list)  # by month of age: the share who ordered
    ltv: list[float] = field(default_factory=list)  # by month of age: revenue per customer to date
    projected_ltv: ProjectedLtv | None = None  # None: no complete month yet


@dataclass
class LtvProjection(Figures):
    """How cohorts are projected: the method, the horizon and its development factors (None: no older cohort)."""

    method: str | None = None
    horizon_months: int | None = None
    factors: list[float | None] = field(default_factory=list)


@dataclass
class SegmentMonth(Figures):
    """The buyers in each segment at the end of a month (the current one: at the data's now)."""

    month: str | None = None
    at: int | None = None  # unix seconds
    buyers: int | None = None
    new: int | None = None
    repeat: int | None = None
    vip: int | None = None
    at_risk: int | None = None
    lost: int | None = None
    churn_share: float | None = None  # at risk and lost; None without buyers

    def count(self, segment: str) -> int:
        """The buyers in ``segment`` (0 where unknown)."""
        return int(getattr(self, segment, None) or 0)


@dataclass
class RetentionAnalytics(Figures):
    """The retention figures of a version: overall, by segment, by acquisition month, cohorts, segments over time."""

    NESTED: ClassVar[dict[str, type[Part]]] = {"overall": OverallFigures, "ltv_projection": LtvProjection}
    EACH: ClassVar[dict[str, type[Part]]] = {
        "by_segment": GroupFigures,
        "by_cohort": GroupFigures,
        "cohorts": Cohort,
        "segments_over_time": SegmentMonth,
    }

    timezone: str | None = None  # the shop's IANA time zone: its calendar months
    now: int | None = None  # unix seconds of the newest event
    spend_unit: str | None = None  # "price" (catalog prices) or "items" (no prices known)
    overall: OverallFigures = field(default_factory=OverallFigures)
    by_segment: dict[str, GroupFigures] = field(default_factory=dict)
    by_cohort: dict[str, GroupFigures] = field(default_factory=dict)  # by acquisition month, YYYY-MM
    cohorts: list[Cohort] = field(default_factory=list)
    ltv_projection: LtvProjection = field(default_factory=LtvProjection)
    segments_over_time: list[SegmentMonth] = field(default_factory=list)

    @property
    def unit(self) -> str:
        """What spend is counted in: "price" unless the document says otherwise."""
        return self.spend_unit or "price"

    @classmethod
    def decode(cls, raw: bytes | str) -> "RetentionAnalytics":
        """The figures as stored."""
        return cls.from_json(json.loads(raw))

    def encode(self) -> str:
        """The JSON stored in ``keys.analytics``."""
        return json.dumps(self.to_json())
