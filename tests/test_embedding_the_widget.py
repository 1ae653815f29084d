"""An operator lets a news site embed the debate: only allowed sites frame the widget or read the embed API."""

import re

import pytest
from django.core.cache import cache

from discussions import services
from discussions.embedding import allowed_origins
from discussions.models import EmbedOrigin
from forum.errors import NotAllowed
from forum.models import ModerationAction
from tests.support.factories import UserFactory, make_reply

pytestmark = pytest.mark.django_db

ARTICLE = "https://news.example.org/2024/11/sora-leak"
NEWS = "https://news.example.org"
ELSEWHERE = "https://evil.example.com"


@pytest.fixture
def operator():
    return UserFactory(username="ops", is_staff=True, is_superuser=True)


@pytest.fixture
def news_allowed(settings):
    settings.EMBED_ALLOWED_ORIGINS = [NEWS]
    return NEWS


@pytest.fixture
def debate(topic, thread, reply, author):
    services.topic_update(actor=None, topic=topic, source_url=ARTICLE)
    make_reply(thread=thread, author=author, stance="pro-tester", body="**Unpaid** is unpaid.")
    services.vote_cast(actor=author, reply_id=reply.pk, value=1)
    return topic


def frame_ancestors(response) -> str:
    return re.search(r"frame-ancestors ([^;]+)", response["Content-Security-Policy"]).group(1)


def test_the_widget_shows_the_question_balance_best_replies_and_a_join_link(client, debate, settings):
    settings.EMBED_JOIN_URL = "https://forum.example/t/{slug}"
    response = client.get("/embed/topics/sora-leak/")

    assert response.status_code == 200
    page = response.content.decode()
    assert '<h1 id="debate-question">Who is right?</h1>' in page
    # Both stances in the topic's order, with their shares of replies: 2 of 3 for the testers.
    assert page.index('data-stance="pro-tester"') < page.index('data-stance="pro-openai"')
    assert 'style="width: 67%; background: #1f77b4"' in page and 'style="width: 33%; background: #d62728"' in page
    assert 'role="img" aria-label="The testers had a point: 67% of replies; OpenAI' in page
    assert "<strong>Unpaid</strong> is unpaid." in page  # the sanitised body_html, not the Markdown
    assert "score 1" in page
    counts = page[page.index("data-counts>") + len("data-counts>") :].split("</p>")[0]
    assert " ".join(re.sub(r"<[^>]+>", " ", counts).split()) == "3 replies · 2 participants · 1 vote"  # not "1 votes"
    assert 'href="https://forum.example/t/sora-leak"' in page
    assert 'type="application/json+oembed" href="/api/oembed/?url=http%3A%2F%2Ftestserver%2Fembed%2Ftopics' in page
    assert '<script src="/embed/widget.js" defer></script>' in page and "<script>" not in page


def test_a_reply_cannot_smuggle_markup_into_the_widget(client, debate, thread, other):
    make_reply(thread=thread, author=other, body='<script>alert(1)</script><img src=x onerror="alert(2)">')
    page = client.get("/embed/topics/sora-leak/").content.decode()

    # Shown as the text it is, never as markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x" in page
    assert "<script>alert" not in page and "<img" not in page


def test_nobody_frames_the_widget_until_an_origin_is_allowed(client, debate):
    response = client.get("/embed/topics/sora-leak/")

    assert frame_ancestors(response) == "'none'"
    assert response["X-Frame-Options"] == "DENY"


def test_allowed_origins_from_the_setting_and_the_admin_may_frame_it(
    client, debate, news_allowed, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.embed_origin_add(actor=operator, origin="HTTPS://Blog.Example.net:443/", note="the blog")
    response = client.get("/embed/topics/sora-leak/")

    assert frame_ancestors(response) == "https://blog.example.net https://news.example.org"
    assert "X-Frame-Options" not in response  # browsers obey frame-ancestors; DENY would override nothing
    # The rest of the policy is the strict one of every page.
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_an_admin_change_applies_at_once_here_and_within_the_cache_period_elsewhere(
    debate, operator, django_capture_on_commit_callbacks
):
    assert allowed_origins() == ()
    EmbedOrigin.objects.create(origin="https://late.example")  # behind the service's back: the cache still holds ()
    assert allowed_origins() == ()
    with django_capture_on_commit_callbacks(execute=True):
        row = services.embed_origin_add(actor=operator, origin="https://news.example.org")
    assert allowed_origins() == ("https://late.example", "https://news.example.org")
    with django_capture_on_commit_callbacks(execute=True):
        services.embed_origin_remove(actor=operator, origin_id=row.pk)
    assert allowed_origins() == ("https://late.example",)
    cache.delete("embed-origins")  # what expiry does after EMBED_ORIGINS_CACHE_SECONDS


def test_only_operators_with_the_right_change_the_origins(author, moderator):
    for actor in (author, moderator):
        with pytest.raises(NotAllowed):
            services.embed_origin_add(actor=actor, origin=NEWS)
    assert not EmbedOrigin.objects.exists()


def test_the_admin_adds_and_removes_an_origin(client, operator, django_capture_on_commit_callbacks):
    client.force_login(operator)
    refused = client.post("/admin/discussions/embedorigin/add/", {"origin": "https://a.example/path", "note": ""})
    assert refused.status_code == 200 and "is not an origin" in refused.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        added = client.post("/admin/discussions/embedorigin/add/", {"origin": "https://A.example", "note": "A"})
    assert added.status_code == 302
    row = EmbedOrigin.objects.get()
    assert row.origin == "https://a.example"
    assert allowed_origins() == ("https://a.example",)
    with django_capture_on_commit_callbacks(execute=True):
        removed = client.post(f"/admin/discussions/embedorigin/{row.pk}/delete/", {"post": "yes"})
    assert removed.status_code == 302
    assert not EmbedOrigin.objects.exists() and allowed_origins() == ()


def test_every_change_to_the_allowed_sites_is_in_the_moderation_log(operator):
    row = services.embed_origin_add(actor=operator, origin="https://A.example", note="A")
    services.embed_origin_update(actor=operator, origin_id=row.pk, origin="https://b.example", note="B")
    services.embed_origin_update(actor=operator, origin_id=row.pk, origin="https://b.example", note="B")  # no-op
    services.embed_origin_remove(actor=operator, origin_id=row.pk)

    log = ModerationAction.objects.filter(target_type="embed-origin").order_by("id")
    first, second = {"origin": "https://a.example", "note": "A"}, {"origin": "https://b.example", "note": "B"}
    assert [(a.action, a.target_id, a.before, a.after) for a in log] == [
        ("allow-embed", row.pk, None, first),
        ("change-embed", row.pk, first, second),
        ("disallow-embed", row.pk, second, None),
    ]
    assert {a.actor_id for a in log} == {operator.pk} and not EmbedOrigin.objects.exists()


@pytest.mark.parametrize("path", ["/api/embed/?url=" + ARTICLE, "/api/oembed/?url=" + ARTICLE, "/api/embed/"])
def test_only_allowed_origins_may_read_the_embed_api_and_never_with_credentials(client, debate, news_allowed, path):
    allowed = client.get(path, HTTP_ORIGIN=NEWS)
    refused = client.get(path, HTTP_ORIGIN=ELSEWHERE)

    assert allowed["Access-Control-Allow-Origin"] == NEWS
    assert "Access-Control-Allow-Credentials" not in allowed
    assert "Access-Control-Allow-Origin" not in refused
    assert "origin" in allowed["Vary"].lower()


def test_the_widget_costs_a_summary_read(client, debate, news_allowed, query_budget):
    client.get("/embed/topics/sora-leak/")  # the allowed origins are cached from here on
    with query_budget(2):
        # 1 the topic's stances with the topic and each one's tally; 2 the summary's replies (each stance's
        # best and the most persuasive, one union). The allowed origins come from the cache.
        assert client.get("/embed/topics/sora-leak/").status_code == 200


def test_the_widget_by_article_address(client, debate, query_budget):
    client.get("/embed/topics/sora-leak/")  # the allowed origins are cached from here on
    with query_budget(2):
        # 1 the stances of the topic under the article's key, with the topic and the tallies; 2 the summary's
        # replies. The address is matched in that one query, not looked up first.
        assert "Who is right?" in client.get("/embed/", {"url": ARTICLE + "/#c"}).content.decode()
    assert client.get("/embed/", {"url": "https://news.example.org/other"}).status_code == 404
    missing = client.get("/embed/")
    assert missing.status_code == 400 and missing.content.decode().startswith("url:")


def test_embed_js_is_a_cached_script(client):
    response = client.get("/embed.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert "max-age=86400" in response["Cache-Control"]
    script = response.content.decode()
    assert "event.origin !== service" in script and "frame.contentWindow === event.source" in script
    assert client.get("/embed.js", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_oembed_wraps_the_widget_in_a_rich_iframe(client, debate):
    response = client.get("/api/oembed/", {"url": ARTICLE, "maxwidth": 300, "maxheight": 2000})

    assert response.status_code == 200
    body = response.json()
    assert (body["type"], body["version"], body["width"], body["height"]) == ("rich", "1.0", 300, 560)
    assert body["provider_name"]
    assert '<iframe src="http://testserver/embed/topics/sora-leak/"' in body["html"] and 'width="300"' in body["html"]
    # The widget's own address names its topic too, as the discovery link gives it.
    by_widget = client.get("/api/oembed/", {"url": "http://testserver/embed/topics/sora-leak/"})
    assert by_widget.json()["title"] == body["title"]


def test_oembed_refuses_xml_unknown_urls_and_bad_sizes(client, debate):
    assert client.get("/api/oembed/", {"url": ARTICLE, "format": "xml"}).status_code == 501
    unknown = client.get("/api/oembed/", {"url": "https://news.example.org/other"})
    assert unknown.status_code == 404 and unknown["Content-Type"] == "application/json"
    bad = client.get("/api/oembed/", {"url": ARTICLE, "maxwidth": "wide"})
    assert bad.status_code == 400 and list(bad.json()) == ["maxwidth"]
