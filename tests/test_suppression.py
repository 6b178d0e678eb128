"""Sends reported by the email generator keep a customer out of that kind's list for a while;
every trigger entry and profile says when the customer usually shops."""

import time

import pytest

from cli.main import main
from recsvc import create_app
from tests.conftest import API_KEY, AUTH

pytestmark = pytest.mark.usefixtures("fresh_retention_model")  # sends are kept in the test's Redis
DAY = 86_400


def users(client, kind, **params) -> list[str]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    answer = client.get(f"/v1/triggers/{kind}?{query}", headers=AUTH)
    assert answer.status_code == 200, answer.json
    return [e["user_id"] for e in answer.json["entries"]]


def sent(client, kind, body) -> object:
    return client.post(f"/v1/triggers/{kind}/sent", json=body, headers=AUTH)


def test_a_customer_sent_a_reminder_is_left_out_of_that_list_only(client):
    assert "steady" in users(client, "replenishment")
    answer = sent(client, "replenishment", {"user_ids": ["steady", "steady"]})
    assert answer.status_code == 200 and answer.json == {"kind": "replenishment", "recorded": 1}
    assert "steady" not in users(client, "replenishment")
    assert "steady" in users(client, "replenishment", suppress_days=0)  # asked for everyone
    assert "drifting" in users(client, "win-back")  # another kind's sends do not count
    sent(client, "win-back", {"user_ids": ["drifting"], "sent_at": time.time() - 10 * DAY})
    assert "drifting" in users(client, "win-back")  # ten days ago: outside the default 7
    assert "drifting" not in users(client, "win-back", suppress_days=14)


def test_an_older_report_does_not_undo_a_newer_send(client):
    sent(client, "replenishment", {"user_ids": ["steady"]})
    sent(client, "replenishment", {"user_ids": ["steady"], "sent_at": time.time() - 30 * DAY})
    assert "steady" not in users(client, "replenishment")


def test_the_suppression_window_is_a_setting(redis_url):
    client = create_app({"REDIS_URL": redis_url, "API_KEYS": API_KEY, "SUPPRESS_DAYS": 0}).test_client()
    sent(client, "replenishment", {"user_ids": ["steady"]})
    assert "steady" in users(client, "replenishment")
    with pytest.raises(ValueError, match="SUPPRESS_DAYS"):
        create_app({"REDIS_URL": redis_url, "SUPPRESS_DAYS": -1})


def test_the_export_leaves_out_recent_sends(client, redis_url, tmp_path, capsys):
    sent(client, "replenishment", {"user_ids": ["steady"]})
    out = tmp_path / "due.jsonl"
    assert main(["--redis-url", redis_url, "export", "triggers", "--kind", "replenishment", "--out", str(out)]) == 0
    assert "steady" not in out.read_text() and "drifting" in out.read_text()
    argv = ["--redis-url", redis_url, "export", "triggers", "--kind", "replenishment", "--suppress-days", "0"]
    assert main([*argv, "--out", str(out)]) == 0
    assert '"user_id":"steady"' in out.read_text()
    capsys.readouterr()


@pytest.mark.parametrize(
    "kind, body, status",
    [
        ("replenishment", None, 400),
        ("replenishment", {"user_ids": []}, 400),
        ("replenishment", {"user_ids": "steady"}, 400),
        ("replenishment", {"user_ids": ["bad\tid"]}, 400),
        ("replenishment", {"user_ids": ["u"] * 1001}, 400),
        ("replenishment", {"user_ids": ["steady"], "sent_at": "yesterday"}, 400),
        ("replenishment", {"user_ids": ["steady"], "sent_at": 4e12}, 400),
        ("replenishment", {"user_ids": ["steady"], "sent_at": True}, 400),
        ("birthday", {"user_ids": ["steady"]}, 404),
    ],
)
def test_bad_reports_get_json_errors(client, kind, body, status):
    answer = client.post(f"/v1/triggers/{kind}/sent", json=body, headers=AUTH)
    assert answer.status_code == status and answer.json["error"]["message"]


def test_reports_need_the_key(client):
    assert client.post("/v1/triggers/replenishment/sent", json={"user_ids": ["steady"]}).status_code == 401
    assert client.get("/v1/triggers/replenishment?suppress_days=400", headers=AUTH).status_code == 400


def test_entries_and_profiles_carry_the_best_time_to_contact(client):
    # steady buys at START + whole days: START is 2023-11-14 22:13:20 UTC, a Tuesday
    steady = client.get("/v1/users/steady/profile", headers=AUTH).json["best_time"]
    # its six purchases fall on Mondays and Saturdays twice each: the earlier weekday wins the tie
    assert steady == {"hour": 22, "weekday": "monday", "source": "own_events", "timezone": "UTC"}
    entry = next(e for e in client.get("/v1/triggers/replenishment", headers=AUTH).json["entries"])
    assert entry["best_time"]["source"] in ("own_events", "shop_peak")
    # carter has two events: the shop's peak, the same for everyone with too few
    carter = client.get("/v1/users/carter/profile", headers=AUTH).json["best_time"]
    nobody = client.get("/v1/users/nobody/profile", headers=AUTH).json["best_time"]
    assert carter["source"] == nobody["source"] == "shop_peak"
    assert (carter["hour"], carter["weekday"]) == (nobody["hour"], nobody["weekday"])
