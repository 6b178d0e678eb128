"""recsvc evaluate and recsvc convert from the command line, and the report they write."""

import json

import pytest

from cli.main import main
from tests.gateways import model_store
from tests.shop import write_shop


def test_evaluate_writes_a_report_with_every_model_and_plots(tmp_path, capsys):
    shop = write_shop(tmp_path / "shop")
    out = tmp_path / "report"
    code = main(
        [
            "evaluate",
            "--events",
            str(shop["events"]),
            "--catalog",
            str(shop["catalog"]),
            "--categories",
            str(shop["categories"]),
            "--split-fraction",
            "0.3",
            "--out",
            str(out),
            "--budget-seconds",
            "2",
            "--param",
            "factors=8",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "als_served" in printed and "report:" in printed
    report = json.loads((out / "report.json").read_text())
    models = report["tasks"]["purchase_or_cart"]["models"]
    assert {
        "als_served",
        "als_served_tuned",
        "popular",
        "popular_recent",
        "own_history",
        "itemknn_cosine",
        "itemknn_bm25",
        "bpr",
        "ease",
    } <= set(models)
    assert {"precision@5", "recall@10", "ndcg@20", "map@10", "hit_rate@10", "coverage@10"} <= set(models["popular"])
    assert report["tuning"]["trials"] >= 1
    assert {"purchase", "purchase_new", "purchase_or_cart", "any", "also_bought"} <= set(report["tasks"])
    task = report["tasks"]["purchase_or_cart"]
    lo, hi = task["intervals"]["popular"]["ndcg@10"]
    assert lo <= models["popular"]["ndcg@10"] <= hi
    assert task["versus"]["reference"] == "als_served"
    assert set(task["versus"]["models"]) == set(models) - {"als_served"}
    assert "within_noise" in task["versus"]["models"]["popular"]
    assert "verdict:" in printed and "purchase_new:" in printed
    assert (out / "report.md").read_text().startswith("**Verdict.** ")
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 3
    assert "<script" not in page and "http" not in page.split("<body>")[1]  # nothing fetched from elsewhere


def test_evaluate_with_two_split_options_is_refused(tmp_path, capsys):
    shop = write_shop(tmp_path / "shop")
    with pytest.raises(SystemExit):
        main(["evaluate", "--events", str(shop["events"]), "--split-days", "3", "--split-fraction", "0.2"])


def test_evaluate_reports_a_bad_split_in_one_line(tmp_path, capsys):
    shop = write_shop(tmp_path / "shop")
    code = main(
        ["evaluate", "--events", str(shop["events"]), "--split-date", "2001-01-01", "--out", str(tmp_path / "r")]
    )
    assert code == 2
    assert "recsvc: error:" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_runs_on_the_retailrocket_sample(shared_data, tmp_path, capsys):
    code = main(
        [
            "evaluate",
            "--events",
            str(shared_data / "retailrocket" / "sample_events.csv.gz"),
            "--preset",
            "retailrocket",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["tasks"]["any"]["users"] > 50


def test_train_with_evaluate_keeps_the_offline_metrics_with_the_version(r, redis_url, tmp_path, capsys):
    from recsvc import create_app

    shop = write_shop(tmp_path / "shop")
    code = main(
        [
            "--redis-url",
            redis_url,
            "train",
            "--events",
            str(shop["events"]),
            "--catalog",
            str(shop["catalog"]),
            "--categories",
            str(shop["categories"]),
            "--evaluate",
            "--param",
            "factors=8",
        ]
    )
    assert code == 0
    assert "offline NDCG@10" in capsys.readouterr().out
    answer = create_app(store=model_store(r)).test_client().get("/v1/model").json
    metrics = answer["offline_metrics"]
    assert set(metrics["purchase_or_cart"]["models"]) == {"model", "popular", "itemknn_bm25"}
    assert 0 <= metrics["purchase_or_cart"]["models"]["model"]["ndcg@10"] <= 1
    assert "cutoff" in metrics["split"]
    assert metrics["verdict"] is None or metrics["verdict"].startswith(("Publish", "Do not publish"))


def test_without_matplotlib_the_page_still_has_the_tables(monkeypatch):
    from training.evaluation import report

    def missing():
        raise ImportError("no matplotlib")

    monkeypatch.setattr(report, "_plots", missing)
    result = {
        "dataset": "d",
        "split": {},
        "tasks": {
            "purchase": {
                "users": 1,
                "models": {
                    "popular": {
                        f"{m}@{k}": 0.5
                        for k in (5, 10, 20)
                        for m in ("precision", "recall", "ndcg", "map", "hit_rate", "coverage")
                    }
                },
            }
        },
    }
    page = report.render_html(result)
    assert "matplotlib is not installed" in page and "<table>" in page and "base64" not in page
    assert "| popular | 0.5000 |" in report.markdown(result)


def test_evaluate_compares_parameter_sets_and_rule_sets_on_one_split(tmp_path, capsys):
    shop = write_shop(tmp_path / "shop")
    rules = tmp_path / "no-coffee.json"
    rules.write_text(json.dumps([{"name": "no-coffee", "type": "filter", "when": {"category": "coffee"}}]))
    out = tmp_path / "report"
    files = ["--events", str(shop["events"]), "--catalog", str(shop["catalog"])]
    files += ["--categories", str(shop["categories"])]
    variants = ["--variant", f"nocoffee:rules={rules}", "--variant", "small:factors=4,iterations=2"]
    assert main(["evaluate", *files, "--split-fraction", "0.3", "--out", str(out), *variants]) == 0
    report = json.loads((out / "report.json").read_text())
    task = report["tasks"]["purchase"]
    assert {"als_served", "nocoffee", "small"} <= set(task["models"])
    assert {"nocoffee", "small"} <= set(task["versus"]["models"])  # each paired with the served model, user by user
    assert report["rules"] == {"nocoffee": [{"name": "no-coffee", "type": "filter", "when": {"category": "coffee"}}]}
    assert report["parameters"]["small"] == {"factors": 4, "iterations": 2}
    bad = ["--variant", "x:rules=" + str(tmp_path / "missing.json")]
    assert main(["evaluate", *files, "--out", str(out), *bad]) == 2
    assert "missing.json" in capsys.readouterr().err
