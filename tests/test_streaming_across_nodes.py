"""Two server processes on one database: a reply posted through one arrives on the other's streams within a
second, woken by Redis pub/sub, by PostgreSQL's NOTIFY, or (SQLite) by polling the outbox; with Redis
killed the streams poll and miss nothing, and pick Redis up again when it is back."""

import os
import time

import httpx
import pytest

from tests.support.live import Node, Stream, data, live_database, person
from tests.support.redis import redis_running, redis_start

pytestmark = pytest.mark.timeout(180)

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
# What wakes the second node: on a PostgreSQL run both of PostgreSQL's ways, else SQLite's only one.
WAYS = ["notify", "redis"] if ON_POSTGRES else ["poll"]


def thread_of(node) -> int:
    with node.api() as client:
        return client.get("/api/threads/", params={"topic": "sora-leak"}).json()["results"][0]["id"]


def post(node, token, thread_id, body):
    with node.api(token) as client:
        answer = client.post("/api/replies/", json={"thread": thread_id, "body": body, "stance": "pro-openai"})
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture
def redis_port():
    with redis_running() as (process, port):
        yield port, process


@pytest.mark.parametrize("way", WAYS)
def test_a_reply_posted_on_one_node_arrives_on_the_other_within_a_second(tmp_path, way, request):
    settings = {"WEB_CONCURRENCY": "2"}  # two workers each: four hubs, each woken on its own
    if way == "redis":
        settings["REDIS_URL"] = f"redis://127.0.0.1:{request.getfixturevalue('redis_port')[0]}/0"
    with live_database(tmp_path) as url:
        first = Node(url, tmp_path / "first.log", **settings)
        second = Node(url, tmp_path / "second.log", **settings)
        try:
            token, thread_id = person(first, "across"), thread_of(first)
            streams = [Stream(f"{second.base}/api/topics/sora-leak/events/") for _ in range(2)]
            for n in range(3):
                posted = post(first, token, thread_id, f"From the first node, {n}.")
                for stream in streams:
                    # The wait is the bound: the event must be there within one second.
                    assert data(stream.next("reply", timeout=1.0))["id"] == posted["id"]
            for stream in streams:
                stream.close()
        finally:
            first.stop()
            second.stop()


@pytest.mark.skipif(not ON_POSTGRES, reason="the Redis fan-out is a PostgreSQL deployment's (SQLite nodes poll)")
def test_with_redis_killed_streams_poll_and_miss_nothing_then_take_redis_back(tmp_path, redis_port):
    port, process = redis_port
    with live_database(tmp_path) as url:
        first = Node(url, tmp_path / "first.log", REDIS_URL=f"redis://127.0.0.1:{port}/0")
        second = Node(url, tmp_path / "second.log", REDIS_URL=f"redis://127.0.0.1:{port}/0")
        try:
            token, thread_id = person(first, "outage"), thread_of(first)
            stream = Stream(f"{second.base}/api/topics/sora-leak/events/")
            before = post(first, token, thread_id, "Before.")
            assert data(stream.next("reply", timeout=1.0))["id"] == before["id"]

            process.kill()
            process.wait(timeout=10)
            during = [post(first, token, thread_id, f"During the outage, {n}.")["id"] for n in range(3)]
            # Polling: a poll interval after the hub notices Redis is gone.
            assert [data(stream.next("reply", timeout=10))["id"] for _ in during] == during

            restarted = redis_start(port)
            try:
                # The second node's hub says so when it listens to Redis again (it said it once at start).
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and (tmp_path / "second.log").read_text().count("woken by redis") < 2:
                    time.sleep(0.2)
                after = post(first, token, thread_id, "After.")
                assert data(stream.next("reply", timeout=1.0))["id"] == after["id"]
            finally:
                restarted.kill()
                restarted.wait(timeout=10)
            stream.close()
            with httpx.Client(base_url=second.base) as client:
                replies = client.get("/api/replies/", params={"thread": thread_id, "page_size": 100}).json()
            assert set(during) <= {r["id"] for r in replies["results"]}
        finally:
            first.stop()
            second.stop()
