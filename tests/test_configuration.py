"""Operators configure the service from the environment; a bad value stops start-up and names itself."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def start(**env):
    """Load the settings in a fresh interpreter, as manage.py would, with exactly this environment."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings.base")
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE'], settings.DEBUG)"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_defaults_to_sqlite_under_the_repo_with_debug_off():
    result = start(SECRET_KEY="k")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "False"]


def test_a_postgres_url_uses_the_postgresql_backend():
    result = start(SECRET_KEY="k", DATABASE_URL="postgres://postgres@127.0.0.1:5432/forum")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "django.db.backends.postgresql"


@pytest.mark.parametrize(
    "env, named",
    [
        ({"SECRET_KEY": "k", "DEBUG": "maybe"}, "DEBUG"),
        ({"SECRET_KEY": "k", "DATABASE_URL": "mysql2://nowhere"}, "DATABASE_URL"),
        ({"SECRET_KEY": "k", "DATABASE_URL": "postgres://host:notaport/db"}, "DATABASE_URL"),
        ({"SECRET_KEY": "k", "API_PAGE_SIZE": "twenty"}, "API_PAGE_SIZE"),
        ({"SECRET_KEY": "k", "API_MAX_PAGE_SIZE": "0"}, "API_MAX_PAGE_SIZE"),
        ({"DEBUG": "0"}, "SECRET_KEY"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(env, named):
    result = start(**env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1]


def test_sqlite_is_set_up_for_concurrent_writers(settings):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite-only settings; this run is on " + connection.vendor)
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
    assert "journal_mode=WAL" in options["init_command"]
