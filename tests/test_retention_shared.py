"""Retention features on real data: the Taobao head of the shared data (skipped when absent)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from cli.main import main
from tests.conftest import AUTH
from training.train import Inputs, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def taobao(redis_url, shared_data):
    """The Taobao head of the shared data, trained and published."""
    path = shared_data / "taobao_userbehavior_head" / "UserBehavior_head.csv.gz"
    if not path.exists():
        pytest.skip(f"{path} not found (set RECSVC_SHARED_DATA)")
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    yield train(r, Inputs(events=path, preset="taobao"))
    r.flushdb()


def test_every_trigger_list_has_entries_with_items(client, taobao):
    sizes = taobao.summary.retention.triggers
    for kind, query in (
        ("abandoned-cart", "hours=1"),
        ("category-interest", "days=14"),
        ("replenishment", "days=30"),
        ("win-back", "days=90"),
    ):
        if not sizes[kind]:
            continue
        page = client.get(f"/v1/triggers/{kind}?{query}&limit=100", headers=AUTH).json
        assert page["model_version"] == taobao.version
        assert all(e["items"] for e in page["entries"]), kind
    assert sizes["abandoned-cart"] > 0 and sizes["category-interest"] > 0


@pytest.mark.usefixtures("taobao")
def test_profiles_and_buy_again_answer_for_real_users(client):
    buyers = client.get("/v1/triggers/category-interest?days=30&limit=20", headers=AUTH).json
    for entry in buyers["entries"]:
        profile = client.get(f"/v1/users/{entry['user_id']}/profile", headers=AUTH).json
        assert profile["known"] and profile["top_categories"]
        answer = client.get(f"/v1/users/{entry['user_id']}/buy-again", headers=AUTH).json
        assert answer["items"] and answer["source"] in ("buy_again", "popular")


def test_trigger_export_on_real_data(taobao, redis_url, tmp_path):
    out = tmp_path / "carts.jsonl"
    argv = [
        "--redis-url",
        redis_url,
        "export",
        "triggers",
        "--kind",
        "abandoned-cart",
        "--hours",
        "1",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(r["kind"] == "abandoned-cart" and r["items"] for r in rows)


@pytest.mark.slow
def test_the_buy_again_benchmark_prints_the_anchors_with_intervals(shared_data):
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "buy_again_eval.py"), "--data", str(shared_data)],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "(593)" in line]
    assert [row.split(" | ")[0].split(" (")[0] for row in rows] == [
        "| buy-again now",
        "| buy-again before",
        "| P-TopFreq",
        "| TIFU-KNN",
    ]
    assert all(" ± " in row for row in rows)
    assert "served buy-again" in done.stdout and "P-TopFreq by" in done.stdout and "TIFU-KNN by" in done.stdout
    assert "buy-again order, chosen on the window:" in done.stdout  # the recency scale the window chose, and why
