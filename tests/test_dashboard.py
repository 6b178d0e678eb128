"""``/dashboard`` behind the API key: the login form and its cookie, the figures, rollback."""

import re

import pytest

from recsvc.contract import keys, versions
from recsvc.http.dashboard import COOKIE, duration
from tests.conftest import API_KEY, AUTH
from tests.gateways import steering_records
from tests.shop import write_shop
from training.evaluation.pipeline import offline_metrics
from training.train import Inputs, train


@pytest.fixture
def two_versions(r, tmp_path):
    """The known shop published twice, the second time with its offline evaluation; newest first."""
    paths = write_shop(tmp_path / "shop")
    inputs = Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"])
    first = train(r, inputs)
    second = train(r, inputs, offline_metrics=offline_metrics(paths["events"], catalog=paths["catalog"]))
    return second, first


def log_in(client, key=API_KEY):
    return client.post("/dashboard/login", data={"api_key": key})


def form_token(page: str) -> str:
    return re.search(r'name="form_token" value="([0-9a-f]+)"', page).group(1)


def test_without_the_key_only_the_login_form_shows(client, two_versions):
    page = client.get("/dashboard")
    assert page.status_code == 401 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert 'name="api_key"' in text and 'type="password"' in text
    assert two_versions[0].version not in text


def test_a_wrong_key_is_refused_and_sets_no_cookie(client, two_versions):
    answer = log_in(client, "wrong")
    assert answer.status_code == 401
    assert "Set-Cookie" not in answer.headers
    assert "not one of the API keys of this service" in answer.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 401


def test_the_key_is_kept_in_an_http_only_cookie_not_in_the_url(client, two_versions):
    answer = log_in(client)
    assert answer.status_code == 303 and answer.headers["Location"] == "/dashboard"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/dashboard" in cookie
    assert API_KEY not in answer.headers["Location"]
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert API_KEY not in page.get_data(as_text=True)
    client.post("/dashboard/logout")
    assert client.get("/dashboard").status_code == 401


def test_the_dashboard_shows_the_served_model_versions_and_figures(client, two_versions):
    served, older = two_versions
    log_in(client)
    page = client.get("/dashboard").get_data(as_text=True)
    assert f'<code data-field="served-version">{served.version}</code>' in page
    assert f'data-version="{older.version}"' in page and "Serve this version" in page
    state = client.get("/dashboard/state.json").json
    assert state["served"]["version"] == served.version
    assert 0 <= state["served"]["age_s"] < 600
    assert [v["version"] for v in state["versions"]] == [served.version, older.version]
    assert state["segments"] == served.summary["retention"]["buyers_by_segment"]
    assert state["triggers"] == served.summary["retention"]["triggers"]
    assert state["redis"]["used_memory"] > 0 and state["redis"]["model"]["user_keys"] > 0
    purchase = state["offline"]["tasks"]["purchase"]
    stored = served.summary["offline_metrics"]["purchase"]
    assert purchase["models"]["model"]["ndcg@10"] == stored["models"]["model"]["ndcg@10"]
    assert "itemknn_bm25" in purchase["models"] and "NDCG@10" in page
    kept = served.summary["offline_metrics"]["verdict"]
    assert state["offline"]["verdict"] == kept
    if kept:  # the known shop may measure too few users for one
        assert kept.startswith(("Publish", "Do not publish")) and kept in page


def test_a_version_without_an_evaluation_says_so(client, r, tmp_path):
    paths = write_shop(tmp_path / "shop")
    train(r, Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"]))
    log_in(client)
    assert 'data-field="offline-none"' in client.get("/dashboard").get_data(as_text=True)


def test_rollback_from_the_dashboard_needs_its_form_token(client, r, two_versions):
    served, older = two_versions
    log_in(client)
    token = form_token(client.get("/dashboard").get_data(as_text=True))
    forged = client.post("/dashboard/rollback", data={"version": older.version, "form_token": "0" * 32})
    assert forged.status_code == 400 and versions.current(r) == served.version
    unknown = client.post("/dashboard/rollback", data={"version": "no-such", "form_token": token})
    assert unknown.status_code == 400 and "not published" in unknown.get_data(as_text=True)
    done = client.post("/dashboard/rollback", data={"version": older.version, "form_token": token})
    assert done.status_code == 303 and versions.current(r) == older.version


def test_rollback_without_the_cookie_is_refused(client, r, two_versions):
    served, older = two_versions
    answer = client.post("/dashboard/rollback", data={"version": older.version, "form_token": "x"})
    assert answer.status_code == 401 and versions.current(r) == served.version


def test_the_figures_as_json_need_the_key(client, two_versions):
    assert client.get("/dashboard/state.json").status_code == 401
    assert client.get("/dashboard/state.json").json["error"]["code"] == "unauthenticated"
    assert client.get("/dashboard/state.json", headers=AUTH).json["served"]["version"] == two_versions[0].version


def test_the_ctr_per_list_counts_the_browsers_reports(client, two_versions):
    answers = [client.get("/v1/items/shoe-1/similar").json for _ in range(4)]
    for answer in answers:
        client.post("/v1/track", json={"rec_id": answer["rec_id"], "type": "impression"})
    shown = [item["item_id"] for item in answers[0]["items"]]
    click = {
        "rec_id": answers[0]["rec_id"],
        "type": "click",
        "item_id": shown[0],
        "shown": shown,
        "visitor_id": "v0123456789",
    }
    client.post("/v1/track", json=click)
    (row,) = client.get("/dashboard/state.json", headers=AUTH).json["ctr"]
    assert row == {"list": "similar", "impressions": 4, "clicks": 1, "ctr": 0.25}


def test_no_model_yet_is_a_page_that_says_so(client, r):
    log_in(client)
    page = client.get("/dashboard")
    assert page.status_code == 200 and "No model is published yet" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "seconds, text", [(None, "unknown"), (59, "0 min"), (3_700, "1 h 1 min"), (200_000, "2 d 7 h")]
)
def test_ages_read_as_a_person_would_say_them(seconds, text):
    assert duration(seconds) == text


def test_the_retention_figures_are_those_the_version_published(client, r, two_versions):
    served, _ = two_versions
    log_in(client)
    figures = client.get("/v1/analytics/retention", headers=AUTH).json
    shown = client.get("/dashboard/state.json").json["retention"]
    assert shown["overall"]["buyers"] == figures["overall"]["buyers"] > 0
    assert shown["repeat_rate"]["30"] == figures["overall"]["repeat_rate"]["30"]
    assert [c["cohort"] for c in shown["cohorts"]] == [c["cohort"] for c in figures["cohorts"]][-12:]
    page = client.get("/dashboard").get_data(as_text=True)
    assert f'data-field="buyers">{figures["overall"]["buyers"]}<' in page
    assert all(f'data-cohort="{c["cohort"]}"' in page for c in shown["cohorts"])
    r.delete(keys.analytics(served.version))  # a version published before the figures existed
    assert "published without retention figures" in client.get("/dashboard").get_data(as_text=True)


def test_the_dashboard_shows_the_rules_and_the_ab_test_with_its_verdicts(client, r, two_versions):
    from recsvc.admin import steering
    from recsvc.read.experiments import Arm

    new, old = two_versions
    steering.set_rules(steering_records(r), [{"name": "coffee-up", "type": "boost", "when": {"category": "coffee"}}])
    steering.start_experiment(steering_records(r), "models", [Arm("a", new.version), Arm("b", old.version)])
    users = [f"runner-{n}" for n in range(40)]
    for user in users:
        client.get(f"/v1/users/{user}/recommendations")
    log_in(client)
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'data-rule="coffee-up"' in page and 'data-experiment="models"' in page
    shown = [int(n) for n in re.findall(r'data-arm="[ab]">.*?data-field="users">(\d+)<', page, re.S)]
    assert len(shown) == 2 and sum(shown) == len(users)
    assert "b against a, conversion" in page and "two-proportion z-test" in page
    state = client.get("/dashboard/state.json", headers=AUTH).json
    assert state["experiments"][0]["name"] == "models" and state["rules"][0]["name"] == "coffee-up"


def test_rollback_from_the_dashboard_while_a_publish_holds_the_lock_is_refused_with_409(
    client, r, two_versions, monkeypatch
):
    """Regression: the dashboard's rollback wrote the pointer past the lock, and the publish's switch undid it."""
    served, older = two_versions
    log_in(client)
    token = form_token(client.get("/dashboard").get_data(as_text=True))
    r.set(keys.PUBLISH_LOCK, "a-publish-under-way", px=60_000)
    monkeypatch.setattr(versions, "ROLLBACK_WAIT_S", 0.2, raising=False)
    refused = client.post("/dashboard/rollback", data={"version": older.version, "form_token": token})
    assert refused.status_code == 409 and "publishing" in refused.get_data(as_text=True)
    assert versions.current(r) == served.version
