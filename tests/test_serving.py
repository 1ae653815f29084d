"""An operator serves the API with `make serve`: gunicorn, config.settings.serve (DEBUG off), the admin's
static files through WhiteNoise, and a throwaway SECRET_KEY (said so) when none is set; the ASGI handler
runs each synchronous request as a WSGI worker would."""

import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.core.signals import request_finished, request_started
from django.db import connections
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path

ROOT = Path(__file__).resolve().parent.parent


def get(port: int, path: str, method: str = "GET", body: bytes | None = None) -> tuple:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        response = conn.getresponse()
        # The headers as a case-insensitive mapping: uvicorn sends their names in lowercase.
        return response.status, response.headers, response.read()
    finally:
        conn.close()


@pytest.fixture
def served(tmp_path):
    """`make serve` on a database of its own, with no SECRET_KEY in its environment; (port, its output)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ} | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    log = tmp_path / "serve.log"
    server = subprocess.Popen(
        ["make", "-s", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if get(port, "/api/health/")[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"make serve did not answer:\n{log.read_text()}")
        yield port, log
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_make_serve_answers_with_debug_off_and_a_throwaway_key_said_so(served):
    port, log = served

    status, headers, body = get(port, "/api/no-such-thing/")
    assert status == 404 and headers["Content-Type"].startswith("application/json")
    assert b"Traceback" not in body and b"URLconf" not in body  # DEBUG's page would list the URL patterns
    assert get(port, "/api/topics/")[0] == 200
    static_status, static_headers, _ = get(port, "/static/admin/css/base.css")
    assert static_status == 200 and static_headers["Content-Type"].startswith("text/css")
    too_big_status, too_big_headers, too_big = get(port, "/api/threads/", "POST", b"{" + b" " * 1024 * 1024 + b"}")
    assert too_big_status == 413 and too_big_headers["Content-Type"] == "application/json"
    assert b"limit is 262144 bytes" in too_big
    output = log.read_text()
    assert "SECRET_KEY is not set; using a throwaway key" in output
    assert "1 gunicorn workers on 127.0.0.1:" in output
    assert "settings config.settings.serve" in output  # not manage.py's development default


def asgi_get(app, path: str, log: list | None = None) -> tuple[int, bytes, list]:
    """One GET through an ASGI application in-process: (status, body, the messages sent in order)."""
    sent, asked = [], []

    async def receive():
        if not asked:
            asked.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected

    async def send(message):
        sent.append(message)
        if log is not None:
            log.append(("sent", message["type"]))

    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "root_path": "", "scheme": "http"}
    scope |= {"headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, sent


@pytest.fixture
def application(transactional_db):
    """config.asgi's application; afterwards the connection its views' thread opened is closed."""
    from config.asgi import application

    yield application
    # Left open, it keeps the test database from being dropped at the end of the run.
    asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())


@pytest.fixture
def signals_seen():
    """(signal name, thread) for each request_started and request_finished, in order."""
    seen = []

    def started(**kwargs):
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs):
        seen.append(("finished", threading.get_ident()))

    request_started.connect(started, weak=False)
    request_finished.connect(finished, weak=False)
    yield seen
    request_started.disconnect(started)
    request_finished.disconnect(finished)


def test_a_synchronous_request_under_asgi_runs_whole_in_the_one_thread_that_keeps_the_connection(
    application, signals_seen
):
    answers = [asgi_get(application, "/api/topics/") for _ in range(3)]

    assert [(status, "results" in json.loads(body)) for status, body, _ in answers] == [(200, True)] * 3
    # Both signals in the view's thread, as under WSGI (the second returns the connection), the same
    # thread for every request, and not the event loop's.
    assert [name for name, _ in signals_seen] == ["started", "finished"] * 3
    threads = {thread for _, thread in signals_seen}
    assert len(threads) == 1 and threads != {threading.get_ident()}


def test_a_streamed_response_under_asgi_is_closed_after_its_last_chunk(application, signals_seen, settings):
    settings.ROOT_URLCONF = __name__
    status, body, _ = asgi_get(application, "/streamed/", log=signals_seen)

    assert (status, body) == (200, b"one,two")
    # Its body is produced while it is sent, so closing it (request_finished) waits for the last chunk.
    assert [event[0] if event[0] != "sent" else event[1] for event in signals_seen] == [
        "started",
        "http.response.start",
        "http.response.body",
        "http.response.body",
        "http.response.body",
        "finished",
    ]


def test_an_async_view_under_asgi_runs_on_the_event_loop(application, settings):
    settings.ROOT_URLCONF = __name__
    status, body, _ = asgi_get(application, "/on-the-loop/")

    assert (status, int(body)) == (200, threading.get_ident())


def streamed(request):
    async def chunks():
        yield b"one"
        yield b",two"

    return StreamingHttpResponse(chunks())


async def on_the_loop(request):
    return HttpResponse(str(threading.get_ident()))


urlpatterns = [path("streamed/", streamed), path("on-the-loop/", on_the_loop)]
