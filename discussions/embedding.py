"""Embedding the debate under an article: article addresses as keys, and the sites allowed to embed.

An article URL is keyed (`source_key`) so the variants readers and share buttons produce find the same topic:
scheme and host in lower case, `www.` and a default port dropped, no fragment, no `utm_*` parameter, no
trailing slash. `http` and `https` stay apart (docs/embedding.md says why). The allowed origins are
EMBED_ALLOWED_ORIGINS plus the admin's EmbedOrigin rows, cached for EMBED_ORIGINS_CACHE_SECONDS.
"""

import logging
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.cache import cache

from discussions.models import EmbedOrigin
from forum.errors import Invalid

log = logging.getLogger(__name__)

SOURCE_URL_MAX_LENGTH = 2000
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ORIGIN = re.compile(r"^https?://[a-z0-9.\-]+(:\d{1,5})?$|^https?://\[[0-9a-f:.]+\](:\d{1,5})?$")
# Characters a URL may carry unescaped; anything else (spaces, non-ASCII) is percent-encoded into the key,
# as a browser sends it.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_CACHE_KEY = "embed-origins"


def source_key(url: str, *, field: str = "url") -> str:
    """The normalised form of an article URL; Invalid (naming `field`) for anything but an http(s) URL."""
    if not isinstance(url, str) or not url.strip():
        raise Invalid.on(field, "Give the article's address (http:// or https://).")
    url = url.strip()
    if len(url) > SOURCE_URL_MAX_LENGTH or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise Invalid.on(field, f"Use an address of at most {SOURCE_URL_MAX_LENGTH} characters, without spaces.")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii").lower()
    except (ValueError, UnicodeError):
        raise Invalid.on(field, "This is not a valid address.") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        raise Invalid.on(field, "Use an http:// or https:// address with a host and no user name.")
    host = host.removeprefix("www.").rstrip(".")
    if ":" in host:
        host = f"[{host}]"  # IPv6, bracketed again
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith("utm_")]
    query = urlencode(kept, safe=_QUERY_SAFE, quote_via=quote)
    path = quote(parts.path, safe=_PATH_SAFE).rstrip("/")
    return urlunsplit((scheme, netloc, path, query, ""))


def origin_clean(origin: str, *, field: str = "origin") -> str:
    """An origin as browsers send it in `Origin`: scheme://host[:port] in lower case, no default port."""
    if not isinstance(origin, str):
        raise Invalid.on(field, "Must be a string.")
    value = origin.strip().lower().rstrip("/")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise Invalid.on(field, f"{origin!r} is not an origin.") from None
    if not _ORIGIN.match(value) or parts.scheme not in _DEFAULT_PORTS:
        raise Invalid.on(field, f"{origin!r} is not an origin: use scheme://host[:port] with no path.")
    if port == _DEFAULT_PORTS[parts.scheme]:
        value = f"{parts.scheme}://{parts.hostname if ':' not in parts.hostname else f'[{parts.hostname}]'}"
    return value


def allowed_origins() -> tuple[str, ...]:
    """The setting's origins and the admin's, sorted; the admin's read at most once per cache period."""
    try:
        rows = cache.get(_CACHE_KEY)
    except Exception:  # a cache outage costs one small read, never the widget
        log.exception("embed origins cache unavailable")
        rows = None
    if rows is None:
        rows = list(EmbedOrigin.objects.values_list("origin", flat=True))
        try:
            cache.set(_CACHE_KEY, rows, settings.EMBED_ORIGINS_CACHE_SECONDS)
        except Exception:
            log.exception("could not cache the embed origins")
    return tuple(sorted({*settings.EMBED_ALLOWED_ORIGINS, *rows}))


def allowed_origins_forget() -> None:
    """Drop the cached list, so the next request reads the admin's rows (this process or, with Redis, all)."""
    try:
        cache.delete(_CACHE_KEY)
    except Exception:
        log.exception("could not drop the cached embed origins")


def allow_cross_origin_read(request, response):
    """Let a script on an allowed origin read this answer (no credentials); any other origin gets no grant."""
    response["Vary"] = ", ".join(filter(None, [response.get("Vary"), "Origin"]))
    origin = request.headers.get("Origin")
    if origin and origin in allowed_origins():
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = "ETag"
    return response


def allow_framing(response):
    """Only the allowed origins may frame this page (CSP frame-ancestors); with none, nobody may."""
    origins = list(allowed_origins())
    response._csp_replace = {"frame-ancestors": origins or ["'none'"]}
    # Browsers obey frame-ancestors over X-Frame-Options; DENY stays for the rest and when nobody is allowed.
    if origins:
        response.xframe_options_exempt = True
    return response
