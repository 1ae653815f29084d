"""An article's page finds its debate by its own address, whichever variant of it the reader's browser has."""

import pytest

from discussions import services
from discussions.embedding import source_key
from discussions.models import Topic
from forum.errors import Invalid
from forum.models import ModerationAction

pytestmark = pytest.mark.django_db

ARTICLE = "https://news.example.org/2024/11/sora-leak"


@pytest.fixture
def under_article(topic):
    return services.topic_update(actor=None, topic=topic, source_url=ARTICLE)


# The variants that split one article's comments into several threads elsewhere: all of them are the article.
@pytest.mark.parametrize(
    "variant",
    [
        ARTICLE,
        ARTICLE + "/",
        ARTICLE + "#comments",
        ARTICLE + "/#comment-12",
        ARTICLE + "?utm_source=newsletter&utm_medium=email",
        ARTICLE + "?UTM_Campaign=x",
        "HTTPS://NEWS.example.ORG/2024/11/sora-leak",
        "https://www.news.example.org/2024/11/sora-leak",
        "https://news.example.org:443/2024/11/sora-leak",
        "  https://news.example.org/2024/11/sora-leak  ",
    ],
)
def test_every_variant_of_the_address_finds_the_debate(anon, under_article, variant):
    response = anon.get("/api/embed/", {"url": variant})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["topic"]["slug"] == "sora-leak"
    assert body["url"] == ARTICLE
    assert body["summary"]["topic"] == "sora-leak"
    assert [s["stance"] for s in body["summary"]["stances"]] == ["pro-tester", "pro-openai"]
    assert body["widget_url"] == "http://testserver/embed/topics/sora-leak/"


@pytest.mark.parametrize(
    "other",
    [
        "http://news.example.org/2024/11/sora-leak",  # another scheme: kept apart (docs/embedding.md)
        "https://news.example.org/2024/11/Sora-Leak",  # paths are case-sensitive
        "https://news.example.org/2024/11/sora-leak?page=2",  # a parameter that is not tracking
        "https://news.example.org:8443/2024/11/sora-leak",
        "https://example.org/2024/11/sora-leak",
    ],
)
def test_a_different_address_is_a_json_404(anon, under_article, other):
    response = anon.get("/api/embed/", {"url": other})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.parametrize("url", [None, "", "news.example.org/a", "ftp://news.example.org/a", "https://", "http://a b/"])
def test_a_missing_or_malformed_url_is_a_400_naming_url(anon, url):
    response = anon.get("/api/embed/", {} if url is None else {"url": url})

    assert response.status_code == 400
    assert list(response.json()) == ["url"]


def test_the_key_keeps_other_parameters_and_encodes_what_a_browser_would():
    assert source_key("https://a.example/p/?b=2&utm_term=x&a=1#f") == "https://a.example/p?b=2&a=1"
    assert source_key("https://a.example/") == "https://a.example"
    assert source_key("https://a.example/caf\u00e9") == source_key("https://a.example/caf%C3%A9")
    with pytest.raises(Invalid):
        source_key("https://user:pw@a.example/")


def test_a_topic_manager_sets_the_article_through_the_api(as_topic_manager, topic, anon):
    response = as_topic_manager.patch(f"/api/topics/{topic.slug}/", {"source_url": ARTICLE + "/"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["source_url"] == ARTICLE + "/"
    assert anon.get("/api/embed/", {"url": ARTICLE}).json()["topic"]["slug"] == topic.slug
    entry = ModerationAction.objects.get(action=ModerationAction.Action.EDIT_TOPIC)
    assert entry.after == {"source_url": ARTICLE + "/"}  # logged as written, the key left out


def test_a_topic_is_created_under_its_article(as_topic_manager, anon):
    stances = [{"slug": "yes", "label": "Yes"}, {"slug": "no", "label": "No"}]
    body = {"slug": "new", "title": "New", "question": "Q?", "stances": stances, "source_url": ARTICLE}

    assert as_topic_manager.post("/api/topics/", body, format="json").status_code == 201
    assert anon.get("/api/embed/", {"url": ARTICLE + "#x"}).json()["topic"]["slug"] == "new"


def test_two_topics_cannot_sit_under_one_article(as_topic_manager, under_article, rival_topic):
    response = as_topic_manager.patch(
        f"/api/topics/{rival_topic.slug}/",
        {"source_url": "https://www.news.example.org/2024/11/sora-leak/"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["source_url"]
    assert Topic.objects.get(pk=rival_topic.pk).source_key is None


def test_only_topic_managers_set_the_article(as_author, as_staff, topic):
    for client in (as_author, as_staff):
        assert client.patch(f"/api/topics/{topic.slug}/", {"source_url": ARTICLE}, format="json").status_code == 403
    assert Topic.objects.get(pk=topic.pk).source_url == ""


def test_a_bad_address_is_a_400_on_source_url(as_topic_manager, topic):
    response = as_topic_manager.patch(
        f"/api/topics/{topic.slug}/", {"source_url": "javascript:alert(1)"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["source_url"]


def test_blank_takes_the_topic_off_its_article(as_topic_manager, under_article, anon):
    response = as_topic_manager.patch(f"/api/topics/{under_article.slug}/", {"source_url": ""}, format="json")

    assert response.status_code == 200
    assert anon.get("/api/embed/", {"url": ARTICLE}).status_code == 404
    assert Topic.objects.get(pk=under_article.pk).source_key is None


def test_the_lookup_is_one_topic_read_and_a_summary(anon, under_article, query_budget):
    with query_budget(7):
        # 1 the topic by its key, 2 its stances; the summary: 3 the tallies, 4-5 the best replies of each
        # stance, 6 the persuasive replies; 7 the allowed origins (CORS), cached after this first read.
        assert anon.get("/api/embed/", {"url": ARTICLE}).status_code == 200


def test_the_admin_sets_the_article_and_refuses_a_taken_one(client, under_article, rival_topic):
    from tests.support.factories import UserFactory

    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    page = f"/admin/discussions/topic/{rival_topic.pk}/change/"
    form = {"title": rival_topic.title, "question": rival_topic.question, "description": ""}
    form |= {"stances-TOTAL_FORMS": "0", "stances-INITIAL_FORMS": "0"}

    refused = client.post(page, {**form, "source_url": ARTICLE + "?utm_source=x"})
    assert refused.status_code == 200
    assert "already sits under this article" in refused.content.decode()

    other = "https://news.example.org/2024/11/another-story"
    assert client.post(page, {**form, "source_url": other}).status_code == 302
    assert Topic.objects.get(pk=rival_topic.pk).source_key == other
