"""`recsvc report retention`: a self-contained page of the served figures and what changed since the last version."""

import re

from cli.main import main
from recsvc.admin import retention_changes, retention_report
from recsvc.contract.analytics import RetentionAnalytics
from tests.analytics_shop import write_analytics_shop
from tests.commands import train


def report(capsys, redis_url, out) -> tuple[int, str, str]:
    code = main(["--redis-url", redis_url, "report", "retention", "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_report_draws_every_plot_inline_and_says_what_changed(r, redis_url, tmp_path, capsys):
    shop = write_analytics_shop(tmp_path / "shop")
    lines = shop["events"].read_text().splitlines()
    early = tmp_path / "early.csv"
    early.write_text("\n".join(lines[:8]) + "\n")  # the first seven purchases: u1 to u4, up to February 10
    assert train(capsys, redis_url, early, "--catalog", str(shop["catalog"]))[0] == 0
    code, out, _ = report(capsys, redis_url, tmp_path / "first")
    assert code == 0
    first = (tmp_path / "first" / "retention.html").read_text()
    assert "First version with retention figures" in first
    assert train(capsys, redis_url, shop["events"], "--catalog", str(shop["catalog"]))[0] == 0
    code, out, _ = report(capsys, redis_url, tmp_path / "second")
    page = (tmp_path / "second" / "retention.html").read_text()
    assert code == 0 and "retention.html" in out
    assert page.count("<svg") == 4  # heat map, repeat rate, revenue per customer, segments
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page) and "<script" not in page  # nothing fetched
    assert "Buyers: 4 → 6 (+2)." in page
    assert "Repeat purchase within 30 days: 50.0% → 40.0%, down 10.0 points (inside the 95% interval" in page
    assert "66.7% of buyers ordered again within 90 days (not measurable before)." in page
    assert "New cohort 2024-03: 1 first-time buyer." in page and "New cohort 2024-04" in page
    assert "2024-01 (3)" in page  # the heat map's row of January's three buyers


def test_the_report_needs_a_model_with_figures(r, redis_url, tmp_path, capsys):
    code, out, err = report(capsys, redis_url, tmp_path)
    assert code == 2 and "no model is published" in err and not (tmp_path / "retention.html").exists()


def figures(buyers: int, rate: float | None, ci: list[float] | None, at_risk: float = 0.1) -> RetentionAnalytics:
    """A partial document: the overall figures only."""
    repeat = {d: {"rate": None, "ci95": None, "eligible": 0} for d in ("7", "30", "60", "90")}
    repeat["30"] = {"rate": rate, "ci95": ci, "eligible": buyers}
    overall = {
        "buyers": buyers,
        "orders": 2 * buyers,
        "repeat_rate": repeat,
        "average_order_value": 20.0,
        "at_risk_share": at_risk,
        "lost_share": 0.0,
    }
    return RetentionAnalytics.from_json({"overall": overall, "cohorts": [], "spend_unit": "price"})


def test_a_change_inside_the_interval_is_called_noise():
    sentences = retention_changes.summary(figures(200, 0.31, [0.25, 0.38]), figures(180, 0.30, [0.24, 0.37]))
    repeat = next(s for s in sentences if "within 30 days" in s)
    assert "30.0% → 31.0%, up 1.0 points (inside the 95% interval" in repeat
    sentences = retention_changes.summary(figures(900, 0.45, [0.42, 0.48], 0.2), figures(180, 0.30, [0.24, 0.37]))
    repeat = next(s for s in sentences if "within 30 days" in s)
    assert repeat == "Repeat purchase within 30 days: 30.0% → 45.0%, up 15.0 points."
    assert "Buyers at risk: 10.0% → 20.0%, up 10.0 points." in sentences


def test_grid_values_are_round():
    assert [retention_report.nice_ceiling(v) for v in (0, 3, 7.2, 11, 560, 1001)] == [1, 5, 10, 20, 1000, 2000]
