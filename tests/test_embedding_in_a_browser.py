"""A reader of a news site sees the debate under the article: a real Chromium, the article on another origin.

The article is served by a small http.server of the test's own, on 127.0.0.1, and the forum by the live
server on localhost: two origins, as a news site and the forum are. The same article page reached as
http://localhost:<port> is a third origin, one the operator did not allow.
"""

import http.server
import threading
from pathlib import Path

import pytest

from discussions import services
from tests.support.browser import chrome
from tests.support.factories import make_reply

VAR = Path(__file__).resolve().parent.parent / "var"
ARTICLE_PATH = "/2024/11/sora-leak"
START_HEIGHT = 320  # what embed.js gives the iframe before the widget reports its own


def article_page(forum: str, target: str) -> bytes:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>The Sora leak</title></head>
<body style="font-family: Georgia, serif; max-width: 760px; margin: 24px auto">
<h1>Artists open up Sora in protest</h1>
<p>The article's text. What do you think? Let's discuss in the comments.</p>
<div data-stance-debate="{target}"></div>
<p id="after">The end of the page.</p>
<script src="{forum}/embed.js" async></script>
</body></html>""".encode()


@pytest.fixture
def article_site(live_server):
    """The news site: one page, embedding by slug at / and by the article's own address at the article's path."""

    class Article(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            host = self.headers.get("Host", "")
            target = "sora-leak" if self.path == "/" else f"http://{host}{ARTICLE_PATH}"
            body = article_page(live_server.url, target)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Article)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser():
    driver = chrome(window="900,1400")
    yield driver
    driver.quit()


def widget_height(browser, frame) -> float:
    browser.switch_to.frame(frame)
    try:
        return browser.execute_script("return document.documentElement.getBoundingClientRect().height")
    finally:
        browser.switch_to.default_content()


# A live server reads committed data, hence transaction=True.
@pytest.mark.django_db(transaction=True)
def test_the_widget_appears_under_an_allowed_article_and_sizes_itself(
    live_server, article_site, browser, settings, topic, thread, reply, author
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    make_reply(thread=thread, author=author, stance="pro-tester", body="Feedback *is* work; work is **paid**.")
    services.vote_cast(actor=author, reply_id=reply.pk, value=1)
    news = f"http://127.0.0.1:{article_site}"
    services.topic_update(actor=None, topic=topic, source_url=news + ARTICLE_PATH)
    settings.EMBED_ALLOWED_ORIGINS = [news]

    for path, shot in (("/", "embed-widget.png"), (ARTICLE_PATH, None)):
        browser.get(news + path)
        frame = browser.find_element(By.CSS_SELECTOR, "div[data-stance-debate] iframe")
        # Sized by the widget's postMessage: the iframe's height becomes its content's.
        WebDriverWait(browser, 10).until(lambda b, frame=frame: frame.size["height"] != START_HEIGHT)
        assert abs(frame.size["height"] - widget_height(browser, frame)) <= 2

        browser.switch_to.frame(frame)
        assert browser.find_element(By.ID, "debate-question").text == "Who is right?"
        legend = {
            item.get_attribute("data-stance"): item.text
            for item in browser.find_elements(By.CSS_SELECTOR, ".legend li")
        }
        assert legend == {
            "pro-tester": "The testers had a point: 67% of replies (2), 0% of upvotes",
            "pro-openai": "OpenAI's programme was fair: 33% of replies (1), 100% of upvotes",
        }
        assert "Feedback is work; work is paid." in browser.find_element(By.CSS_SELECTOR, ".sides").text
        browser.switch_to.default_content()
        if shot:
            VAR.mkdir(exist_ok=True)
            browser.save_screenshot(str(VAR / shot))
            assert (VAR / shot).stat().st_size > 10_000
    csp = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert csp == []


@pytest.mark.django_db(transaction=True)
def test_an_article_on_an_origin_not_allowed_gets_no_widget(live_server, article_site, browser, settings, topic):
    from selenium.webdriver.common.by import By

    settings.EMBED_ALLOWED_ORIGINS = [f"http://127.0.0.1:{article_site}"]
    browser.get(f"http://localhost:{article_site}/")  # the same page, from an origin nobody allowed
    frame = browser.find_element(By.CSS_SELECTOR, "div[data-stance-debate] iframe")
    browser.implicitly_wait(0)  # what is absent is looked for once, not waited for
    browser.switch_to.frame(frame)
    assert browser.find_elements(By.ID, "debate-question") == []
    browser.switch_to.default_content()
    refused = [e["message"] for e in browser.get_log("browser") if "frame-ancestors" in e["message"]]
    assert refused, "Chromium should say it refused the frame"
    assert frame.size["height"] == START_HEIGHT  # no widget ever reported a height
    browser.save_screenshot(str(VAR / "embed-refused.png"))
