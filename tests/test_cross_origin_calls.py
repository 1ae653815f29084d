"""A browser app on another origin calls the API when the operator lists its origin in CORS_ALLOWED_ORIGINS.

The preflights here are real ones: an OPTIONS request over HTTP to a running server, with the headers a
browser sends before a cross-origin POST carrying a token, a JSON body and an Idempotency-Key.
"""

import http.client
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

from tests.support.clients import client_for

ROOT = Path(__file__).resolve().parent.parent
APP = "https://app.example.org"
ELSEWHERE = "https://evil.example.com"


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    """The app behind a real HTTP server on a free port (what runserver runs), for the preflights: none of
    them reaches the database, so no test data needs to cross threads."""
    httpd = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    httpd.set_app(WSGIHandler())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cors(settings, db):
    settings.CORS_ALLOWED_ORIGINS = [APP, "http://localhost:3000"]
    return settings


def call(port, method, path, headers, body=None):
    """One request over a real connection; (status, headers with lower-case names, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def preflight(port, origin, path="/api/replies/", method="POST"):
    return call(
        port,
        "OPTIONS",
        path,
        {
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
    )


def listed(value):
    return {item.strip().lower() for item in value.split(",")}


def test_a_preflight_from_a_listed_origin_is_granted(server, cors):
    status, headers, body = preflight(server, APP)

    assert status == 200 and body == b""
    assert headers["access-control-allow-origin"] == APP
    assert {"authorization", "content-type", "idempotency-key"} <= listed(headers["access-control-allow-headers"])
    assert {"post", "put", "patch", "delete"} <= listed(headers["access-control-allow-methods"])
    assert int(headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in headers  # tokens, not cookies, cross origins


def test_a_preflight_from_another_origin_gets_no_grant(server, cors):
    for origin in (ELSEWHERE, "http://app.example.org", "https://app.example.org:8443"):
        status, headers, _ = preflight(server, origin)

        # The browser then refuses to send the request: without these headers nothing is granted.
        assert "access-control-allow-origin" not in headers, origin
        assert "access-control-allow-headers" not in headers, origin
        assert status < 500


def test_with_no_origin_listed_nothing_is_granted(server, settings, db):
    settings.CORS_ALLOWED_ORIGINS = []

    _, headers, _ = preflight(server, APP)

    assert "access-control-allow-origin" not in headers


def test_a_granted_call_exposes_etag_and_retry_after(cors, topic, anon):
    response = anon.get("/api/topics/sora-leak/summary/", headers={"origin": APP})

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    assert listed(response["Access-Control-Expose-Headers"]) == {"etag", "retry-after"}
    assert response.has_header("ETag")
    assert "origin" in listed(response["Vary"])  # a shared cache must not hand one origin's answer to another


def test_a_granted_write_carries_the_grant_on_its_answer(cors, thread, author):
    response = client_for(author).post(
        "/api/replies/",
        {"thread": thread.pk, "body": "From another origin.", "stance": "pro-tester"},
        format="json",
        headers={"origin": APP, "idempotency-key": "cors-test-1"},
    )

    assert response.status_code == 201, response.content
    assert response["Access-Control-Allow-Origin"] == APP


def test_an_oversized_body_from_a_listed_origin_gets_a_413_the_page_can_read(server, cors):
    # The 413 is answered before anything reads the body; the grant still comes with it, or the browser
    # would show the script a network error instead.
    status, headers, body = call(
        server,
        "POST",
        "/api/threads/",
        {"Origin": APP, "Content-Type": "application/json"},
        body=b"{" + b" " * (1024 * 1024) + b"}",
    )

    assert status == 413 and headers["content-type"] == "application/json"
    assert headers["access-control-allow-origin"] == APP
    assert b"limit is" in body


def test_the_admin_is_never_cross_origin(server, cors):
    _, headers, _ = preflight(server, APP, path="/admin/login/")

    assert "access-control-allow-origin" not in headers


def load_origins(value):
    clean = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY"}}
    clean.update(CORS_ALLOWED_ORIGINS=value, DJANGO_SETTINGS_MODULE="config.settings.local")
    code = "import django; django.setup(); from django.conf import settings; print(settings.CORS_ALLOWED_ORIGINS)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_the_origins_come_from_the_environment_comma_separated():
    result = load_origins(f" {APP}, http://localhost:3000 ,")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"['{APP}', 'http://localhost:3000']"


@pytest.mark.parametrize("value", ["app.example.org", f"{APP}/", f"{APP}/path", "ftp://app.example.org", "*"])
def test_a_value_that_is_not_an_origin_stops_start_up_naming_the_variable(value):
    result = load_origins(value)

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last and "CORS_ALLOWED_ORIGINS" in last
