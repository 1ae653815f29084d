"""`make serve` (bin/serve): production-like on plain HTTP on this machine: DEBUG off, a real SECRET_KEY.

What a deployment runs is config.settings.production, which adds what sits behind a TLS proxy (HTTPS
redirect, HSTS, secure cookies, hashed static files); this module leaves those out so gunicorn can be
reached at http://127.0.0.1 (the benchmarks, trying the production stack locally).
"""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import DEBUG, SECRET_KEY

if DEBUG:
    raise ImproperlyConfigured(
        "DEBUG must be off with config.settings.serve and config.settings.production; "
        "config.settings.local (manage.py's default) is the one with DEBUG on."
    )
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set with config.settings.serve and config.settings.production "
        "(bin/serve makes a throwaway one for a local run)."
    )
