"""Regression (issue 26, item 10): the dashboard's login had no bound, its cookie held the raw API key, ignored a
TLS proxy for ``Secure``, and its pages could be framed. Now: a signed session id, attempts bounded per client,
``Secure`` behind a trusted proxy, ``X-Frame-Options`` and a Content-Security-Policy."""

import re

import pytest

from recsvc import create_app
from recsvc.contract import keys
from recsvc.http.dashboard import COOKIE
from tests.conftest import API_KEY

PROXY = {"REMOTE_ADDR": "10.0.0.1"}


@pytest.fixture
def make_client(r, redis_url):
    """A dashboard client with extra settings, on an empty Redis (emptied again afterwards by ``r``)."""

    def make(**config):
        return create_app({"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": API_KEY, **config}).test_client()

    return make


def log_in(client, key=API_KEY, **kwargs):
    return client.post("/dashboard/login", data={"api_key": key}, **kwargs)


def cookie_value(response) -> str:
    return re.match(rf"{COOKIE}=([^;]*)", response.headers["Set-Cookie"]).group(1)


def test_the_cookie_holds_a_signed_session_id_not_the_key(make_client, r):
    client = make_client()
    value = cookie_value(log_in(client))
    assert API_KEY not in value
    (session_key,) = r.scan_iter(match=keys.dashboard_session("*"))
    assert session_key.decode().rpartition(":")[2] in value and API_KEY.encode() not in r.get(session_key)
    assert client.get("/dashboard").status_code == 200
    for forged in (API_KEY, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"), value.rpartition(".")[0]):
        other = make_client()
        other.set_cookie(COOKIE, forged, path="/dashboard")
        assert other.get("/dashboard").status_code == 401, forged


def test_logging_out_ends_the_session_on_the_server(make_client):
    client = make_client()
    value = cookie_value(log_in(client))
    client.post("/dashboard/logout")
    replay = make_client()
    replay.set_cookie(COOKIE, value, path="/dashboard")
    assert replay.get("/dashboard").status_code == 401
    assert replay.get("/dashboard/state.json").status_code == 401


def test_a_session_ends_when_its_key_is_no_longer_configured(make_client):
    client = make_client(API_KEYS=f"{API_KEY},another-key")
    value = cookie_value(log_in(client, "another-key"))
    rotated = make_client()  # the same Redis, another-key removed from RECSVC_API_KEYS
    rotated.set_cookie(COOKIE, value, path="/dashboard")
    assert rotated.get("/dashboard").status_code == 401


def test_login_attempts_are_bounded_per_client_address(make_client):
    client = make_client(DASHBOARD_LOGIN_RATE=3)
    statuses = [log_in(client, f"guess-{n}").status_code for n in range(3)]
    assert statuses == [401, 401, 401]
    bounded = log_in(client)  # even the right key waits for the next minute
    assert bounded.status_code == 429 and "Set-Cookie" not in bounded.headers
    assert "Too many attempts" in bounded.get_data(as_text=True)
    assert log_in(client, environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 303


def test_behind_one_proxy_each_browser_has_its_own_bound(make_client):
    client = make_client(DASHBOARD_LOGIN_RATE=2, PROXY_HOPS=1)
    for n in range(2):
        log_in(client, f"guess-{n}", headers={"X-Forwarded-For": "203.0.113.5"}, environ_base=PROXY)
    assert log_in(client, headers={"X-Forwarded-For": "203.0.113.5"}, environ_base=PROXY).status_code == 429
    assert log_in(client, headers={"X-Forwarded-For": "198.51.100.7"}, environ_base=PROXY).status_code == 303


@pytest.mark.parametrize("hops, secure", [(1, True), (0, False)])
def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(make_client, hops, secure):
    client = make_client(PROXY_HOPS=hops)
    answer = log_in(client, headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"})
    assert answer.status_code == 303
    assert ("; Secure" in answer.headers["Set-Cookie"]) is secure


@pytest.mark.parametrize("logged_in", [False, True])
def test_dashboard_pages_may_not_be_framed_and_run_only_their_own_style(make_client, logged_in):
    client = make_client()
    if logged_in:
        log_in(client)
    page = client.get("/dashboard")
    assert page.status_code == (200 if logged_in else 401)
    assert page.headers["X-Frame-Options"] == "DENY"
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy and "script-src" not in policy
    (nonce,) = re.findall(r"style-src 'nonce-([A-Za-z0-9_-]+)'", policy)
    assert f'<style nonce="{nonce}">' in page.get_data(as_text=True)
    assert nonce not in client.get("/dashboard").headers["Content-Security-Policy"]  # a new one for each page
