"""What is read: every public list and summary of a topic, with the thread, author and reply that make them heavy."""

import sys
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.load import Endpoint, Request

DEEP_PAGE = 2000  # how far the deep-page read follows `next` (or to the last page when there are fewer)
STANCE = "pro-tester"  # one of the two stances seed_demo gives every topic


@dataclass
class Picks:
    """A topic's heaviest thread, most prolific author and most answered reply, and its deep page."""

    slug: str
    thread: int
    author: str
    parent: int
    deep_next: str = ""  # the path and query of the `next` link that reached the deep page
    deep_number: int = 0  # that page's number, 1 being the first
    deep_last: bool = False  # whether it is the last page
    deep_page_ok: bool = False  # whether ?page=N answers too (page-number pagination)


def pick(slug: str) -> Picks:
    from django.db.models import Count

    from discussions.models import Reply, Thread

    visible = Reply.objects.filter(topic__slug=slug, state=Reply.State.VISIBLE)
    thread = Thread.objects.filter(topic__slug=slug).order_by("-reply_count", "id").values_list("pk", flat=True)
    authors = visible.values("author__username").annotate(n=Count("id")).order_by("-n", "author__username")
    parents = visible.filter(parent__state=Reply.State.VISIBLE).values("parent_id").annotate(n=Count("id"))
    parents = parents.order_by("-n", "parent_id")
    if not (thread and authors and parents):
        sys.exit(f"bench: topic {slug} has no thread, author or answered reply to read")
    return Picks(slug, thread[0], authors[0]["author__username"], parents[0]["parent_id"])


def _get(client, path: str):
    response = client.get(path)
    if response.status_code != 200:
        sys.exit(f"bench: GET {path} answered {response.status_code}: {response.content[:300]!r}")
    return response.json()


def follow_next(picks: Picks, depth: int = DEEP_PAGE) -> float:
    """Walk the `next` links of the best-first reply list, in-process, to page `depth` or the last; returns seconds."""
    from django.test import Client

    client, began = Client(), time.perf_counter()
    path, number = f"/api/replies/?topic={picks.slug}&ordering=best", 1
    body = _get(client, path)
    while number < depth and body.get("next"):
        # `next` is opaque (a page number or a cursor): only its path and query are kept, the host is the test's.
        link = urlsplit(body["next"])
        path, number = f"{link.path}?{link.query}", number + 1
        body = _get(client, path)
    picks.deep_next, picks.deep_number, picks.deep_last = path, number, not body.get("next")
    # ?page=N is timed beside it for information, where the pagination still takes page numbers.
    deep = client.get(f"/api/replies/?topic={picks.slug}&ordering=best&page={number}")
    picks.deep_page_ok = deep.status_code == 200
    return time.perf_counter() - began


def reads(size: str, p: Picks) -> list[Endpoint]:
    """Every public read of one topic; the labels pair a row of the small topic with its row of the large one."""
    s, replies = p.slug, f"/api/replies/?topic={p.slug}"
    listed = [
        ("replies (created_at)", replies),
        ("replies -created_at", f"{replies}&ordering=-created_at"),
        ("replies -score", f"{replies}&ordering=-score"),
        ("replies best", f"{replies}&ordering=best"),
        ("replies controversial", f"{replies}&ordering=controversial"),
        ("stance replies", f"{replies}&stance={STANCE}"),
        ("stance replies best", f"{replies}&stance={STANCE}&ordering=best"),
        ("thread replies", f"/api/replies/?thread={p.thread}"),
        ("thread replies best", f"/api/replies/?thread={p.thread}&ordering=best"),
        ("author's replies", f"{replies}&author={p.author}"),
        ("children of a reply", f"/api/replies/?parent={p.parent}"),
        ("root replies", f"{replies}&is_root=true"),
        ("common ground", f"/api/topics/{s}/common-ground/"),
    ]
    measured = [Endpoint.read("floor: topic detail", size, f"/api/topics/{s}/")]
    measured += [Endpoint.read(label, size, path, table="discussions_reply") for label, path in listed]
    measured += [
        Endpoint.read("threads", size, f"/api/threads/?topic={s}", table="discussions_thread"),
        Endpoint.read(
            "threads -last_activity_at",
            size,
            f"/api/threads/?topic={s}&ordering=-last_activity_at",
            table="discussions_thread",
        ),
        Endpoint.read("topic summary", size, f"/api/topics/{s}/summary/", floor_target=1.5),
        Endpoint.read("thread summary", size, f"/api/threads/{p.thread}/summary/", floor_target=1.5),
        # The embed pages (issue #16: within 2x the floor): a summary read drawn as HTML and as SVG.
        Endpoint.read("embed widget page", size, f"/embed/topics/{s}/"),
        Endpoint.read("stance badge", size, f"/api/topics/{s}/badge.svg"),
        Endpoint.read("best, deep page by next", size, p.deep_next, table="discussions_reply"),
        # A word of nearly every demo reply: the dearest search there is (the target is 3x the floor).
        Endpoint.read(
            "search", size, f"/api/search/?q=testers&topic={s}", table="discussions_reply_search", floor_target=3.0
        ),
    ]
    if p.deep_page_ok:
        deep = f"{replies}&ordering=best&page={p.deep_number}"
        measured.append(Endpoint.read("best, deep ?page=N", size, deep, table="discussions_reply", info=True))
    return measured


def count_queries(measured: list[Endpoint], cached: bool, redis_url: str) -> None:
    """Each endpoint's queries in one request through django.test.Client, with the summary cache as the pass has
    it; kept on the endpoint with their SQL."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    caches = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url}}
    overrides = {"SUMMARY_CACHE_SECONDS": 300, "CACHES": caches} if cached else {"SUMMARY_CACHE_SECONDS": 0}
    client = Client()

    def send(request: Request):
        headers = {"authorization": f"Token {request.token}"} if request.token else {}
        return client.generic(
            request.method, request.path, request.body or b"", content_type="application/json", headers=headers
        )

    with override_settings(**overrides):
        for endpoint in measured:
            send(endpoint.next_request())  # the second request is the counted one: with a warm cache where there is one
            request = endpoint.next_request()
            with CaptureQueriesContext(connection) as captured:
                response = send(request)
            if response.status_code != endpoint.status:
                answer = f"{response.status_code}: {response.content[:300]!r}"
                sys.exit(f"bench: {request.method} {request.path} answered {answer}")
            endpoint.queries = len(captured)
            endpoint.sql = [q["sql"] for q in captured.captured_queries]
