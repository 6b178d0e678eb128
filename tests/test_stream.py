"""Training on the events posted to the API: the stream is read, learned from, and trimmed only after a publish."""

import pytest

from cli.main import main
from recsvc.contract import keys
from tests.conftest import AUTH
from tests.shop import write_shop
from training.inputs import dataset
from training.inputs.readers import InputError
from training.inputs.stream import read_stream, trim_consumed
from training.train import Inputs, train


def newcomer_events(n: int = 3) -> list[dict]:
    """A visitor the files never saw, who looks at TVs and buys one."""
    events = [
        {"user_id": f"newcomer-{k}", "item_id": item, "event": event, "timestamp": 1_704_000_000 + k}
        for k in range(n)
        for item, event in (("tv-1", "view"), ("tv-2", "view"), ("tv-1", "purchase"))
    ]
    return events


def test_training_learns_from_the_stream_and_trims_what_it_read(r, client, tmp_path):
    paths = write_shop(tmp_path)
    assert client.post("/v1/events", json=newcomer_events(), headers=AUTH).json["accepted"] == 9
    result = train(r, Inputs(events=paths["events"], catalog=paths["catalog"], stream=True))
    assert result.summary.counts.stream_events_consumed == 9
    assert r.xlen(keys.EVENTS_STREAM) == 0
    assert r.exists(keys.user(result.version, "newcomer-0"))  # the model now knows the visitor
    answer = client.get("/v1/users/newcomer-0/recommendations?limit=20").json
    assert answer["model_version"] == result.version and "tv-1" not in [i["item_id"] for i in answer["items"]]


def test_the_stream_alone_is_enough_to_train(r, client):
    client.post("/v1/events", json=newcomer_events(5), headers=AUTH)
    assert main(["--redis-url", _url(r), "train", "--stream"]) == 0
    assert r.xlen(keys.EVENTS_STREAM) == 0
    assert r.get(keys.CURRENT) is not None


def test_events_that_arrive_after_the_read_are_kept(r, client):
    client.post("/v1/events", json=newcomer_events(2), headers=AUTH)
    table, last = read_stream(r, chunk=4)  # several chunks
    assert table.num_rows == 6 and table["user_id"][0].as_py() == "newcomer-0"
    client.post("/v1/events", json=[{"user_id": "late", "item_id": "tv-1", "event": "view"}], headers=AUTH)
    assert trim_consumed(r, last) == 6
    assert [f[b"user_id"] for _, f in r.xrange(keys.EVENTS_STREAM)] == [b"late"]


def test_a_failed_training_trims_nothing(r):
    r.xadd(keys.EVENTS_STREAM, {"user_id": "u1", "item_id": "tv-1", "event": "wishlist", "timestamp": "1700000000"})
    with pytest.raises(InputError, match="no purchases or views"):
        train(r, Inputs(stream=True))
    assert r.xlen(keys.EVENTS_STREAM) == 1
    assert r.get(keys.CURRENT) is None


def test_train_needs_events_or_the_stream(r, capsys):
    assert main(["--redis-url", _url(r), "train"]) == 2
    assert "--stream" in capsys.readouterr().err


def test_an_empty_stream_is_a_clear_error(r, capsys):
    assert main(["--redis-url", _url(r), "train", "--stream"]) == 2
    assert "the event stream: no events" in capsys.readouterr().err


def _url(r) -> str:
    kw = r.connection_pool.connection_kwargs
    return f"redis://{kw['host']}:{kw['port']}/{kw.get('db', 0)}"


def test_views_posted_while_a_training_runs_count_as_live_in_the_version_it_serves(r, client, tmp_path, monkeypatch):
    paths = write_shop(tmp_path)
    read = dataset.read
    today = [{"user_id": "runner-0", "item_id": item, "event": "view"} for item in ("tv-1", "tv-2", "mount-1")]

    def read_while_a_customer_browses(inputs, stream=None):
        data = read(inputs, stream=stream)
        assert client.post("/v1/events", json=today, headers=AUTH).status_code == 200  # after the read: not learned
        return data

    monkeypatch.setattr(dataset, "read", read_while_a_customer_browses)
    result = train(r, Inputs(events=paths["events"], catalog=paths["catalog"], stream=True))
    assert r.xlen(keys.EVENTS_STREAM) == 3  # kept for the next training
    assert result.summary.learned_until is not None
    answer = client.get("/v1/users/runner-0/recommendations?limit=4", headers=AUTH).json
    assert answer["model_version"] == result.version
    assert {"tv-1", "tv-2", "mount-1"} & {i["item_id"] for i in answer["items"]}  # today's department, at once
