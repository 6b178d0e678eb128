"""One time rule for ``POST /v1/events`` and the trainer (``recsvc.contract.times``).

Regression: the endpoint took timestamps 0, 1970, year 3000 and 1e14, which the trainer refused; then
``recsvc train --stream`` failed on its share of bad rows, trimmed nothing, and failed the same way forever.
"""

import time

import pytest

from cli.main import main
from recsvc.contract import keys
from recsvc.http.events import parse_event
from tests.conftest import AUTH
from training.inputs.presets import get_preset
from training.inputs.readers import read_events

NOW = int(time.time())
BAD_TIMES = [
    0,
    1,
    86_400,  # 1970-01-02
    "1970-01-01T00:00:00Z",
    600_000_000,  # 1989
    32_503_680_000,  # year 3000 in seconds
    32_503_680_000_000,  # year 3000 in milliseconds
    "3000-01-01T00:00:00Z",
    10**14,  # milliseconds in the year 5138
    (NOW + 3 * 86_400) * 1000,  # three days ahead
]
GOOD_TIMES = [1_700_000_000, 1_700_000_000_000, "2024-01-01T12:00:00+02:00", NOW, NOW + 3_600]


def event(timestamp, user="u1") -> dict:
    return {"user_id": user, "item_id": "i1", "event": "view", "timestamp": timestamp}


@pytest.mark.parametrize("timestamp", BAD_TIMES)
def test_the_events_endpoint_refuses_a_time_the_trainer_refuses(client, r, timestamp):
    answer = client.post("/v1/events", json=event(timestamp), headers=AUTH)
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_argument"
    assert repr(timestamp) in answer.json["error"]["message"]  # it names the bad timestamp
    assert answer.json["errors"][0]["index"] == 0 and "1990-01-01" in answer.json["errors"][0]["message"]
    assert r.xlen(keys.EVENTS_STREAM) == 0


def test_the_endpoint_and_the_trainer_accept_the_same_times(client, r, tmp_path):
    answer = client.post("/v1/events", json=[event(t) for t in GOOD_TIMES + BAD_TIMES], headers=AUTH)
    assert answer.status_code == 200 and answer.json["accepted"] == len(GOOD_TIMES)
    assert [e["index"] for e in answer.json["errors"]] == list(range(len(GOOD_TIMES), len(GOOD_TIMES) + len(BAD_TIMES)))
    path = tmp_path / "e.csv"
    rows = [f"{t},u1,i1,view" for t in GOOD_TIMES + BAD_TIMES]
    path.write_text("timestamp,user_id,item_id,event\n" + "\n".join(rows) + "\n")
    events, bad = read_events(path, get_preset(None))
    assert events.timestamp.tolist() == [int(parse_event(event(t), NOW)["timestamp"]) for t in GOOD_TIMES]
    assert bad.rows == len(BAD_TIMES)


def test_a_stream_with_bad_rows_trains_reports_them_and_is_trimmed(r, redis_url, capsys):
    """Rows an older server let into the stream: 40% of it, far above --max-bad-rows (5%)."""
    good = [
        {"user_id": f"newcomer-{k}", "item_id": item, "event": name, "timestamp": str(1_704_000_000 + k)}
        for k in range(5)
        for item, name in (("tv-1", "view"), ("tv-2", "view"), ("tv-1", "purchase"))
    ]
    bad = [{**good[k], "timestamp": str(t)} for k, t in enumerate([0, 86_400, 32_503_680_000, 10**14] * 2 + [1, 2])]
    for fields in good[:5] + bad + good[5:]:
        r.xadd(keys.EVENTS_STREAM, fields)
    assert main(["--redis-url", redis_url, "train", "--stream"]) == 0
    out = capsys.readouterr().out
    assert "skipped 10 bad event stream rows" in out
    assert "event stream entry 6: timestamp '0' is outside 1990-01-01" in out  # the first bad entry, by number
    assert "event stream: 25 entries consumed and trimmed (10 bad, skipped)" in out
    assert r.xlen(keys.EVENTS_STREAM) == 0  # consumed: the next run does not meet them again
    served = r.get(keys.CURRENT).decode()
    assert r.exists(keys.user(served, "newcomer-0"))
