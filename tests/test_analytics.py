"""Retention figures on the hand-worked shop of tests/analytics_shop.py, and as the service serves them."""

from datetime import datetime, timezone

import pytest

from tests.analytics_shop import write_analytics_shop
from tests.conftest import AUTH
from training import analytics, interactions
from training.config import TrainConfig
from training.inputs.dataset import Inputs, read
from training.lists import retention
from training.train import train


def figures_of(paths, config: TrainConfig = TrainConfig()) -> dict:
    """The figures one training computes on the shop's files."""
    data = read(Inputs(events=paths["events"], catalog=paths["catalog"]))
    inter = interactions.build(data.events, config, n_items=len(data.item_ids))
    cat = data.catalogue
    return retention.build(
        data.events, inter.strength, cat.category, cat.n_categories, data.prices, inter.now, config
    ).analytics.to_json()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return write_analytics_shop(tmp_path_factory.mktemp("analytics-shop"))


@pytest.fixture(scope="module")
def figures(shop) -> dict:
    return figures_of(shop)


def test_repeat_rate_counts_only_buyers_whose_first_order_is_old_enough(figures):
    rates = figures["overall"]["repeat_rate"]
    # 30 days: u1..u5 eligible (u6 is 10 days old); u1 (15 days) and u5 (18) came back
    assert (rates["30"]["rate"], rates["30"]["eligible"]) == (0.4, 5)
    # 60 days: u1..u4 (u5 is 59 days old); only u1; u2 took 75 days, u4 67 (its 11-hour pair is one order)
    assert (rates["60"]["rate"], rates["60"]["eligible"]) == (0.25, 4)
    # 90 days: u1..u3; u1 and u2
    assert (rates["90"]["rate"], rates["90"]["eligible"]) == (round(2 / 3, 4), 3)
    low, high = rates["30"]["ci95"]
    assert low < 0.4 < high and rates["30"]["ci95"] == analytics.wilson(2, 5)


def test_wilson_interval_of_known_shares():
    assert analytics.wilson(0, 0) is None
    assert analytics.wilson(5, 10) == [0.2366, 0.7634]  # the textbook figures for 5 of 10
    assert analytics.wilson(10, 10)[1] == 1.0


def test_frequency_order_value_and_revenue(figures):
    overall = figures["overall"]
    assert (overall["buyers"], overall["orders"], overall["revenue"]) == (6, 13, 225.0)
    assert overall["orders_per_buyer"] == round(13 / 6, 3)
    assert overall["average_order_value"] == round(225 / 13, 2)
    assert overall["revenue_per_buyer"] == 37.5
    assert overall["median_days_between_orders"] == 21.0  # gaps 15 16 18 21 34 67 75
    assert figures["spend_unit"] == "price"


def test_cohort_table(figures):
    table = {c["cohort"]: c for c in figures["cohorts"]}
    assert list(table) == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert [table[c]["customers"] for c in table] == [3, 1, 1, 1]
    assert table["2024-01"]["retention"] == [1.0, round(1 / 3, 4), round(2 / 3, 4), 0.0]
    assert table["2024-02"]["retention"] == [1.0, 0.0, 1.0]
    assert table["2024-03"]["retention"] == [1.0, 1.0]
    assert table["2024-04"]["retention"] == [1.0]
    assert table["2024-01"]["ltv"] == [round(70 / 3, 2), round(80 / 3, 2), round(125 / 3, 2), round(125 / 3, 2)]
    assert table["2024-02"]["ltv"] == [20.0, 20.0, 45.0]
    assert table["2024-03"]["ltv"] == [20.0, 30.0]


def test_ltv_projection_is_a_chain_ladder_over_complete_months(figures):
    projection = figures["ltv_projection"]
    assert "chain-ladder" in projection["method"] and projection["horizon_months"] == 12
    # month 0 -> 1: (80/3 + 20) / (70/3 + 20) = 14/13; month 1 -> 2: (125/3) / (80/3)
    assert projection["factors"] == [round(14 / 13, 4), 1.5625]
    table = {c["cohort"]: c["projected_ltv"] for c in figures["cohorts"]}
    assert table["2024-01"] == {"months": 3, "value": round(125 / 3, 2), "observed_months": 3}
    assert table["2024-02"] == {"months": 3, "value": 31.25, "observed_months": 2}
    assert table["2024-03"]["value"] == pytest.approx(20 * 14 / 13 * 1.5625, abs=0.01)
    assert table["2024-04"] is None  # nothing complete yet


def test_churn_and_segments_now(figures):
    # u1: usual 21 days, none for 46 > 1.5 x 21: at risk; u2 the top spender of the repeat buyers: vip
    by_segment = figures["by_segment"]
    assert {name: f["buyers"] for name, f in by_segment.items()} == {
        "new": 2,
        "repeat": 2,
        "vip": 1,
        "at_risk": 1,
        "lost": 0,
    }
    assert figures["overall"]["at_risk_share"] == round(1 / 6, 4) and figures["overall"]["lost_share"] == 0.0
    assert by_segment["at_risk"]["orders"] == 4 and by_segment["at_risk"]["average_order_value"] == 13.75
    assert by_segment["vip"]["revenue_per_buyer"] == 60.0


def test_segments_over_time(figures):
    months = {row["month"]: row for row in figures["segments_over_time"]}
    counts = {m: (r["buyers"], r["new"], r["repeat"], r["vip"], r["at_risk"], r["lost"]) for m, r in months.items()}
    assert counts == {
        "2024-01": (3, 2, 0, 1, 0, 0),  # u1 the only repeat buyer: the top 10% of one
        "2024-02": (4, 3, 0, 1, 0, 0),
        "2024-03": (5, 2, 2, 1, 0, 0),
        "2024-04": (6, 2, 2, 1, 1, 0),
    }
    assert months["2024-04"]["churn_share"] == round(1 / 6, 4)


def test_figures_by_acquisition_month(figures):
    january = figures["by_cohort"]["2024-01"]
    assert (january["buyers"], january["orders"], january["revenue"]) == (3, 7, 125.0)
    assert january["repeat_rate"]["30"]["rate"] == round(1 / 3, 4)
    assert january["at_risk_share"] == round(1 / 3, 4)


def test_months_are_the_shops_time_zone(shop, tmp_path):
    """u6's only order moved to 2024-05-01 02:00 UTC is an April order in New York (UTC-4), a May one in UTC."""
    paths = write_analytics_shop(tmp_path)
    lines = paths["events"].read_text().splitlines()
    april_20 = str(int(datetime(2024, 4, 20, 12, tzinfo=timezone.utc).timestamp()))
    may_1 = str(int(datetime(2024, 5, 1, 2, tzinfo=timezone.utc).timestamp()))
    paths["events"].write_text("\n".join(line.replace(april_20, may_1) for line in lines) + "\n")
    utc = figures_of(paths)
    new_york = figures_of(paths, TrainConfig(timezone="America/New_York"))
    assert [c["cohort"] for c in utc["cohorts"]][-1] == "2024-05"
    assert [c["cohort"] for c in new_york["cohorts"]][-1] == "2024-04"
    assert new_york["timezone"] == "America/New_York"


def test_an_unknown_time_zone_is_a_clear_error(shop):
    with pytest.raises(ValueError, match="IANA time zone"):
        figures_of(shop, TrainConfig(timezone="Mars/Olympus"))


def test_the_service_serves_the_figures_of_the_served_version(shop, r, client):
    result = train(r, Inputs(events=shop["events"], catalog=shop["catalog"]), TrainConfig(factors=4, iterations=2))
    assert client.get("/v1/analytics/retention").status_code == 401
    answer = client.get("/v1/analytics/retention", headers=AUTH)
    assert answer.status_code == 200
    body = answer.json
    assert body["model_version"] == result.version
    assert body["overall"]["repeat_rate"]["30"]["rate"] == 0.4
    assert [c["cohort"] for c in body["cohorts"]] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert "/v1/analytics/retention" in client.get("/openapi.json").json["paths"]


def test_no_model_is_a_json_503(r, client):
    answer = client.get("/v1/analytics/retention", headers=AUTH)
    assert answer.status_code == 503 and answer.json["error"]["code"] == "unavailable"


def test_train_refuses_an_unknown_time_zone_in_one_line(shop, capsys, redis_url):
    from tests.commands import assert_failed_in_one_line
    from tests.commands import train as run_train

    code, out, err = run_train(capsys, redis_url, shop["events"], "--param", "timezone=Mars/Olympus")
    assert_failed_in_one_line(code, out, err, "Mars/Olympus")


def test_the_new_key_names_are_pinned():
    from recsvc.contract import keys

    assert keys.analytics("v1") == "recsvc:v:v1:analytics"
    assert keys.watchers("v1", "shoe-a") == "recsvc:v:v1:w:shoe-a"
    assert keys.catalog_changes("v1", "price-drop") == "recsvc:v:v1:{v1:catalog}:cc:price-drop"
    assert keys.trigger("v1", "back-in-stock") == "recsvc:v:v1:{v1:catalog}:t:back-in-stock"
    assert keys.sent("win-back") == "recsvc:sent:win-back"
    for wrong in (lambda: keys.catalog_changes("v1", "win-back"), lambda: keys.sent("birthday")):
        with pytest.raises(ValueError):
            wrong()
