"""Reports from the browser on the known shop: signed rec_ids, POST /v1/track, its bounds, the stream and the counts."""

import json

import pytest
import redis

from recsvc import create_app
from recsvc.contract import keys
from recsvc.http.attribution import REC_ID_TTL_S, verified_endpoint
from tests.conftest import API_KEY, AUTH
from tests.gateways import browser_reports
from training.inputs.stream import read_stream

pytestmark = pytest.mark.usefixtures("tracked_r")


def track(client, **body):
    return client.post("/v1/track", json=body)


def shown(answer: dict) -> list[str]:
    """The item ids a click on the answer reports as shown."""
    return [item["item_id"] for item in answer["items"]]


def metric(client, line_start: str) -> float:
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_rec_id_is_signed_for_its_list_and_user_and_expires(client):
    rec_id = client.get("/v1/users/alice/recommendations", headers=AUTH).json["rec_id"]
    code, expiry, _, _ = rec_id.split(".")
    with client.application.app_context():
        assert verified_endpoint(rec_id, "alice") == "user_recommendations"
        assert verified_endpoint(rec_id, "bob") is None  # another user's list
        assert verified_endpoint(rec_id) is None
        assert verified_endpoint("s" + rec_id[1:], "alice") is None  # another endpoint's code
        assert verified_endpoint(rec_id[:-2] + ("AA" if rec_id[-2:] != "AA" else "BB"), "alice") is None
        assert verified_endpoint(rec_id, "alice", now=int(expiry) + 1) is None  # expired
        assert verified_endpoint(rec_id, "alice", now=int(expiry) - REC_ID_TTL_S - 10) is None  # too far ahead
        assert verified_endpoint("u.abc", "alice") is None


def test_every_process_on_one_redis_signs_alike(redis_url):
    first = create_app({"REDIS_URL": redis_url, "TESTING": True}).test_client()
    second = create_app({"REDIS_URL": redis_url, "TESTING": True})
    rec_id = first.get("/v1/items/shoe-1/similar").json["rec_id"]
    with second.app_context():
        assert verified_endpoint(rec_id) == "similar"
    configured = create_app({"REDIS_URL": redis_url, "TESTING": True, "TRACKING_SECRET": "elsewhere"})
    with configured.app_context():
        assert verified_endpoint(rec_id) is None


def test_an_impression_is_counted_once_per_list(client, redis_url):
    impressions = 'recsvc_tracked_total{endpoint="similar",kind="impression"}'
    before = metric(client, impressions)
    rec_id = client.get("/v1/items/shoe-1/similar").json["rec_id"]
    assert track(client, rec_id=rec_id, type="impression").json == {"counted": True}
    again = track(client, rec_id=rec_id, type="impression")
    assert again.status_code == 200 and again.json["counted"] is False
    assert metric(client, impressions) - before == 1
    counts = browser_reports(redis.Redis.from_url(redis_url)).counts()
    assert counts["similar"] == {"impression": 1, "click": 0}


def test_one_cached_answer_counts_once_for_each_visitor(client, redis_url):
    rec_id = client.get("/v1/popular").json["rec_id"]  # a CDN hands the same answer to many visitors
    counted = [
        track(client, rec_id=rec_id, type="impression", visitor_id=visitor).json["counted"]
        for visitor in ("v-first-visitor", "v-other-visitor", "v-first-visitor")
    ]
    assert counted == [True, True, False]
    assert browser_reports(redis.Redis.from_url(redis_url)).counts()["popular"]["impression"] == 2


def test_a_click_goes_into_the_stream_as_a_view_for_training(client, tracked_r):
    listed = client.get("/v1/items/shoe-1/also-bought").json
    rec_id = listed["rec_id"]
    assert "shirt-1" in shown(listed)
    answer = track(
        client, rec_id=rec_id, type="click", item_id="shirt-1", shown=shown(listed), visitor_id="v0123456789abcdef"
    )
    assert answer.status_code == 200 and answer.json == {"counted": True}
    ((_, fields),) = tracked_r.xrange(keys.EVENTS_STREAM)
    assert fields[b"user_id"] == b"visitor:v0123456789abcdef"
    assert (fields[b"item_id"], fields[b"event"], fields[b"rec_id"]) == (b"shirt-1", b"view", rec_id.encode())
    table, _ = read_stream(tracked_r)
    assert table.column("item_id").to_pylist() == ["shirt-1"]
    assert table.column("event").to_pylist() == ["view"]
    assert browser_reports(tracked_r).counts()["also_bought"] == {"impression": 0, "click": 1}


def test_a_click_on_a_users_list_counts_for_that_user_only(client, tracked_r):
    listed = client.get("/v1/users/alice/recommendations", headers=AUTH).json  # given to alice: her clicks
    rec_id, item_id = listed["rec_id"], shown(listed)[0]
    wrong = track(client, rec_id=rec_id, type="click", item_id=item_id, shown=shown(listed), user_id="bob")
    assert wrong.status_code == 400 and wrong.json["error"]["code"] == "invalid_argument"
    click = {"item_id": item_id, "shown": shown(listed), "user_id": "alice"}
    assert track(client, rec_id=rec_id, type="click", **click).json["counted"] is True
    ((_, fields),) = tracked_r.xrange(keys.EVENTS_STREAM)
    assert fields[b"user_id"] == b"alice"


def test_a_beacon_sends_the_report_as_text_plain(client):
    rec_id = client.get("/v1/popular").json["rec_id"]
    body = json.dumps({"rec_id": rec_id, "type": "impression"})
    answer = client.post("/v1/track", data=body, content_type="text/plain;charset=UTF-8")
    assert answer.status_code == 200 and answer.json["counted"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"type": "impression"},
        {"rec_id": "u.abc", "type": "impression"},
        {"rec_id": "p.1.x.y", "type": "impression"},
        {"rec_id": "POPULAR", "type": "glance"},
        {"rec_id": "POPULAR", "type": "click", "item_id": "coffee-1", "shown": "SHOWN"},  # no visitor_id
        {"rec_id": "POPULAR", "type": "click", "item_id": "coffee-1", "visitor_id": "v0123456789"},  # no shown
        {"rec_id": "POPULAR", "type": "click", "item_id": "coffee-1", "shown": "coffee-1", "visitor_id": "v0123456789"},
        {"rec_id": "POPULAR", "type": "click", "item_id": "shirt-1", "visitor_id": "short"},
        {"rec_id": "POPULAR", "type": "click", "item_id": "no-such-item", "visitor_id": "v0123456789"},
        {"rec_id": "POPULAR", "type": "click", "item_id": "bad\tid", "visitor_id": "v0123456789"},
        {"rec_id": "POPULAR", "type": "impression", "user_id": ""},
        {"rec_id": "POPULAR", "type": "impression", "visitor_id": "no spaces allowed"},
        [1, 2],
        "not json at all",
    ],
)
def test_bad_reports_get_a_json_400_and_store_nothing(client, tracked_r, body):
    listed = client.get("/v1/popular").json
    if isinstance(body, dict) and body.get("rec_id") == "POPULAR":
        body = {**body, "rec_id": listed["rec_id"]}
    if isinstance(body, dict) and body.get("shown") == "SHOWN":
        body = {**body, "shown": shown(listed)}
    sent = json.dumps(body) if not isinstance(body, str) else body
    answer = client.post("/v1/track", data=sent, content_type="text/plain")
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "invalid_argument"
    assert tracked_r.xlen(keys.EVENTS_STREAM) == 0


def test_one_address_may_report_a_bounded_number_of_times(redis_url, tracked_r):
    client = create_app({"REDIS_URL": redis_url, "TESTING": True, "TRACK_RATE": 3}).test_client()
    rec_ids = [client.get("/v1/popular").json["rec_id"] for _ in range(4)]
    statuses = [track(client, rec_id=rec_id, type="impression").status_code for rec_id in rec_ids]
    assert statuses == [200, 200, 200, 429]
    other = client.post(
        "/v1/track", json={"rec_id": rec_ids[3], "type": "impression"}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 200 and other.json["counted"] is True


def test_clicks_on_one_list_are_bounded(client, tracked_r):
    listed = client.get("/v1/popular").json
    click = {"item_id": shown(listed)[0], "shown": shown(listed), "visitor_id": "v0123456789"}
    counted = [track(client, rec_id=listed["rec_id"], type="click", **click).json["counted"] for _ in range(12)]
    assert counted == [True] * 10 + [False] * 2
    assert tracked_r.xlen(keys.EVENTS_STREAM) == 10


def test_reports_need_no_key_and_get_cors_headers(client):
    rec_id = client.get("/v1/popular").json["rec_id"]
    answer = client.post(
        "/v1/track", json={"rec_id": rec_id, "type": "impression"}, headers={"Origin": "https://shop.test"}
    )
    assert answer.status_code == 200
    assert answer.headers.get("Access-Control-Allow-Origin") in ("*", "https://shop.test")
    assert API_KEY not in answer.get_data(as_text=True)


def test_buy_again_answers_carry_a_signed_rec_id(client):
    answer = client.get("/v1/users/coffee-1/buy-again", headers={"X-API-Key": API_KEY}).json
    assert answer["rec_id"].startswith("g.")
    with client.application.app_context():
        assert verified_endpoint(answer["rec_id"], "coffee-1") == "buy_again"
