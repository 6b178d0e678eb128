"""The verdict at the top of the report, from paired differences made up by hand."""

from training.evaluation import report
from training.evaluation.metrics import METRICS
from training.evaluation.run import KS
from training.evaluation.verdict import verdict


def pair(difference, lo, hi):
    return {"difference": difference, "ci": [lo, hi], "within_noise": lo <= 0 <= hi}


def result(users=100, **against):
    ndcg = {"als_served": 0.10, "als_plain": 0.05, "popular": 0.02, "itemknn_bm25": 0.09, "ease": 0.095}
    for name, d in against.items():
        ndcg[name] = 0.10 - d["difference"]
    versus = {
        "popular": pair(0.08, 0.05, 0.11),
        "itemknn_bm25": pair(0.01, -0.004, 0.02),
        "ease": pair(0.005, -0.01, 0.02),
        "als_plain": pair(0.05, 0.03, 0.07),
        **against,
    }
    columns = [f"{m}@{k}" for m in (*METRICS, "coverage") for k in KS]
    models = {name: dict.fromkeys(columns, v) for name, v in ndcg.items()}
    paired = {"reference": "als_served", "metric": "ndcg@10", "models": versus}
    info = {"users": users, "models": models, "versus": paired}
    return {"parameters": {"als_served": {}, "als_plain": {}}, "tasks": {"purchase": info}}


def test_beating_popularity_beyond_noise_and_no_baseline_beating_it_publishes():
    v = verdict(result())
    assert v["publish"] and v["task"] == "purchase"
    assert v["text"].startswith("Publish: on purchase (100 users, ndcg@10)")
    assert "beat popularity by 0.0800 (95% CI +0.0500 to +0.1100)" in v["text"]
    assert "item-kNN BM25 by 0.0100 (95% CI -0.0040 to +0.0200; within noise)" in v["text"]
    assert "beat the best baseline (ease) by 0.0050" in v["text"]
    assert set(v["against"]) == {"popular", "itemknn_bm25", "ease"}  # als_plain is a configuration, not a baseline
    v = verdict(result(ease=pair(0.02, 0.01, 0.03)))  # now BM25 is the best baseline
    assert "item-kNN BM25 (the best baseline) by 0.0100" in v["text"]
    assert set(v["against"]) == {"popular", "itemknn_bm25"}


def test_a_baseline_beating_it_beyond_noise_means_do_not_publish():
    v = verdict(result(ease=pair(-0.03, -0.05, -0.01)))
    assert not v["publish"]
    assert "trail the best baseline (ease) by 0.0300" in v["text"]
    assert v["text"].endswith("Beaten beyond noise by ease.")


def test_a_tie_with_popularity_means_do_not_publish():
    v = verdict(result(popular=pair(0.01, -0.01, 0.03)))
    assert not v["publish"] and v["text"].endswith("do not beat popularity beyond noise.")


def test_too_few_users_on_purchases_moves_the_verdict_to_the_next_task():
    r = result(users=10)
    r["tasks"]["any"] = {**result(users=400)["tasks"]["purchase"]}
    assert verdict(r)["task"] == "any"
    assert verdict({"tasks": {}}) is None


def test_the_report_opens_with_the_verdict_and_shows_both_purchase_tasks():
    r = result()
    r["tasks"]["purchase_new"] = result(users=60)["tasks"]["purchase"]
    r["dataset"], r["split"] = "d", {}
    md = report.markdown(r)
    assert md.startswith("**Verdict.** Publish: on purchase")
    assert "purchase (100 users) ndcg@10" in md and "purchase_new (60 users) ndcg@10" in md
    assert "| itemknn_bm25 | 0.0900 | 0.0900 | +0.0100 [-0.0040, +0.0200] within noise | 0.0900 |" in md
    page = report.render_html(r)
    assert page.index("<b>Verdict.</b> Publish: on purchase") < page.index("<table>")
