"""Fifty clients dribbling their request headers a byte a second no longer stop a node: under uvicorn
workers each is a waiting coroutine, not a held worker, and everyone else's requests are answered.

(With gunicorn's sync workers, SERVER=sync, the same fifty held every worker and no request completed; the
p50s with and without them are in `make bench`, never asserted here.)"""

import socket
import threading
import time

import httpx
import pytest

from tests.support.live import live_node

pytestmark = pytest.mark.timeout(120)

SLOW_CLIENTS = 50


def dribble(port: int, stop: threading.Event, opened: list) -> None:
    """Open a connection and send a request's headers one byte a second until told to stop."""
    request = b"GET /api/topics/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"x" * 200
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        opened.append(connection)
        for byte in request:
            if stop.wait(1.0):
                return
            try:
                connection.send(bytes([byte]))
            except OSError:
                return


def test_fifty_slow_clients_do_not_stop_the_node(tmp_path):
    with live_node(tmp_path, WEB_CONCURRENCY="2") as node:
        stop, opened = threading.Event(), []
        dribblers = [threading.Thread(target=dribble, args=(node.port, stop, opened)) for _ in range(SLOW_CLIENTS)]
        try:
            for thread in dribblers:
                thread.start()
            deadline = time.monotonic() + 10
            while len(opened) < SLOW_CLIENTS and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(opened) == SLOW_CLIENTS
            time.sleep(2)  # every one of them is mid-headers now

            # Each request must be answered while all fifty hold their connections open (a held worker
            # would leave it waiting past the client's timeout).
            with httpx.Client(base_url=node.base, timeout=5) as client:
                answers = [client.get("/api/topics/sora-leak/").status_code for _ in range(20)]
            assert answers == [200] * 20
            assert all(thread.is_alive() for thread in dribblers)  # still dribbling: the test measured with them
        finally:
            stop.set()
            for thread in dribblers:
                thread.join(timeout=5)
