"""An operator serves the API with `make serve`: gunicorn, config.settings.serve (DEBUG off), the admin's
static files through WhiteNoise, and a throwaway SECRET_KEY (said so) when none is set."""

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

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
