"""The widget in a real browser: Debian's Chromium loads a shop's page with one script tag and three lists
from the demo shop, served by gunicorn on another origin; clicks are counted; a stopped or slow service
leaves the page as it was."""

import json
import time
import urllib.request

import pytest
import redis

from cli.trainer import demo_urls
from recsvc.contract import keys
from recsvc.http.tokens import make_token
from tests.browser import SHOP_ITEMS, Pages, Service, chromium, free_port, placeholder_images, train_demo_shop
from tests.gateways import browser_reports

KEY = "browser-test-key"
SECRET = "browser-test-token-secret"


@pytest.fixture(scope="module")
def demo(redis_url, tmp_path_factory):
    """The demo shop trained into the test Redis and served; the Redis is emptied afterwards."""
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    folder = tmp_path_factory.mktemp("demo")
    train_demo_shop(r, folder)
    urls = demo_urls(type("Shop", (), {"catalog": folder / "catalog.csv", "events": folder / "events.csv"}))
    user = urls[0].split("/")[3]
    shoe = urls[1].split("/")[3]
    service = Service(redis_url, KEY, TOKEN_SECRET=SECRET)
    pages = Pages()
    yield {"service": service, "pages": pages, "user": user, "shoe": shoe, "r": r}
    pages.stop()
    service.stop()
    r.flushdb()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser):
    """A fresh page (its own storage) that records uncaught errors in ``page.errors``."""
    context = browser.new_context()
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(error))
    placeholder_images(page)
    yield page
    context.close()


def shop_page(api: str, body: str, script_src: str | None = None, script_attrs: str = 'data-timeout="8000"') -> str:
    src = script_src or f"{api}/widget.js"
    return (
        f'<!doctype html><html lang="en"><head><title>A shop</title>'
        f'<script src="{src}" data-api="{api}" {script_attrs} async></script></head>'
        f'<body><h1>A shop</h1>{body}<button id="own" onclick="this.textContent=\'still works\'">press</button>'
        "</body></html>"
    )


def api_answer(service: Service, path: str, body: dict | None = None, key: bool = True) -> dict:
    """The service's answer, asked with the key unless ``key`` is False (as a page without a user token asks)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **({"X-API-Key": KEY} if key else {})}
    request = urllib.request.Request(service.url + path, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.load(response)


def rendered(page, selector: str) -> list[dict]:
    return page.eval_on_selector_all(
        f"{selector} [data-recsvc-item]",
        """links => links.map(a => ({
            item_id: a.dataset.recsvcItem, href: a.getAttribute('href'),
            alt: a.querySelector('img') && a.querySelector('img').alt,
            name: a.querySelector('.recsvc-name').textContent,
            price: a.querySelector('.recsvc-price') && a.querySelector('.recsvc-price').textContent}))""",
    )


THREE_LISTS = (
    '<div id="also" data-recsvc="also-bought" data-item-id="{shoe}" data-limit="4"></div>'
    '<div id="picks" data-recsvc="recommendations" data-user-id="{user}" data-limit="5" data-title="For you"></div>'
    '<div id="popular" data-recsvc="popular" data-limit="3"></div>'
)


def open_three_lists(demo, page) -> None:
    service, pages = demo["service"], demo["pages"]
    pages.pages["/three"] = shop_page(service.url, THREE_LISTS.format(shoe=demo["shoe"], user=demo["user"]))
    page.goto(pages.url + "/three")
    page.wait_for_selector("#also[data-recsvc-state=ready]", timeout=20_000)
    page.wait_for_selector("#picks[data-recsvc-state=ready]", timeout=20_000)
    page.wait_for_selector("#popular[data-recsvc-state=ready]", timeout=20_000)


def test_three_widgets_render_the_demo_shops_items(demo, page):
    open_three_lists(demo, page)
    service, shoe, user = demo["service"], demo["shoe"], demo["user"]
    expected = {
        "#also": api_answer(service, f"/v1/items/{shoe}/also-bought?limit=4"),
        "#picks": api_answer(service, f"/v1/users/{user}/recommendations?limit=5", key=False),  # no user token
        "#popular": api_answer(service, "/v1/popular?limit=3"),
    }
    for selector, answer in expected.items():
        items = rendered(page, selector)
        assert [i["item_id"] for i in items] == [i["item_id"] for i in answer["items"]], selector
        for shown, item in zip(items, answer["items"]):
            assert shown["href"] == item["url"] and shown["href"].startswith(SHOP_ITEMS)
            assert shown["alt"] == shown["name"] == item["title"]
            assert shown["price"] == f"{item['price']:.2f}"
    assert page.get_attribute("#popular ul", "role") == "list"
    assert page.get_attribute("#popular ul", "aria-label") == "Popular right now"
    title_id = page.get_attribute("#picks .recsvc-title", "id")
    assert page.get_attribute("#picks ul", "aria-labelledby") == title_id
    assert page.text_content("#picks .recsvc-title") == "For you"
    page.keyboard.press("Tab")  # the first list's first item takes the keyboard focus
    assert page.evaluate("document.activeElement.dataset.recsvcItem") == expected["#also"]["items"][0]["item_id"]
    assert page.errors == []


def test_a_click_is_counted_and_reaches_the_events_stream(demo, page):
    r = demo["r"]
    r.delete(keys.EVENTS_STREAM, *r.scan_iter(match="recsvc:tracking:counts:*"))
    open_three_lists(demo, page)
    first = page.get_attribute("#also [data-recsvc-item]", "data-recsvc-item")
    page.evaluate("recsvc.visitor()")
    visitor = page.evaluate("localStorage.getItem('recsvc.visitor')")
    page.click(f'#also [data-recsvc-item="{first}"]')
    page.wait_for_url(f"{SHOP_ITEMS}**")
    counts = browser_reports(r).counts()
    deadline = time.monotonic() + 10
    while counts.get("also_bought", {}).get("click", 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
        counts = browser_reports(r).counts()
    assert counts["also_bought"] == {"impression": 1, "click": 1}
    assert counts["user_recommendations"]["impression"] == 1 and counts["popular"]["impression"] == 1
    ((_, fields),) = r.xrange(keys.EVENTS_STREAM)
    assert fields[b"item_id"].decode() == first and fields[b"event"] == b"view"
    assert fields[b"user_id"].decode() == f"visitor:{visitor}"
    with urllib.request.urlopen(demo["service"].url + "/metrics", timeout=20) as response:
        metrics = response.read().decode()
    assert 'recsvc_tracked_total{endpoint="also_bought",kind="click"} 1.0' in metrics
    assert page.errors == []


def test_the_session_list_follows_the_items_viewed_in_this_browser_session(demo, page):
    service, pages = demo["service"], demo["pages"]
    shoe = demo["shoe"]
    pages.pages["/product"] = shop_page(service.url, f'<div data-recsvc="similar" data-item-id="{shoe}"></div>')
    pages.pages["/home"] = shop_page(service.url, '<div id="session" data-recsvc="session" data-limit="4"></div>')
    page.goto(pages.url + "/product")
    page.wait_for_selector("[data-recsvc-state=ready]", timeout=20_000)
    page.goto(pages.url + "/home")
    page.wait_for_selector("#session[data-recsvc-state=ready]", timeout=20_000)
    answer = api_answer(service, "/v1/sessions/recommendations", {"items": [shoe], "limit": 4})
    assert answer["source"] == "session"
    assert [i["item_id"] for i in rendered(page, "#session")] == [i["item_id"] for i in answer["items"]]
    assert page.errors == []


def test_the_customers_own_lists_render_with_a_signed_user_token(demo, page):
    service, pages, user = demo["service"], demo["pages"], demo["user"]
    token = make_token(SECRET, user)
    body = "".join(
        f'<div id="{kind}" data-recsvc="{kind}" data-user-id="{user}" data-user-token="{token}" data-limit="3"></div>'
        for kind in ("buy-again", "recently-viewed")
    )
    body += f'<div id="forged" data-recsvc="buy-again" data-user-id="{user}" data-user-token="{token}x"></div>'
    pages.pages["/mine"] = shop_page(service.url, body)
    page.goto(pages.url + "/mine")
    for kind in ("buy-again", "recently-viewed"):
        page.wait_for_selector(f"#{kind}[data-recsvc-state=ready]", timeout=20_000)
        answer = api_answer(service, f"/v1/users/{user}/{kind}?limit=3")
        assert [i["item_id"] for i in rendered(page, f"#{kind}")] == [i["item_id"] for i in answer["items"]], kind
    assert api_answer(service, f"/v1/users/{user}/buy-again?limit=3")["source"] == "buy_again"
    page.wait_for_selector("#forged[data-recsvc-state=unavailable]", state="attached", timeout=20_000)  # a 401
    assert page.inner_html("#forged") == ""
    assert page.errors == []


def test_with_a_user_token_picks_and_also_bought_are_the_users_own_and_a_click_is_theirs(demo, page):
    service, pages, user, shoe, r = demo["service"], demo["pages"], demo["user"], demo["shoe"], demo["r"]
    r.delete(keys.EVENTS_STREAM, keys.live(user))
    token = make_token(SECRET, user)
    pages.pages["/own"] = shop_page(
        service.url,
        f'<div id="picks" data-recsvc="recommendations" data-user-id="{user}" data-user-token="{token}" '
        f'data-limit="5"></div><div id="also" data-recsvc="also-bought" data-item-id="{shoe}" '
        f'data-user-id="{user}" data-user-token="{token}" data-limit="4"></div>',
    )
    page.goto(pages.url + "/own")
    page.wait_for_selector("#picks[data-recsvc-state=ready]", timeout=20_000)
    page.wait_for_selector("#also[data-recsvc-state=ready]", timeout=20_000)
    picks = api_answer(service, f"/v1/users/{user}/recommendations?limit=5")
    also = api_answer(service, f"/v1/items/{shoe}/also-bought?limit=4&user_id={user}")
    assert [i["item_id"] for i in rendered(page, "#picks")] == [i["item_id"] for i in picks["items"]]
    assert [i["item_id"] for i in rendered(page, "#also")] == [i["item_id"] for i in also["items"]]
    first = page.get_attribute("#picks [data-recsvc-item]", "data-recsvc-item")
    page.click(f'#picks [data-recsvc-item="{first}"]')
    page.wait_for_url(f"{SHOP_ITEMS}**")
    deadline = time.monotonic() + 10
    while not r.xlen(keys.EVENTS_STREAM) and time.monotonic() < deadline:
        time.sleep(0.1)
    ((_, fields),) = r.xrange(keys.EVENTS_STREAM)
    assert (fields[b"user_id"].decode(), fields[b"item_id"].decode()) == (user, first)  # the user's own view
    assert page.errors == []


FALLBACK = '<div id="{id}" data-recsvc="popular" data-limit="3"><p>Our favourites</p></div>'


def intact(page) -> None:
    """The page's own content is there, its own script works, the lists kept what the shop put in them."""
    assert page.text_content("h1") == "A shop"
    assert page.inner_html("#down") == "<p>Our favourites</p>"
    page.click("#own")
    assert page.text_content("#own") == "still works"
    assert page.errors == []


def test_a_stopped_service_leaves_the_page_intact(demo, redis_url, page):
    stopped = Service(redis_url, KEY)
    pages = demo["pages"]
    pages.pages["/down"] = shop_page(stopped.url, FALLBACK.format(id="down"))
    stopped.stop()
    page.goto(pages.url + "/down")
    page.wait_for_load_state("load")
    intact(page)
    assert page.get_attribute("#down", "data-recsvc-state") is None  # the script itself could not load


def test_an_unreachable_api_leaves_the_page_intact(demo, page):
    pages, service = demo["pages"], demo["service"]
    dead = f"http://127.0.0.1:{free_port()}"
    pages.pages["/unreachable"] = shop_page(dead, FALLBACK.format(id="down"), script_src=f"{service.url}/widget.js")
    page.goto(pages.url + "/unreachable")
    page.wait_for_selector("#down[data-recsvc-state=unavailable]", timeout=20_000)
    intact(page)


def test_a_slow_api_times_out_and_leaves_the_page_intact(demo, page):
    pages, service = demo["pages"], demo["service"]
    slow = f"{pages.url}/slow"
    pages.pages["/lagging"] = shop_page(
        slow, FALLBACK.format(id="down"), script_src=f"{service.url}/widget.js", script_attrs='data-timeout="700"'
    )
    started = time.monotonic()
    page.goto(pages.url + "/lagging")
    page.wait_for_selector("#down[data-recsvc-state=unavailable]", timeout=20_000)
    assert time.monotonic() - started < 5
    intact(page)
