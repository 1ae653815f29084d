"""Operators configure the service from the environment; a bad value stops start-up and names itself.

manage.py defaults to the development settings (config.settings.local), so a fresh clone's commands run
with no variable set; what serves (config.settings.serve, config.settings.production) refuses to start
without a real key or with DEBUG on. Each case runs in a fresh interpreter with exactly the environment given.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Variables the settings read that must not leak in from the shell running the suite.
SCRUBBED = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CORS_ALLOWED_ORIGINS"}
SHOW = (
    "from django.conf import settings; d = settings.DATABASES['default']; "
    "print(d['ENGINE'], d['NAME'], settings.DEBUG, settings.SECRET_KEY[:16], settings.ALLOWED_HOSTS, "
    "settings.SETTINGS_MODULE)"
)


def environment(**env):
    clean = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    clean.update(env)
    return clean


def manage_shows(**env):
    """`manage.py shell -c` printing the settings in force: manage.py chooses the module unless env does."""
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "--verbosity", "0", "-c", SHOW],
        cwd=ROOT,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def shown(result):
    assert result.returncode == 0, result.stderr
    engine, name, debug, key, *rest = result.stdout.strip().splitlines()[-1].split()
    return {
        "engine": engine,
        "name": name,
        "debug": debug,
        "key": key,
        "module": rest[-1],
        "hosts": " ".join(rest[:-1]),
    }


def test_manage_py_defaults_to_development_with_no_variable_set():
    settings = shown(manage_shows())

    assert settings["module"] == "config.settings.local"
    assert settings["engine"] == "django.db.backends.sqlite3"
    assert settings["name"] == str(ROOT / "var" / "db.sqlite3")
    assert settings["debug"] == "True"
    assert settings["key"] == "django-insecure-"  # the marked development key, which check --deploy refuses
    assert "localhost" in settings["hosts"] and "127.0.0.1" in settings["hosts"]


def test_development_takes_the_environment_too():
    settings = shown(manage_shows(DATABASE_URL="postgres://postgres@127.0.0.1:5432/forum", SECRET_KEY="k" * 60))

    assert settings["engine"] == "django.db.backends.postgresql"
    assert settings["key"] == "k" * 16


def test_development_with_debug_off_wants_a_real_key():
    result = manage_shows(DEBUG="0")

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last and "SECRET_KEY" in last


@pytest.mark.parametrize(
    "env, named",
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DATABASE_URL": "mysql2://nowhere"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://host:notaport/db"}, "DATABASE_URL"),
        ({"API_PAGE_SIZE": "twenty"}, "API_PAGE_SIZE"),
        ({"API_MAX_PAGE_SIZE": "0"}, "API_MAX_PAGE_SIZE"),
        ({"CORS_ALLOWED_ORIGINS": "app.example.org"}, "CORS_ALLOWED_ORIGINS"),
    ],
)
@pytest.mark.parametrize("module", ["config.settings.local", "config.settings.serve"])
def test_a_malformed_value_stops_start_up_naming_the_variable(env, named, module):
    result = manage_shows(DJANGO_SETTINGS_MODULE=module, SECRET_KEY="k" * 60, **env)

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last
    assert named in last


def test_the_served_settings_run_with_debug_off_and_the_key_given():
    settings = shown(manage_shows(DJANGO_SETTINGS_MODULE="config.settings.serve", SECRET_KEY="s" * 60))

    assert settings["debug"] == "False"
    assert settings["key"] == "s" * 16


@pytest.mark.parametrize("module", ["config.settings.serve", "config.settings.production"])
@pytest.mark.parametrize("env, named", [({}, "SECRET_KEY"), ({"SECRET_KEY": "s" * 60, "DEBUG": "1"}, "DEBUG")])
def test_what_serves_never_falls_back_to_the_development_key_or_debug(module, env, named):
    result = manage_shows(DJANGO_SETTINGS_MODULE=module, ALLOWED_HOSTS="forum.example.org", **env)

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last and named in last


@pytest.mark.parametrize("entry", ["config.wsgi", "config.asgi"])
def test_a_server_importing_the_application_gets_production_unless_told_otherwise(entry):
    code = f"import {entry}; from django.conf import settings; print(settings.SETTINGS_MODULE)"
    run = {"cwd": ROOT, "capture_output": True, "text": True, "timeout": 60}

    strict = subprocess.run([sys.executable, "-c", code], env=environment(), **run)
    keyed = subprocess.run(
        [sys.executable, "-c", code], env=environment(SECRET_KEY="s" * 60, ALLOWED_HOSTS="forum.example.org"), **run
    )

    assert strict.returncode != 0 and "SECRET_KEY" in strict.stderr.strip().splitlines()[-1]
    assert keyed.returncode == 0, keyed.stderr
    assert keyed.stdout.strip() == "config.settings.production"


def test_sqlite_is_set_up_for_concurrent_writers(settings):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite-only settings; this run is on " + connection.vendor)
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
    assert "journal_mode=WAL" in options["init_command"]


@pytest.mark.parametrize(("value", "threshold"), [(None, "0"), ("1", "0"), ("0", "None")])
def test_prepared_statements_are_on_unless_an_operator_turns_them_off(value, threshold):
    # Settings only: no server is reached. Off is what a pooler in transaction mode needs.
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'].get('prepare_threshold'))"
    extra = {} if value is None else {"DATABASE_PREPARED_STATEMENTS": value}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--verbosity", "0", "-c", code],
        cwd=ROOT,
        env=environment(DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused", **extra),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == threshold
