"""The dashboard in Debian's Chromium: log in with the key, see the served model, roll back."""

import pytest
import redis

from recsvc.contract import versions
from tests.browser import Service, chromium
from tests.shop import write_shop
from training.train import Inputs, train

KEY = "dashboard-test-key"


@pytest.fixture(scope="module")
def served(redis_url, tmp_path_factory):
    """The known shop published twice and served by gunicorn; yields (service, newest, older)."""
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    paths = write_shop(tmp_path_factory.mktemp("shop"))
    inputs = Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"])
    older = train(r, inputs).version
    newest = train(r, inputs).version
    service = Service(redis_url, KEY)
    yield service, newest, older, r
    service.stop()
    r.flushdb()


def test_log_in_see_the_served_model_and_roll_back(served):
    service, newest, older, r = served
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        errors: list = []
        page.on("pageerror", lambda error: errors.append(error))
        page.goto(f"{service.url}/dashboard")
        assert page.is_visible("input[name=api_key]")
        page.fill("input[name=api_key]", "wrong")
        page.click("button[type=submit]")
        assert page.is_visible("[role=alert]")
        page.fill("input[name=api_key]", KEY)
        page.click("button[type=submit]")
        page.wait_for_selector("[data-field=served-version]")
        assert page.text_content("[data-field=served-version]") == newest
        assert KEY not in page.url
        (cookie,) = context.cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/dashboard"
        assert page.evaluate("document.cookie") == ""  # the page's scripts cannot read the key
        assert page.text_content(f'tr[data-version="{newest}"]').strip().endswith("served")
        page.click(f'tr[data-version="{older}"] button')
        page.wait_for_selector(f'tr.served[data-version="{older}"]')
        assert page.text_content("[data-field=served-version]") == older
        assert versions.current(r) == older
        assert page.is_visible("#redis") and page.is_visible("#segments") and page.is_visible("#triggers")
        assert errors == []
        context.close()
