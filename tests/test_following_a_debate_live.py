"""A reader keeps a debate open: its changes arrive over Server-Sent Events from a live server, and a client
that reconnects gets what it missed (or `reset`), in order."""

import threading

import httpx
import pytest

from tests.support.live import Stream, data, live_node, manage, person

pytestmark = pytest.mark.timeout(120)

TOPIC = "sora-leak"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    with live_node(
        tmp_path_factory.mktemp("live"),
        STREAM_HEARTBEAT_SECONDS="1",
        STREAM_MAX_PER_ADDRESS="3",
        STREAM_COALESCE_SECONDS="1",
    ) as node:
        yield node


@pytest.fixture(scope="module")
def writer(node):
    return person(node, "live-writer")


@pytest.fixture(scope="module")
def thread_id(node):
    with node.api() as client:
        return client.get("/api/threads/", params={"topic": TOPIC}).json()["results"][0]["id"]


def events_url(node, topic=TOPIC, **query):
    return httpx.URL(f"{node.base}/api/topics/{topic}/events/", params=query)


def post(node, token, thread_id, body, stance="pro-tester"):
    with node.api(token) as client:
        answer = client.post("/api/replies/", json={"thread": thread_id, "body": body, "stance": stance})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_reply_posted_through_the_api_arrives_with_the_summary_and_not_on_another_topic(node, writer, thread_id):
    stream, rival = Stream(events_url(node)), Stream(events_url(node, "rival"))
    try:
        posted = post(node, writer, thread_id, "Seen live.")

        event = stream.next("reply")
        with node.api() as client:
            assert data(event) == client.get(f"/api/replies/{posted['id']}/").json()
            summary = client.get(f"/api/topics/{TOPIC}/summary/").json()
        assert int(event.id) > 0
        assert data(stream.next("summary"))["replies"] == summary["replies"]
        assert rival.quiet(1.5) == []
    finally:
        stream.close()
        rival.close()


def test_a_reconnecting_client_gets_what_it_missed_in_order_then_the_summary(node, writer, thread_id):
    stream = Stream(events_url(node))
    post(node, writer, thread_id, "Before the drop.")
    last = stream.next("reply").id
    stream.close()
    missed = [post(node, writer, thread_id, f"Missed {n}.")["id"] for n in range(3)]

    for reconnect in (Stream(events_url(node), {"Last-Event-ID": last}), Stream(events_url(node, since=last))):
        try:
            replayed = [reconnect.next("reply") for _ in missed]
            assert [data(e)["id"] for e in replayed] == missed
            ids = [int(e.id) for e in replayed]
            assert ids == sorted(ids) and ids[0] > int(last)
            assert data(reconnect.next("summary"))["topic"] == TOPIC
        finally:
            reconnect.close()


def test_an_id_no_longer_kept_or_never_written_gets_reset(node, writer, thread_id):
    post(node, writer, thread_id, "Pruned soon.")
    manage(node.url, "prune_events", "--days", "0")  # keeps only the newest row

    for since in ("1", "999999999"):
        stream = Stream(events_url(node, since=since))
        try:
            assert stream.next().event == "reset"
        finally:
            stream.close()


def test_an_idle_stream_gets_a_comment_line_every_heartbeat(node):
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=5)) as client,
        client.stream("GET", str(events_url(node))) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"].startswith("no-cache")
        comments = []
        for line in response.iter_lines():
            if line.startswith(":"):
                comments.append(line)
            if len(comments) == 2:
                break
    assert comments == [": keep-alive", ": keep-alive"]


def test_a_burst_of_votes_arrives_coalesced_with_the_final_tallies(node, writer, thread_id):
    target = post(node, writer, thread_id, "Vote on me.")
    voters = [person(node, f"live-voter-{n}") for n in range(8)]
    stream = Stream(events_url(node))
    try:

        def vote(token):
            with node.api(token) as client:
                assert client.post(f"/api/replies/{target['id']}/vote/", json={"value": 1}).status_code == 200

        workers = [threading.Thread(target=vote, args=(token,)) for token in voters]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

        seen = stream.quiet(3.5)
    finally:
        stream.close()
    changes = [data(e) for e in seen if e.event == "reply-changed" and data(e)["id"] == target["id"]]
    summaries = [e for e in seen if e.event == "summary"]
    assert changes and changes[-1]["upvotes"] == len(voters)
    # Eight votes in well under a second: at most one flush a second each (plus one for a burst's edge).
    assert len(changes) <= 5 and 1 <= len(summaries) <= 5


def test_a_withdrawn_reply_is_removed_live(node, writer, thread_id):
    posted = post(node, writer, thread_id, "Taken back soon.")
    stream = Stream(events_url(node))
    try:
        with node.api(writer) as client:
            assert client.delete(f"/api/replies/{posted['id']}/").status_code == 204
        assert data(stream.next("reply-removed")) == {"id": posted["id"]}
    finally:
        stream.close()


def test_bad_requests_are_json_errors(node):
    with httpx.Client(base_url=node.base, timeout=5) as client:
        bad = client.get(f"/api/topics/{TOPIC}/events/", params={"since": "soon"})
        assert bad.status_code == 400 and "since" in bad.json()
        missing = client.get("/api/topics/no-such-topic/events/")
        assert missing.status_code == 404 and missing.json() == {"detail": "No such topic."}
        wrong = client.post(f"/api/topics/{TOPIC}/events/")
        assert wrong.status_code == 405 and wrong.headers["content-type"] == "application/json"


def test_one_address_may_hold_only_so_many_streams(node):
    address = {"X-Forwarded-For": "203.0.113.7"}  # the proxy's word, which bin/serve trusts from 127.0.0.1
    held = [Stream(events_url(node), address) for _ in range(3)]
    try:
        assert [s.status for s in held] == [200, 200, 200]
        refused = Stream(events_url(node), address)
        assert refused.status == 429 and b"Too many open streams" in refused.body
        elsewhere = Stream(events_url(node), {"X-Forwarded-For": "203.0.113.8"})
        assert elsewhere.status == 200
        elsewhere.close()
    finally:
        for stream in held:
            stream.close()
