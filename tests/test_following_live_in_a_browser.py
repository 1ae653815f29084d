"""In a real Chromium: an EventSource on a debate sees a reply posted through the API appear, a signed-in
page's EventSource opens with a ticket, and the embedded widget redraws its counts from the stream."""

import time
from pathlib import Path

import pytest

from tests.support.browser import chrome
from tests.support.live import live_node, person

pytestmark = pytest.mark.timeout(120)

SCREENSHOT = Path(__file__).resolve().parent.parent / "var" / "live-widget.png"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    with live_node(tmp_path_factory.mktemp("live"), STREAM_COALESCE_SECONDS="0.2") as node:
        yield node


@pytest.fixture
def browser():
    driver = chrome()
    yield driver
    driver.quit()


def post(node, token, body):
    with node.api(token) as client:
        thread = client.get("/api/threads/", params={"topic": "sora-leak"}).json()["results"][0]["id"]
        answer = client.post("/api/replies/", json={"thread": thread, "body": body, "stance": "pro-tester"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def wait_for(browser, script: str, timeout: float = 5.0):
    """Run `script` (which returns a value) until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = browser.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"nothing from {script!r} within {timeout} s")


OPEN = """
const done = arguments[arguments.length - 1];
window.seen = [];
const source = new EventSource(arguments[0]);
for (const name of ["reply", "unread-count"]) {
  source.addEventListener(name, (e) => window.seen.push({name, id: e.lastEventId, data: JSON.parse(e.data)}));
}
source.onopen = () => done("open");
source.onerror = () => done("error " + source.readyState);
"""


def test_an_event_source_sees_a_reply_posted_through_the_api(node, browser):
    browser.get(f"{node.base}/api/")  # a page of the service's own origin
    assert browser.execute_async_script(OPEN, "/api/topics/sora-leak/events/") == "open"

    posted = post(node, person(node, "browser-poster"), "Seen in Chromium.")

    seen = wait_for(browser, "return window.seen.filter(e => e.name === 'reply');")
    assert seen[0]["data"]["id"] == posted["id"] and int(seen[0]["id"]) > 0


def test_a_ticket_opens_the_callers_stream_from_the_browser(node, browser):
    token = person(node, "browser-reader")
    with node.api(token) as client:
        ticket = client.post("/api/auth/stream-ticket/").json()["ticket"]
    browser.get(f"{node.base}/api/")
    url = f"/api/me/events/?ticket={ticket}"
    assert browser.execute_async_script(OPEN, url) == "open"
    assert wait_for(browser, "return window.seen.filter(e => e.name === 'unread-count');")[0]["data"] == {"count": 0}

    assert browser.execute_async_script(OPEN, "/api/me/events/?ticket=forged") == "error 2"  # 401: closed


def test_the_widget_redraws_its_counts_from_the_stream(node, browser):
    browser.get(f"{node.base}/embed/topics/sora-leak/")
    counts = 'return document.querySelector("[data-count=replies]").textContent;'
    before = int(browser.execute_script(counts))
    time.sleep(1)  # the page's EventSource is open by now (it opens on load)

    post(node, person(node, "widget-poster"), "The widget should count me.")

    grown = f'const n = Number(document.querySelector("[data-count=replies]").textContent); return n > {before} && n;'
    assert wait_for(browser, grown) == before + 1
    # The noun follows the number ("1 reply", "2 replies"): set wrong by hand, the next frame rewrites it.
    browser.execute_script('document.querySelector("[data-noun=replies]").textContent = "reply";')
    post(node, person(node, "widget-poster-2"), "And me.")
    assert wait_for(browser, grown.replace(str(before), str(before + 1))) == before + 2
    assert browser.execute_script('return document.querySelector("[data-noun=replies]").textContent;') == "replies"
    SCREENSHOT.parent.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
