"""The retention figures' type (``recsvc.contract.analytics``): the trainer's document round-trips through it
unchanged, its nulls stay nulls, and an older or partial document still loads, serves and draws."""

import json

import pytest

from recsvc.admin import retention_report
from recsvc.contract import keys, versions
from recsvc.contract.analytics import RetentionAnalytics, SegmentMonth
from recsvc.contract.summary import RetentionSummary
from tests.analytics_shop import write_analytics_shop
from tests.conftest import AUTH
from tests.test_analytics import figures_of
from training.config import TrainConfig
from training.inputs.dataset import Inputs
from training.orders import SEGMENTS
from training.train import train

GROUP_KEYS = [
    "buyers",
    "orders",
    "revenue",
    "repeat_rate",
    "orders_per_buyer",
    "average_order_value",
    "revenue_per_buyer",
    "at_risk_share",
    "lost_share",
]
"""A group's keys as stored, in order."""


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return write_analytics_shop(tmp_path_factory.mktemp("analytics-shop"))


@pytest.fixture(scope="module")
def stored(shop) -> str:
    """The trainer's document of the hand-worked shop, as published."""
    return json.dumps(figures_of(shop))


def test_the_trainers_document_round_trips_unchanged(stored):
    figures = RetentionAnalytics.decode(stored)
    assert figures.encode() == stored  # the same keys, in the same order, with the same values
    assert not any(part.extra for part in [figures, figures.overall, *figures.cohorts, *figures.segments_over_time])
    assert figures.overall.repeat_rate["30"].rate == 0.4 and figures.overall.median_days_between_orders == 21.0
    assert [c.cohort for c in figures.cohorts] == ["2024-01", "2024-02", "2024-03", "2024-04"]


def test_the_stored_layout_is_pinned(stored):
    document = json.loads(stored)
    assert list(document) == [
        "timezone",
        "now",
        "spend_unit",
        "overall",
        "by_segment",
        "by_cohort",
        "cohorts",
        "ltv_projection",
        "segments_over_time",
    ]
    assert list(document["overall"]) == [*GROUP_KEYS, "median_days_between_orders"]
    assert all(list(group) == GROUP_KEYS for group in document["by_segment"].values())
    assert list(document["overall"]["repeat_rate"]["30"]) == ["rate", "ci95", "eligible"]
    assert list(document["cohorts"][0]) == ["cohort", "customers", "retention", "ltv", "projected_ltv"]
    assert list(document["cohorts"][0]["projected_ltv"]) == ["months", "value", "observed_months"]
    assert list(document["ltv_projection"]) == ["method", "horizon_months", "factors"]
    assert list(document["segments_over_time"][0]) == ["month", "at", "buyers", *SEGMENTS, "churn_share"]


def test_explicit_nulls_stay_null(stored):
    """April's only buyer is ten days old: its repeat rates are not measurable, and say so with nulls."""
    document = json.loads(RetentionAnalytics.decode(stored).encode())
    assert document["by_cohort"]["2024-04"]["repeat_rate"]["30"] == {"rate": None, "ci95": None, "eligible": 0}
    assert document["cohorts"][-1]["projected_ltv"] is None  # no complete month yet
    assert document["by_segment"]["lost"]["orders_per_buyer"] is None  # no lost buyer


def test_a_segment_month_has_a_field_per_segment():
    row = SegmentMonth(**{name: n for n, name in enumerate(SEGMENTS)})
    assert [row.count(name) for name in SEGMENTS] == list(range(len(SEGMENTS)))
    assert SegmentMonth().count("vip") == 0


OLDER = {  # as an older release wrote it: no 7-day window, no median gap, no projection, no segment history
    "timezone": "UTC",
    "now": 1714435200,
    "overall": {
        "buyers": 4,
        "orders": 6,
        "revenue": 90.0,
        "repeat_rate": {"30": {"rate": 0.5, "ci95": [0.15, 0.85], "eligible": 4}, "90": {"rate": None}},
        "orders_per_buyer": 1.5,
        "average_order_value": None,
    },
    "by_segment": {"new": {"buyers": 4}},
    "cohorts": [{"cohort": "2024-01", "customers": 4, "retention": [1.0, 0.25], "ltv": [15.0, 22.5]}],
    "dropped_later": {"any": "value"},
}


def test_an_older_document_is_written_back_as_stored():
    figures = RetentionAnalytics.decode(json.dumps(OLDER))
    assert figures.to_json() == OLDER and list(figures.to_json()) == list(OLDER)
    assert figures.overall.lost_share is None and figures.segments_over_time == [] and figures.unit == "price"
    assert figures.extra == {"dropped_later": {"any": "value"}}
    figures.overall.lost_share = 0.25  # a key the document lacked is written once it is set
    assert figures.to_json()["overall"]["lost_share"] == 0.25


def test_the_summary_still_drops_its_nulls():
    assert RetentionSummary(now=1.0, timezone=None).to_json() == {"now": 1.0}
    assert RetentionSummary.from_json({"now": 1.0, "timezone": None}).to_json() == {"now": 1.0}


def test_an_older_document_serves_and_draws(shop, r, client, tmp_path):
    train(r, Inputs(events=shop["events"], catalog=shop["catalog"]), TrainConfig(factors=4, iterations=2))
    served = versions.current(r)
    r.set(keys.analytics(served), json.dumps(OLDER))
    answer = client.get("/v1/analytics/retention", headers=AUTH)
    assert answer.status_code == 200 and answer.json == {"model_version": served, **OLDER}
    page = retention_report.render(served, RetentionAnalytics.decode(json.dumps(OLDER)), None, None)
    assert "<b>50.0%</b> ordered again within 30 days" in page and page.count("<svg") == 4
