"""Test settings (pyproject.toml names them): the base settings with a throwaway key and a fast hasher."""

from config.settings.base import *  # noqa: F403
from config.settings.base import SECRET_KEY

# Tests run with DEBUG off; this key signs nothing real.
SECRET_KEY = SECRET_KEY or "test-only-secret-key-not-for-any-deployment"

# Hashing with PBKDF2 dominates a suite that registers many users; the algorithm is not under test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Suites post far more than a person would; the throttle tests set their own low rates.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/minute"),  # noqa: F405
}

# pytest-django's live server answers each client socket in a thread that keeps its connection while the
# socket stays open (a browser's, a generated client's), so the test database could not be dropped at the
# end of a PostgreSQL run. Closed after each request instead; the test client's own requests keep theirs.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# A second alias mirroring the default database, so the replica router is tested with two real
# connections (tests switch the router on with DATABASE_ROUTERS). PostgreSQL only: SQLite is one file
# with one writer, and a second connection's reads there would only test SQLite's locking.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
