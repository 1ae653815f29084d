"""Development, the default of manage.py: DEBUG on, a development-only key, SQLite under var/.

`make run`, `make seed` and every `.venv/bin/python manage.py ...` of the README use it with no variable
set. DATABASE_URL and every other variable of docs/configuration.md still apply.
"""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool
from config.settings.base import *  # noqa: F403
from config.settings.base import ALLOWED_HOSTS, SECRET_KEY

DEBUG = env_bool("DEBUG", default=True)

# DEVELOPMENT ONLY. Public in this repository, so whatever it signs (sessions, password-reset links) can
# be forged by anyone: never serve it to anyone else. Its django-insecure- prefix makes
# `check --deploy` refuse it, and serve.py and production.py never fall back to it.
DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key-of-the-stance-forum-never-deploy-it"
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off: the development key is only used with DEBUG on."
        )
    SECRET_KEY = DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]"]
