"""Searching replies: words stemmed, "phrases", -exclusions, title above body, filters, hidden replies gone,
and bad queries refused by name; on SQLite (FTS5) and PostgreSQL (tsvector) alike."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from discussions import search, services
from tests.support.factories import UserFactory, make_reply, make_thread

SEARCH = "/api/search/"


@pytest.fixture
def library(topic, rival_topic, author, other):
    """Replies about testers and OpenAI in two threads of the topic, and the rival topic saying the same."""
    leak = make_thread(topic=topic, author=author, title="The leak of the video model", body="Opening words.")
    terms = make_thread(topic=topic, author=other, stance="pro-openai", title="Terms of the programme", body="Rules.")
    rival = make_thread(topic=rival_topic, author=other, title="Elsewhere", body="The testers elsewhere.")
    return {
        "leak": leak,
        "terms": terms,
        "rival": rival,
        "tester": make_reply(thread=terms, author=author, stance="pro-tester", body="The tester was unpaid."),
        "testers": make_reply(thread=terms, author=other, body="Testers signed an agreement with OpenAI."),
        "phrase": make_reply(thread=terms, author=other, body="They gave early access to artists."),
        "scrambled": make_reply(thread=terms, author=author, stance="pro-tester", body="Access was early for them."),
        "markup": make_reply(thread=terms, author=author, stance="pro-tester", body="Beware <script> & testers"),
    }


def found(client, **params):
    response = client.get(SEARCH, params)
    assert response.status_code == 200, response.content
    return [hit["reply"]["id"] for hit in response.json()["results"]]


def test_a_word_finds_its_stems_and_not_other_topics_with_a_filter(anon, library):
    hits = found(anon, q="testers", topic="sora-leak")

    assert {library["tester"].pk, library["testers"].pk, library["markup"].pk} <= set(hits)
    assert library["rival"].opening_reply_id not in hits
    assert library["rival"].opening_reply_id in found(anon, q="testers")  # without the filter, every topic


def test_a_phrase_needs_its_words_in_order(anon, library):
    hits = found(anon, q='"early access"')

    assert library["phrase"].pk in hits
    assert library["scrambled"].pk not in hits
    assert library["scrambled"].pk in found(anon, q="early access")


def test_an_excluded_word_removes_its_replies(anon, library):
    hits = found(anon, q="testers -openai", topic="sora-leak")

    assert library["tester"].pk in hits and library["testers"].pk not in hits


def test_a_thread_title_finds_its_replies_and_ranks_above_a_body_match(anon, library, author):
    in_body = make_reply(thread=library["terms"], author=author, body="A video of the model, leaked.")

    hits = found(anon, q="leak video", topic="sora-leak")

    assert hits[0] == library["leak"].opening_reply_id  # title words, in a thread about exactly that
    assert in_body.pk in hits


def test_each_result_carries_its_reply_thread_stance_and_a_marked_escaped_snippet(anon, library):
    response = anon.get(SEARCH, {"q": "testers", "topic": "sora-leak", "author": library["markup"].author.username})

    (hit,) = [h for h in response.json()["results"] if h["reply"]["id"] == library["markup"].pk]
    assert hit["thread"] == library["terms"].pk and hit["thread_title"] == "Terms of the programme"
    assert hit["topic"] == "sora-leak" and hit["stance"] == "pro-tester"
    assert "&lt;script&gt; &amp; <mark>testers</mark>" in hit["snippet"]
    assert "<script>" not in hit["snippet"]
    assert isinstance(hit["rank"], float) and hit["rank"] > 0
    assert response.json()["count"] is None


def test_filters_stance_thread_and_author(anon, library, author):
    by_stance = found(anon, q="testers", topic="sora-leak", stance="pro-openai")
    by_thread = found(anon, q="testers", thread=library["rival"].pk)
    by_author = found(anon, q="testers", author=author.username)
    by_author_id = found(anon, q="testers", author=str(author.pk))

    assert by_stance == [library["testers"].pk]
    assert by_thread == [library["rival"].opening_reply_id]
    assert set(by_author) == set(by_author_id) == {library["tester"].pk, library["markup"].pk}


def test_hidden_and_withdrawn_replies_vanish_and_come_back_restored(anon, library, moderator, other):
    services.reply_hide(actor=moderator, reply_id=library["testers"].pk, reason="x")
    services.reply_withdraw(actor=other, reply_id=library["phrase"].pk)

    assert library["testers"].pk not in found(anon, q="agreement")
    assert library["phrase"].pk not in found(anon, q="artists")

    services.reply_restore(actor=moderator, reply_id=library["testers"].pk)
    assert library["testers"].pk in found(anon, q="agreement")


def test_an_edit_is_found_by_its_new_words_only(anon, library, author):
    services.reply_update(actor=author, reply_id=library["tester"].pk, body="Volunteers deserve credit.")

    assert library["tester"].pk in found(anon, q="volunteers")
    assert library["tester"].pk not in found(anon, q="unpaid")


def test_pages_follow_one_another(anon, topic, author):
    thread = make_thread(topic=topic, author=author, title="Plenty")
    for i in range(5):
        make_reply(thread=thread, author=UserFactory(), body=f"argument number {i} about consent")

    first = anon.get(SEARCH, {"q": "consent", "page_size": 2}).json()
    second = anon.get(first["next"]).json()
    third = anon.get(second["next"]).json()

    ids = [h["reply"]["id"] for page in (first, second, third) for h in page["results"]]
    assert len(ids) == len(set(ids)) == 5 and third["next"] is None
    assert anon.get(second["previous"]).json()["results"] == first["results"]


@pytest.mark.parametrize(
    "q",
    ["", "   ", "!!! ... ???", "-openai", '""', "x" * 5000, "nul\x00byte"],
)
def test_a_query_with_nothing_to_find_is_a_400_naming_q(anon, library, q):
    response = anon.get(SEARCH, {"q": q})

    assert response.status_code == 400, response.content
    assert "q" in response.json()


@pytest.mark.parametrize(
    "q",
    [
        "testers OR 1=1",
        "testers'; DROP TABLE discussions_reply; --",
        "NEAR(testers openai)",
        "testers AND NOT openai",
        "body:testers",
        "test*",
        "^testers",
        "testers & !openai | (x)",
        '"unclosed phrase',
        "{title body}: testers",
        "testers:*",
        "\u202etesters",
    ],
)
def test_engine_syntax_in_a_query_is_only_words(anon, library, q):
    response = anon.get(SEARCH, {"q": q})

    assert response.status_code in (200, 400), response.content
    assert anon.get(SEARCH, {"q": "testers"}).status_code == 200  # and the table is still there


def test_stance_without_topic_is_a_400_naming_stance(anon, library):
    response = anon.get(SEARCH, {"q": "testers", "stance": "pro-tester"})

    assert response.status_code == 400 and "stance" in response.json()


def test_rebuild_search_indexes_what_was_loaded_around_the_services(anon, library, thread):
    from discussions.models import Reply

    Reply.objects.filter(pk=library["tester"].pk).update(body="Whistleblowers, said the bulk load.")
    assert library["tester"].pk not in found(anon, q="whistleblowers")

    out = io.StringIO()
    call_command("rebuild_search", stdout=out)
    assert "Indexed " in out.getvalue()

    assert library["tester"].pk in found(anon, q="whistleblowers")


def test_a_search_page_costs_a_fixed_number_of_queries(anon, library, django_assert_max_num_queries):
    # 1 the topic's id; 1 the ranked page of matches (with snippets on PostgreSQL); on SQLite 1 the page's
    # snippets (FTS5 makes them only in a MATCH query); 1 those replies with their names
    with django_assert_max_num_queries(3 if connection.vendor == "postgresql" else 4):
        response = anon.get(SEARCH, {"q": "testers", "topic": "sora-leak"})

    assert response.status_code == 200 and response.json()["results"]


def test_a_common_word_ranks_only_the_newest_candidates(anon, topic, author, monkeypatch):
    thread = make_thread(topic=topic, author=author, title="Plenty")
    old_best = make_reply(thread=thread, author=author, body="consent consent consent consent")
    newer = [make_reply(thread=thread, author=UserFactory(), body=f"consent, said {i}") for i in range(3)]
    assert found(anon, q="consent")[0] == old_best.pk  # all matches ranked: the densest first

    monkeypatch.setattr(search, "CANDIDATES", 3)

    assert sorted(found(anon, q="consent")) == sorted(r.pk for r in newer)  # the newest three, ranked


def test_the_topic_scope_word_is_not_a_word_of_the_replies(anon, library, topic):
    # SQLite keeps "topic<id>" in a column of its own to search one topic: a query for it finds nothing.
    assert found(anon, q=f"topic{topic.pk}") == []
    assert found(anon, q=f"topic{topic.pk} testers", topic="sora-leak") == []
