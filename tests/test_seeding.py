"""The seed_debate command: the debate it creates, its counters, its account, and running it again."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from discussions import seed_content, services
from discussions.models import Reply, Stance, Thread, Topic

User = get_user_model()
SLUG = "sora-leak"


def login_request():
    """A login request, as every authentication carries one (failed logins are counted per address)."""
    return RequestFactory().post("/api/auth/token/")


def seed():
    out = StringIO()
    call_command("seed_debate", stdout=out)
    return out.getvalue()


def row_counts():
    return {model.__name__: model.objects.count() for model in (Topic, Stance, Thread, Reply, User)}


def test_content_titles_are_unique_and_use_the_topic_stances():
    # Titles are how a rerun recognises a seeded thread, so a duplicate would be silently skipped.
    titles = [spec["title"] for spec in seed_content.THREADS]
    assert len(set(titles)) == len(titles)
    stance_slugs = {s["slug"] for s in seed_content.STANCES}
    for spec in seed_content.THREADS:
        assert spec["opening"]["stance"] in stance_slugs
        assert {r["stance"] for r in spec["replies"]} <= stance_slugs


@pytest.mark.django_db
def test_seeding_creates_the_topic_with_its_two_stances_in_order():
    seed()
    topic = Topic.objects.get(slug=SLUG)
    assert list(topic.stances.order_by("position", "id").values_list("slug", flat=True)) == ["pro-tester", "pro-openai"]


@pytest.mark.django_db
def test_every_seeded_thread_is_answered_from_the_other_side():
    seed()
    topic = Topic.objects.get(slug=SLUG)
    threads = list(Thread.objects.filter(topic=topic).select_related("opening_reply"))
    assert len(threads) >= 6
    assert len(threads) == len(seed_content.THREADS)
    for thread in threads:
        opening = thread.opening_reply
        assert opening is not None and opening.thread_id == thread.pk and opening.parent_id is None
        others = Reply.objects.filter(thread=thread).exclude(pk=opening.pk)
        assert others.exclude(stance_id=opening.stance_id).exists(), thread.title
        assert all(reply.topic_id == topic.pk for reply in Reply.objects.filter(thread=thread))


@pytest.mark.django_db
def test_seeded_counters_match_the_rows():
    seed()
    topic = Topic.objects.get(slug=SLUG)
    visible = Reply.objects.filter(state=Reply.State.VISIBLE)
    assert topic.thread_count == Thread.objects.filter(topic=topic).count()
    assert topic.reply_count == visible.filter(topic=topic).count()
    for thread in Thread.objects.filter(topic=topic):
        assert thread.reply_count == visible.filter(thread=thread).count() >= 2


@pytest.mark.django_db
def test_the_seed_account_cannot_log_in():
    seed()
    account = User.objects.get(username="debate-seed")
    assert not account.has_usable_password()
    assert not account.is_active
    for password in ("", "!", account.password):
        assert authenticate(login_request(), username="debate-seed", password=password) is None
    assert Thread.objects.filter(topic__slug=SLUG).exclude(author=account).count() == 0


@pytest.mark.django_db
def test_seeding_twice_changes_nothing():
    first = seed()
    after_first = row_counts()
    second = seed()
    assert row_counts() == after_first
    n = len(seed_content.THREADS)
    assert f"{n} threads created, 0 already present" in first
    assert f"0 threads created, {n} already present" in second


@pytest.mark.django_db
def test_seeding_relocks_an_account_someone_unlocked():
    seed()
    account = User.objects.get(username="debate-seed")
    account.is_active = True
    account.set_password("guessable")
    account.save()
    seed()
    assert authenticate(login_request(), username="debate-seed", password="guessable") is None
    assert not User.objects.get(pk=account.pk).has_usable_password()


@pytest.mark.django_db
def test_seeding_beside_a_topic_that_reuses_the_stance_slugs():
    other = services.topic_create(
        actor=None,
        slug="other",
        title="Another debate",
        question="Another question?",
        stances=[{"slug": "pro-tester", "label": "For"}, {"slug": "pro-openai", "label": "Against"}],
    )
    seed()
    topic = Topic.objects.get(slug=SLUG)
    assert not Reply.objects.filter(topic=topic).exclude(stance__topic=topic).exists()
    assert not Reply.objects.filter(stance__topic=other).exists()
    other.refresh_from_db()
    assert (other.thread_count, other.reply_count) == (0, 0)
    assert Thread.objects.filter(topic=topic).count() == len(seed_content.THREADS)


def test_the_seeded_debate_sits_under_its_article_and_an_operators_choice_is_kept(db, client):
    seed()
    article = seed_content.TOPIC["source_url"]
    assert client.get("/api/embed/", {"url": article + "/?utm_source=share"}).json()["topic"]["slug"] == "sora-leak"

    Topic.objects.filter(slug="sora-leak").update(source_url="https://elsewhere.example/a", source_key="x")
    seed()
    assert Topic.objects.get(slug="sora-leak").source_url == "https://elsewhere.example/a"
    Topic.objects.filter(slug="sora-leak").update(source_url="", source_key=None)  # as seeded before #16
    seed()
    assert Topic.objects.get(slug="sora-leak").source_url == article
