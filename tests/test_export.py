"""`recsvc export`: every user's picks and whole trigger lists, streamed to JSON lines or CSV."""

import csv
import json

import pytest

from cli.main import main


def export(capsys, redis_url, *argv):
    code = main(["--redis-url", redis_url, "export", *argv, "--no-progress"])
    return code, capsys.readouterr()


def test_picks_for_every_user_as_json_lines(retention_model, redis_url, tmp_path, capsys, monkeypatch):
    import recsvc.admin.export

    monkeypatch.setattr(recsvc.admin.export, "CHUNK", 3)  # several SCAN chunks even for a small shop
    out = tmp_path / "picks.jsonl"
    code, printed = export(capsys, redis_url, "picks", "--out", str(out), "--limit", "3")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    users = {row["user_id"] for row in rows}
    assert code == 0 and f"wrote {len(rows)} users" in printed.out
    assert len(rows) == len(users) == retention_model.summary.counts.users
    steady = next(row for row in rows if row["user_id"] == "steady")
    assert steady["model_version"] == retention_model.version and 1 <= len(steady["items"]) <= 3
    assert not {"coffee-a", "coffee-b", "tv-a"} & {i["item_id"] for i in steady["items"]}  # bought


def test_a_trigger_list_as_csv(retention_model, redis_url, tmp_path, capsys):
    out = tmp_path / "carts.csv"
    code, _ = export(capsys, redis_url, "triggers", "--kind", "abandoned-cart", "--hours", "24", "--out", str(out))
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert code == 0
    assert [(r["user_id"], r["rank"], r["item_id"], r["reason"]) for r in rows] == [
        ("carter", "1", "shoe-a", "in_cart")
    ]


def test_replenishment_export_matches_the_api_pages(retention_model, redis_url, tmp_path, capsys):
    out = tmp_path / "due.jsonl"
    assert export(capsys, redis_url, "triggers", "--kind", "replenishment", "--days", "7", "--out", str(out))[0] == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert "steady" in {r["user_id"] for r in rows}
    assert all(i["reason"]["type"] == "due_again" for r in rows for i in r["items"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["triggers", "--out", "x.jsonl"], "needs --kind"),
        (["triggers", "--kind", "abandoned-cart", "--days", "3", "--out", "x.jsonl"], "takes --hours"),
        (["picks", "--limit", "0", "--out", "x.jsonl"], "--limit must be"),
    ],
)
def test_bad_export_arguments_fail_with_one_line(retention_model, redis_url, capsys, argv, message):
    code, printed = export(capsys, redis_url, *argv)
    assert code == 2 and message in printed.err
