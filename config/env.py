"""Strict readers for environment variables: a malformed value stops start-up naming the variable."""

import re

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name):
    return _env.str(name, default=None)


def env_bool(name, default=False):
    """Read a boolean; anything but 1/0, true/false, yes/no, on/off is refused."""
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")


def env_int(name, default, minimum=None):
    """Read an integer, optionally bounded below."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_float(name, default, minimum=0.0):
    """Read a number of seconds (or any non-negative decimal)."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_str(name, default=None):
    value = _raw(name)
    return default if value is None else value


def env_list(name, default):
    """Read a comma-separated list, blanks dropped."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


_ORIGIN = re.compile(r"^https?://[^/?#@\s]+$")


def env_origins(name):
    """Read a comma-separated list of web origins (scheme://host[:port], no path): CORS_ALLOWED_ORIGINS."""
    origins = env_list(name, [])
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise ImproperlyConfigured(
                f"{name}: {origin!r} is not an origin; use scheme://host[:port] with no path, "
                "e.g. https://app.example.org,http://localhost:3000."
            )
    return origins


def env_database(name, default):
    """Parse a database URL (sqlite:///path or postgres://user@host:port/db) into Django's dict."""
    value = _raw(name) or default
    scheme = value.split(":", 1)[0].lower()
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"{name}={value!r}: unsupported scheme {scheme!r}; use sqlite:///path or postgres://user@host:port/db."
        )
    try:
        config = environ.Env.db_url_config(value)
    except Exception as exc:  # the library raises several types for a malformed URL
        raise ImproperlyConfigured(f"{name}={value!r} is not a valid database URL: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={value!r} names no database.")
    return config


_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name, default):
    """Read a throttle rate such as 30/hour."""
    value = (_raw(name) or default).strip()
    if not _RATE.match(value):
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate: use N/second, N/minute, N/hour or N/day.")
    return value
