"""Production: what `make serve` runs (DEBUG off, a SECRET_KEY required), plus what a public deployment
behind a TLS-terminating proxy needs. `check --deploy --fail-level WARNING` passes on it (CI runs it)."""

from config.settings.serve import *  # noqa: F403

# TLS ends at the proxy in front of the app; it says so with this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Hashed, compressed static file names: cached forever by browsers, replaced on every deploy.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
