"""config.settings.production passes Django's deployment checks, and refuses to start when it is unsafe.

Each case runs manage.py in a fresh interpreter with exactly the environment given, as an operator would.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Variables the settings read that must not leak in from the shell running the suite.
SCRUBBED = {
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "REDIS_URL",
    "CORS_ALLOWED_ORIGINS",
}


def manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in SCRUBBED and not k.startswith("THROTTLE_")}
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings.production")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def deploy_check(**env):
    return manage("check", "--deploy", "--fail-level", "WARNING", **env)


def strong_key():
    return secrets.token_urlsafe(64)  # 86 characters, far past the check's 50 and 5 distinct


def test_the_deployment_checks_pass_without_a_single_warning():
    result = deploy_check(SECRET_KEY=strong_key(), ALLOWED_HOSTS="forum.example.org")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_checks_pass_with_cross_origin_calls_allowed():
    result = deploy_check(
        SECRET_KEY=strong_key(),
        ALLOWED_HOSTS="forum.example.org",
        CORS_ALLOWED_ORIGINS="https://app.example.org,https://beta.example.org",
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_debug_on_refuses_to_start_naming_debug():
    result = deploy_check(SECRET_KEY=strong_key(), ALLOWED_HOSTS="forum.example.org", DEBUG="1")

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last
    assert "DEBUG" in last


def test_a_missing_secret_key_refuses_to_start_naming_it():
    result = deploy_check(ALLOWED_HOSTS="forum.example.org")

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last
    assert "SECRET_KEY" in last


@pytest.mark.parametrize(
    "env, code",
    [
        ({"SECRET_KEY": "too-short"}, "security.W009"),
        ({"SECRET_KEY": "django-insecure-" + "x" * 60}, "security.W009"),
    ],
    ids=["short-key", "insecure-prefix"],
)
def test_a_weak_secret_key_fails_the_checks(env, code):
    # The checks really run at the WARNING level: a key Django calls weak stops the deployment.
    result = deploy_check(ALLOWED_HOSTS="forum.example.org", **env)

    assert result.returncode != 0
    assert code in result.stdout + result.stderr


def test_no_allowed_hosts_fails_the_checks():
    result = deploy_check(SECRET_KEY=strong_key())

    assert result.returncode != 0
    assert "security.W020" in result.stdout + result.stderr


def test_behind_the_proxy_http_is_redirected_and_https_gets_hsts():
    # The request side of the settings: no database needed for a redirect or an unknown /api/ path.
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client(raise_request_exception=False)\n"
        "plain = c.get('/api/nothing/', headers={'host': 'forum.example.org'})\n"
        "tls = c.get('/api/nothing/', headers={'host': 'forum.example.org', 'x-forwarded-proto': 'https'})\n"
        "other_host = c.get('/api/nothing/', headers={'host': 'evil.example.com', 'x-forwarded-proto': 'https'})\n"
        "print(plain.status_code, plain.headers.get('Location'))\n"
        "print(tls.status_code, tls.headers.get('Strict-Transport-Security'))\n"
        "print(other_host.status_code)\n"
    )
    clean = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    clean.update(
        DJANGO_SETTINGS_MODULE="config.settings.production", SECRET_KEY=strong_key(), ALLOWED_HOSTS="forum.example.org"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    plain, tls, other_host = result.stdout.strip().splitlines()[-3:]
    assert plain == "301 https://forum.example.org/api/nothing/"
    assert tls == "404 max-age=31536000; includeSubDomains; preload"
    assert other_host == "400"
