"""Customer data needs a key or a signed user token; batch needs a key and bounds its work."""

import shutil
import subprocess
import time

import pytest

from recsvc import create_app
from recsvc.http.tokens import MAX_TTL_S, check_token, make_token
from tests.conftest import API_KEY, AUTH

SECRET = "s3cret-of-the-shop"


@pytest.fixture
def app_with(redis_url):
    """A test client made with extra settings on top of the usual ones."""

    def make(**config):
        settings = {"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": API_KEY, "TOKEN_SECRET": SECRET}
        return create_app({**settings, **config}).test_client()

    return make


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_good_for_its_user_until_it_expires():
    now = 1_800_000_000
    token = make_token(SECRET, "покупатель-1", 600, now=now)
    expiry, signature = token.split(".")
    assert int(expiry) == now + 600 and "=" not in signature
    assert check_token(SECRET, "покупатель-1", token, now=now + 599)
    assert not check_token(SECRET, "покупатель-1", token, now=now + 600)  # expired
    assert not check_token(SECRET, "покупатель-2", token, now=now)  # another user's
    assert not check_token("other-secret", "покупатель-1", token, now=now)  # another shop's
    forged = f"{now + 10_000}.{signature}"  # a later expiry with the old signature
    assert not check_token(SECRET, "покупатель-1", forged, now=now)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert not check_token(SECRET, "покупатель-1", flipped, now=now)
    for bad in ("", ".", "abc", f"{now + 60}", f"-{now}.{signature}", f"{now + 60}.", "1e20.xyz", "٣٣٣.x"):
        assert not check_token(SECRET, "покупатель-1", bad, now=now)
    assert not check_token("", "покупатель-1", token, now=now)


def test_a_token_valid_for_too_long_is_refused():
    now = 1_800_000_000
    assert check_token(SECRET, "u1", make_token(SECRET, "u1", MAX_TTL_S, now=now), now=now)
    assert not check_token(SECRET, "u1", make_token(SECRET, "u1", MAX_TTL_S + 1, now=now), now=now)
    with pytest.raises(ValueError):
        make_token("", "u1", 60)


@pytest.mark.parametrize("endpoint", ["profile", "buy-again"])
def test_customer_data_needs_a_key_or_a_token_for_that_user(app_with, retention_model, endpoint):
    """Regression: profile and buy-again answered anyone, from any origin."""
    client = app_with()
    url = f"/v1/users/steady/{endpoint}"
    response = client.get(url)
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthenticated"
    assert client.get(url, headers=AUTH).status_code == 200
    token = make_token(SECRET, "steady", 300)
    assert client.get(url, headers=bearer(token)).status_code == 200
    assert client.get(f"{url}?token={token}").status_code == 200
    assert client.get(url, headers=bearer(make_token(SECRET, "drifting", 300))).status_code == 401
    assert client.get(url, headers=bearer(make_token(SECRET, "steady", 300, now=time.time() - 301))).status_code == 401
    assert client.get(url, headers=bearer(make_token("not-the-secret", "steady", 300))).status_code == 401
    assert client.get(url, headers={"X-API-Key": "wrong"}).status_code == 401
    for response in (client.get(url, headers=bearer("junk")), client.get(f"{url}?token=1.2")):
        assert response.status_code == 401 and set(response.json["error"]) == {"code", "message"}


def test_without_a_secret_no_token_is_accepted(app_with, retention_model):
    client = app_with(TOKEN_SECRET="")
    assert client.get("/v1/users/steady/profile", headers=bearer(make_token(SECRET, "steady", 300))).status_code == 401


def test_a_token_made_with_the_documented_shell_recipe_is_accepted(app_with, retention_model):
    if not shutil.which("openssl"):
        pytest.skip("no openssl")
    script = (
        'secret="$1"; user="$2"; expiry=$(( $(date +%s) + 900 ))\n'
        'sig=$(printf \'%s.%s\' "$expiry" "$user" | openssl dgst -sha256 -hmac "$secret" -binary'
        " | openssl base64 -A | tr '+/' '-_' | tr -d '=')\n"
        'echo "$expiry.$sig"\n'
    )
    token = subprocess.run(["bash", "-c", script, "-", SECRET, "steady"], capture_output=True, text=True).stdout
    assert check_token(SECRET, "steady", token.strip())
    assert app_with().get("/v1/users/steady/profile", headers=bearer(token.strip())).status_code == 200


USER_KEYED = [
    "/v1/users/u1/recommendations",
    "/v1/users/u1/category-offers",
]
"""Open by default (naming no history item without a key or token)."""
OPEN = ["/v1/popular", "/v1/items/shoe-1/similar", "/v1/items/shoe-1/also-bought", "/v1/model"]


@pytest.mark.parametrize("setting", [True, "true", "1"])
def test_the_setting_makes_every_user_keyed_read_need_a_key_or_a_token(app_with, shop_model, setting):
    client = app_with(REQUIRE_USER_TOKEN=setting)
    token = make_token(SECRET, "u1", 300)
    for url in USER_KEYED:
        assert client.get(url).status_code == 401, url
        assert client.get(url, headers=bearer(make_token(SECRET, "u2", 300))).status_code == 401, url
        assert client.get(url, headers=bearer(token)).status_code == 200, url
        assert client.get(url, headers=AUTH).status_code == 200, url
    session = {"items": ["shoe-1"], "user_id": "u1"}
    assert client.post("/v1/sessions/recommendations", json=session).status_code == 401
    assert client.post("/v1/sessions/recommendations", json=session, headers=bearer(token)).status_code == 200
    assert client.post("/v1/sessions/recommendations", json={"items": ["shoe-1"]}).status_code == 200
    for url in OPEN:
        assert client.get(url).status_code == 200, url


def test_user_keyed_reads_stay_open_by_default(app_with, shop_model, monkeypatch):
    monkeypatch.setenv("RECSVC_REQUIRE_USER_TOKEN", "false")
    client = app_with()
    for url in USER_KEYED + OPEN:
        assert client.get(url).status_code == 200, url


def test_the_setting_is_read_from_the_environment(redis_url, shop_model, monkeypatch):
    monkeypatch.setenv("RECSVC_REQUIRE_USER_TOKEN", "true")
    client = create_app({"REDIS_URL": redis_url, "TESTING": True}).test_client()
    assert client.get("/v1/users/u1/recommendations").status_code == 401


def test_cors_lets_a_shop_page_send_the_token(app_with, retention_model):
    client = app_with(CORS_ORIGINS="https://shop.test")
    preflight = client.options(
        "/v1/users/steady/profile",
        headers={
            "Origin": "https://shop.test",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.test"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    headers = {"Origin": "https://shop.test", **bearer(make_token(SECRET, "steady", 60))}
    response = client.get("/v1/users/steady/profile", headers=headers)
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "https://shop.test"


def test_batch_needs_a_key(client, shop_model):
    """Regression: anyone could ask for 1,000 users' picks at once."""
    response = client.post("/v1/recommendations/batch", json={"user_ids": ["u1"]})
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthenticated"


def test_batch_bounds_users_times_limit(client, shop_model):
    users = [f"u{n}" for n in range(1_000)]
    response = client.post("/v1/recommendations/batch", json={"user_ids": users, "limit": 21}, headers=AUTH)
    assert response.status_code == 400
    assert "20,000" in response.json["error"]["message"] and "21,000" in response.json["error"]["message"]
    response = client.post("/v1/recommendations/batch", json={"user_ids": users[:200], "limit": 100}, headers=AUTH)
    assert response.status_code == 200 and len(response.json["results"]) == 200
