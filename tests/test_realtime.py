"""Real time on the known shop: events posted, purchases leaving answers, session picks, rec_id and metrics."""

import pytest
import redis

from recsvc import create_app
from recsvc.contract import keys
from tests.conftest import API_KEY, AUTH


@pytest.fixture
def live_r(shop_model, redis_url):
    """A client; the events and live lists of each test are deleted afterwards, the model stays."""
    client = redis.Redis.from_url(redis_url)
    yield client
    stale = [keys.EVENTS_STREAM, *client.scan_iter(match=keys.live("*"))]
    client.delete(*stale)
    client.close()


pytestmark = pytest.mark.usefixtures("live_r")  # every test answers from the known shop and leaves no events


def ids(answer) -> list[str]:
    return [i["item_id"] for i in answer["items"]]


def post(client, *events, headers=AUTH):
    return client.post("/v1/events", json=list(events), headers=headers)


def metric(client, line_start: str) -> float:
    """The value of the first /metrics sample line that starts with ``line_start`` (0 when absent)."""
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# -- the events endpoint --


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}])
def test_events_need_a_valid_api_key(client, live_r, headers, caplog):
    answer = post(client, {"user_id": "u1", "item_id": "shoe-1", "event": "view"}, headers=headers)
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "unauthenticated"
    assert live_r.xlen(keys.EVENTS_STREAM) == 0
    assert API_KEY not in caplog.text


def test_without_configured_keys_every_write_is_refused(live_r, redis_url):
    client = create_app({"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": ""}).test_client()
    assert post(client, {"user_id": "u1", "item_id": "shoe-1", "event": "view"}).status_code == 401


def test_a_posted_event_is_in_the_stream(client, live_r):
    answer = post(
        client,
        {
            "user_id": "u1",
            "item_id": "shoe-1",
            "event": "buy",
            "timestamp": 1_700_000_000_000,
            "quantity": 2,
            "rec_id": "u.abc",
        },
    )
    assert answer.status_code == 200
    assert answer.json == {"accepted": 1, "rejected": 0, "errors": []}
    ((_, fields),) = live_r.xrange(keys.EVENTS_STREAM)
    assert fields == {
        b"user_id": b"u1",
        b"item_id": b"shoe-1",
        b"event": b"purchase",
        b"timestamp": b"1700000000",
        b"quantity": b"2",
        b"rec_id": b"u.abc",
    }


def test_bad_events_are_reported_by_index_and_the_good_ones_kept(client, live_r):
    answer = client.post(
        "/v1/events",
        headers=AUTH,
        json={
            "events": [
                {"user_id": "u1", "item_id": "shoe-1", "event": "view"},
                {"user_id": "bad\tid!", "item_id": "shoe-1", "event": "view"},
                {"user_id": "u1", "item_id": "shoe-2", "event": "teleport"},
                {"user_id": "u1", "item_id": "shoe-2", "event": "view", "quantity": 0},
                {"user_id": "u1", "item_id": "shoe-2", "event": "view", "timestamp": "yesterday"},
                "not an object",
                {"user_id": "u1", "item_id": "shoe-3", "event": "pv", "timestamp": "2026-01-01T00:00:00Z"},
            ]
        },
    )
    assert answer.status_code == 200
    assert answer.json["accepted"] == 2 and answer.json["rejected"] == 5
    assert [e["index"] for e in answer.json["errors"]] == [1, 2, 3, 4, 5]
    assert "user_id" in answer.json["errors"][0]["message"]
    assert [f[b"item_id"] for _, f in live_r.xrange(keys.EVENTS_STREAM)] == [b"shoe-1", b"shoe-3"]


def test_only_bad_events_get_a_400_and_nothing_is_stored(client, live_r):
    answer = post(client, {"user_id": "u1", "item_id": "shoe-1"})
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "invalid_argument"
    assert answer.json["errors"][0]["index"] == 0
    assert live_r.xlen(keys.EVENTS_STREAM) == 0


@pytest.mark.parametrize("body", [None, {}, [], "text", {"events": "x"}])
def test_a_body_without_events_is_a_400(client, body):
    answer = client.post("/v1/events", json=body, headers=AUTH)
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "invalid_argument"


def test_more_than_a_thousand_events_is_a_413(client, live_r):
    event = {"user_id": "u1", "item_id": "shoe-1", "event": "view"}
    assert post(client, *[event] * 1001).status_code == 413
    assert post(client, *[event] * 1000).json["accepted"] == 1000
    assert live_r.xlen(keys.EVENTS_STREAM) == 1000
    assert live_r.llen(keys.live("u1")) == 100  # bounded


# -- immediate effects --


def test_a_purchase_leaves_the_next_answers_of_every_user_endpoint(client):
    before = ids(client.get("/v1/users/alice/recommendations?limit=20", headers=AUTH).json)
    top = before[0]
    post(client, {"user_id": "alice", "item_id": top, "event": "purchase"})
    assert top not in ids(client.get("/v1/users/alice/recommendations?limit=20", headers=AUTH).json)
    assert top not in ids(client.get("/v1/items/shoe-2/also-bought?limit=20&user_id=alice", headers=AUTH).json)
    body = {"user_ids": ["alice", "bob"], "limit": 20}
    batch = client.post("/v1/recommendations/batch", headers=AUTH, json=body).json
    assert top not in ids(batch["results"][0])
    offers = client.get("/v1/users/alice/category-offers?limit=10&items_per_category=10", headers=AUTH).json["offers"]
    assert all(top not in ids(offer) for offer in offers)


def test_a_purchase_leaves_also_bought_for_that_user_only(client):
    assert ids(client.get("/v1/items/shoe-1/also-bought?limit=5&user_id=carol", headers=AUTH).json)[0] == "shirt-1"
    post(client, {"user_id": "carol", "item_id": "shirt-1", "event": "purchase"})
    assert "shirt-1" not in ids(client.get("/v1/items/shoe-1/also-bought?limit=5&user_id=carol", headers=AUTH).json)
    assert ids(client.get("/v1/items/shoe-1/also-bought?limit=5&user_id=dave", headers=AUTH).json)[0] == "shirt-1"


# -- session picks: the fold-in --


def test_a_new_visitor_who_viewed_tvs_gets_tv_accessories(client):
    answer = client.post("/v1/sessions/recommendations", json={"items": ["tv-1", "tv-2"], "limit": 4})
    assert answer.status_code == 200
    assert answer.json["source"] == "session"
    assert ids(answer.json)[0] == "cable-1"
    assert not {"tv-1", "tv-2"} & set(ids(answer.json))  # the session's own items are left out
    assert answer.json["items"][0]["reason"]["type"] == "because_you_viewed"
    assert answer.json["items"][0]["reason"]["item_id"] in {"tv-1", "tv-2"}


def test_a_new_visitor_who_viewed_shoes_gets_running_items(client):
    answer = client.post(
        "/v1/sessions/recommendations",
        json={"items": [{"item_id": "shoe-1", "event": "view"}, {"item_id": "shoe-2", "event": "cart"}], "limit": 3},
    ).json
    assert ids(answer)[0] == "shirt-1"
    assert not {"shoe-1", "shoe-2"} & set(ids(answer))
    assert "gone-1" not in ids(answer)  # hidden items stay hidden


def test_session_items_the_model_does_not_know_fall_back_to_popular(client):
    answer = client.post("/v1/sessions/recommendations", json={"items": ["never-seen"], "limit": 3}).json
    assert answer["source"] == "popular" and len(answer["items"]) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"items": "tv-1"},
        {"items": ["bad\tid!"]},
        {"items": [{"item_id": "tv-1", "event": "teleport"}]},
        {"items": ["tv-1"] * 101},
        {"items": ["tv-1"], "limit": 0},
    ],
)
def test_bad_session_requests_get_a_400(client, body):
    answer = client.post("/v1/sessions/recommendations", json=body)
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "invalid_argument"


def test_an_unknown_user_with_posted_views_gets_picks_that_follow_them(client):
    assert client.get("/v1/users/newbie/recommendations").json["source"] == "popular"
    post(
        client,
        {"user_id": "newbie", "item_id": "tv-1", "event": "view"},
        {"user_id": "newbie", "item_id": "tv-2", "event": "view"},
    )
    answer = client.get("/v1/users/newbie/recommendations?limit=4").json
    assert answer["source"] == "personalized"
    assert ids(answer)[0] == "cable-1"
    post(client, {"user_id": "newbie", "item_id": "cable-1", "event": "purchase"})
    assert "cable-1" not in ids(client.get("/v1/users/newbie/recommendations?limit=4").json)


# -- attribution and metrics --

LISTS = [
    "/v1/users/alice/recommendations",
    "/v1/users/nobody/recommendations",
    "/v1/items/shoe-1/also-bought",
    "/v1/items/shoe-1/similar",
    "/v1/popular",
    "/v1/users/alice/category-offers",
]


def test_every_answer_carries_a_rec_id_naming_its_endpoint(client):
    for url in LISTS:
        assert client.get(url).json["rec_id"].split(".")[0] in "uaspo", url
    batch = client.post("/v1/recommendations/batch", headers=AUTH, json={"user_ids": ["alice", "bob"]}).json
    assert [r["rec_id"][:2] for r in batch["results"]] == ["b.", "b."]
    assert batch["results"][0]["rec_id"] != batch["results"][1]["rec_id"]
    assert client.post("/v1/sessions/recommendations", json={"items": ["tv-1"]}).json["rec_id"].startswith("n.")


def test_metrics_count_requests_answers_events_and_clicks(client):
    answers = 'recsvc_answers_total{endpoint="similar",source="similar"}'
    clicks = 'recsvc_attributed_events_total{endpoint="similar",event="view"}'
    accepted, rejected = 'recsvc_events_total{outcome="accepted"}', 'recsvc_events_total{outcome="rejected"}'
    requests = 'recsvc_http_requests_total{endpoint="/v1/items/<item_id>/similar",method="GET",status="200"}'
    fallback = 'recsvc_answers_total{endpoint="user_recommendations",source="popular"}'
    before = {name: metric(client, name) for name in (answers, clicks, accepted, rejected, requests, fallback)}
    rec_ids = [client.get("/v1/items/shoe-1/similar").json["rec_id"] for _ in range(3)]
    client.get("/v1/users/nobody-at-all/recommendations")
    post(
        client,
        {"user_id": "u9", "item_id": "shoe-2", "event": "view", "rec_id": rec_ids[0]},
        {"user_id": "u9", "item_id": "bad\tid!", "event": "view"},
    )
    assert metric(client, answers) - before[answers] == 3
    assert metric(client, requests) - before[requests] == 3
    assert metric(client, clicks) - before[clicks] == 1
    assert metric(client, accepted) - before[accepted] == 1
    assert metric(client, rejected) - before[rejected] == 1
    assert metric(client, fallback) - before[fallback] == 1
    assert 0 < metric(client, "recsvc_model_age_seconds ") < 10 * 365 * 86_400
    assert "recsvc_http_request_duration_seconds_bucket" in client.get("/metrics").get_data(as_text=True)


def test_reads_allow_the_shops_pages_and_writes_do_not(client):
    page = {"Origin": "https://shop.test"}
    assert client.get("/v1/popular", headers=page).headers.get("Access-Control-Allow-Origin") in ("*", page["Origin"])
    written = post(client, {"user_id": "u1", "item_id": "shoe-1", "event": "view"}, headers={**AUTH, **page})
    assert written.status_code == 200
    assert "Access-Control-Allow-Origin" not in written.headers


def test_session_picks_for_a_known_visitor_count_their_events_and_leave_out_their_purchases(client):
    post(
        client,
        {"user_id": "eve", "item_id": "tv-2", "event": "view"},
        {"user_id": "eve", "item_id": "cable-1", "event": "purchase"},
    )
    answer = client.post(
        "/v1/sessions/recommendations", json={"items": ["tv-1"], "user_id": "eve", "limit": 5}, headers=AUTH
    ).json
    assert answer["source"] == "session"
    assert not {"cable-1", "tv-1", "tv-2"} & set(ids(answer))  # bought, and the session's own items
    assert (
        client.post("/v1/sessions/recommendations", json={"items": ["tv-1"], "user_id": "bad\tid!"}).status_code == 400
    )
