"""Live servers for the event-stream tests: `make serve`'s bin/serve on a database of their own, and a real
SSE client (httpx-sse) reading in a thread."""

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from httpx_sse import connect_sse

from tests.support.redis import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
PASSWORD = "Correct-Horse-42"
# Shared by every node of a test, as by every node of a deployment: tickets signed by one work on another.
SECRET_KEY = "live-test-key-not-for-any-deployment-0123456789abcdefghijklmnop"
LIFTED = {f"THROTTLE_{s}": "1000000/hour" for s in ("REGISTER", "LOGIN", "POST", "VOTE", "FLAG", "POSITION")}


@contextlib.contextmanager
def live_database(directory: Path):
    """A database for server processes: a SQLite file, or a fresh PostgreSQL database beside the suite's own
    when the suite runs on PostgreSQL; seeded with the debate and a second topic sharing its stance slugs."""
    suite = os.environ.get("DATABASE_URL", "")
    if not suite.startswith("postgres"):
        url = f"sqlite:///{directory / 'live.sqlite3'}"
        _seed(url)
        yield url
        return
    parts = urlsplit(suite)
    name = f"forum_live_{uuid.uuid4().hex[:10]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(parts._replace(path=f"/{name}"))
        _seed(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(url: str, *args: str) -> None:
    env = _env(url)
    result = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _seed(url: str) -> None:
    manage(url, "migrate", "-v0")
    manage(url, "seed_debate")
    # A second topic with the same stance slugs: a stream must never mix them up.
    manage(url, "seed_demo", "--topic", "rival", "--users", "3", "--threads", "2", "--replies", "6", "--votes", "6")


def _env(url: str, **extra) -> dict:
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    return {name: os.environ[name] for name in keep if name in os.environ} | {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.serve",
        "SECRET_KEY": SECRET_KEY,
        **LIFTED,
        **extra,
    }


class Node:
    """One `bin/serve` process (gunicorn with uvicorn workers) on a free port."""

    def __init__(self, url: str, log: Path, **settings):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = _env(url, PORT=str(self.port), WEB_CONCURRENCY=settings.pop("WEB_CONCURRENCY", "1"), **settings)
        self.process = subprocess.Popen(
            [str(ROOT / "bin/serve")],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.base}/api/health/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        pytest.fail(f"bin/serve did not answer:\n{log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Token {token}"} if token else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=10)


@contextlib.contextmanager
def live_node(directory: Path, **settings):
    """A seeded database of its own and one node serving it, for the block (`node.url` is the database)."""
    with live_database(directory) as url:
        node = Node(url, directory / "node.log", **settings)
        node.url = url
        try:
            yield node
        finally:
            node.stop()


def person(node: Node, username: str) -> str:
    """Register `username` through the API and log in: their token."""
    with node.api() as client:
        assert client.post("/api/auth/register/", json={"username": username, "password": PASSWORD}).status_code == 201
        answer = client.post("/api/auth/token/", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return answer.json()["token"]


class Stream:
    """A Server-Sent Events client (httpx-sse) reading one stream in a thread; its events land in a queue."""

    def __init__(self, url: str, headers: dict | None = None):
        self.url, self.headers = url, headers or {}
        self.events: queue.Queue = queue.Queue()
        self.opened = threading.Event()
        self.status = None
        self.body = b""
        self._response = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self.opened.wait(10), f"{url} did not answer"

    def _read(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10, read=60)) as client,
                connect_sse(client, "GET", self.url, headers=self.headers) as source,
            ):
                self._response = source.response
                self.status = source.response.status_code
                if self.status != 200:
                    self.body = source.response.read()
                    self.opened.set()
                    return
                self.opened.set()
                for event in source.iter_sse():
                    if event.data or event.event != "message":  # not the opening `retry:` line alone
                        self.events.put(event)
        except (httpx.HTTPError, RuntimeError):  # closed by close(), or the server went away
            pass
        finally:
            self.opened.set()
            self.events.put(None)

    def next(self, name: str | None = None, *, timeout: float = 5.0):
        """The next event (named `name`, skipping others); fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                event = self.events.get(timeout=max(left, 0.01))
            except queue.Empty:
                pytest.fail(f"no {name or 'event'} on {self.url} within {timeout} s")
            if event is None:
                pytest.fail(f"{self.url} ended before a {name or 'event'}")
            if name is None or event.event == name:
                return event

    def quiet(self, seconds: float, name: str | None = None) -> list:
        """Every event (named `name`) that arrives within `seconds`."""
        seen, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            if event is None:
                break
            if name is None or event.event == name:
                seen.append(event)
        return seen

    def close(self) -> None:
        if self._response is not None:
            with contextlib.suppress(Exception):
                self._response.close()
        self._thread.join(timeout=5)


def data(event) -> dict:
    return json.loads(event.data)
