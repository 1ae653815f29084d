"""Settings shared by every environment, read from the environment through config/env.py's strict readers.

Not run on its own: manage.py defaults to config.settings.local (development), `make serve` runs
config.settings.serve, a deployment config.settings.production, the suite config.settings.test. Each of
them decides what an unset SECRET_KEY means.
"""

import datetime
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_database, env_float, env_int, env_list, env_origins, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", default=False)
# Empty when unset: local.py then uses its development key, serve.py and production.py refuse to start.
SECRET_KEY = env_str("SECRET_KEY", "")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- Cross-origin calls (django-cors-headers) ----------------------------------------------
# Browsers on these origins (scheme://host[:port]) may call /api/; every other origin's preflight gets
# no grant. Only the API: the admin and the browsable API's login stay same-origin.
CORS_ALLOWED_ORIGINS = env_origins("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/"
# What a preflight may ask for beyond the CORS-safelisted headers: the token, a JSON body, a retry key
# and a conditional GET of a summary.
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "idempotency-key", "if-none-match"]
# What a script on that origin may read of an answer beyond the safelisted headers.
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After"]
# Tokens travel in Authorization, so no cookie ever needs to cross origins.
CORS_ALLOW_CREDENTIALS = False
# Browsers may reuse a preflight's answer this long (seconds); a changed list reaches them within the hour.
CORS_PREFLIGHT_MAX_AGE = 60 * 60

# --- Embedding the debate under an article (docs/embedding.md) -------------------------------
# Sites (scheme://host[:port]) that may frame the widget and read /api/embed/ and /api/oembed/ from a browser,
# beside those the admin lists (Embed origins). Everything else is refused: frame-ancestors 'none'.
EMBED_ALLOWED_ORIGINS = [origin.lower() for origin in env_origins("EMBED_ALLOWED_ORIGINS")]
# The admin's list is read at most once this often per cache (seconds): a change made in the admin applies at
# once where the cache is shared (Redis) and in the admin's own process, everywhere else within this time.
EMBED_ORIGINS_CACHE_SECONDS = env_int("EMBED_ORIGINS_CACHE_SECONDS", 60, minimum=0)
# Where the widget's "Join the debate" link goes; {slug} is the topic's. A path is on this service.
EMBED_JOIN_URL = env_str("EMBED_JOIN_URL", "/api/threads/?topic={slug}")
if "{slug}" not in EMBED_JOIN_URL or not EMBED_JOIN_URL.startswith(("/", "https://", "http://")):
    raise ImproperlyConfigured(
        f"EMBED_JOIN_URL={EMBED_JOIN_URL!r}: use a path or an http(s) URL holding {{slug}}, "
        "e.g. https://forum.example/t/{slug}."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    # API tokens hashed at rest, one per login, expiring (forum.ApiToken builds on its abstract model).
    "knox",
    # Failed logins counted in the database (forum/lockout.py); moderators see and lift lockouts in the admin.
    "csp",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "discussions",
    "forum",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything that answers on its own, so those answers (a 413 among them) carry the CORS grant.
    "corsheaders.middleware.CorsMiddleware",
    # JSON errors under /api/ whatever DEBUG says: an oversized body is a 413 before anything reads it.
    "config.middleware.ApiErrorsMiddleware",
    # Serves the admin's and the docs' static files from STATIC_ROOT without a separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Pins write requests to the primary; a no-op without a replica.
    "config.db_router.PrimaryForWritesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A Content-Security-Policy on every answer: the admin, Swagger UI and the browsable API run no inline script.
    "csp.middleware.CSPMiddleware",
    # Last: turns a lockout found during authentication into its 429 (forum.lockout.lockout_response).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on the busy timeout instead of failing with "database is locked" mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT", 30, minimum=1),
    }
    # A file beside the main one, not :memory:, so threaded tests share one database through real
    # connections.
    _db_path = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_db_path.with_name(f"test-{_db_path.name}"))}
else:
    # Persistent connections by default: every synchronous view of a process runs in one thread
    # (config/asgi.py), the event streams' reads in two more (discussions/live/hub.py). DATABASE_POOL_SIZE
    # lends connections from a pool per process instead (Django's "pool" option, psycopg-pool).
    DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 0, minimum=0)
    if DATABASE_POOL_SIZE:
        DATABASES["default"]["OPTIONS"] = {
            **DATABASES["default"].get("OPTIONS", {}),
            "pool": {
                "min_size": 1,
                "max_size": DATABASE_POOL_SIZE,
                "timeout": env_float("DATABASE_POOL_TIMEOUT", 10.0),
            },
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them open; Django refuses both at once
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Prepared statements for the hot writes' own SQL (forum.rawsql.prepared_cursor, which binds parameters on
    # the server); Django's cursors bind on the client, which never prepares, so the ORM's queries are as
    # before. Off behind a pooler in transaction mode that cannot keep them (PgBouncer before 1.21).
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}), "prepare_threshold": 0}
# A read replica: reads go there, writes and the reads of write requests to the primary.
if env_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = {
        **DATABASES["default"],
        **env_database("DATABASE_REPLICA_URL", ""),
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["config.db_router.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ---------------------------------------------------------------------------------
# Throttle counters and cached summaries live here: with REDIS_URL every worker and node shares
# them; without it each process keeps its own in memory.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r}: use redis://host:port/db.")
    CACHES = {
        "default": {
            # Falls back to this process's memory while Redis fails: a cache outage never fails a request.
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "forum"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # A stalled Redis costs one request this long, then the breaker skips it (config/cache.py).
                "SOCKET_CONNECT_TIMEOUT": env_float("CACHE_TIMEOUT", 0.25),
                "SOCKET_TIMEOUT": env_float("CACHE_TIMEOUT", 0.25),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "forum"}}

# Summaries are cached only in a shared cache: see discussions/summary_cache.py.
SUMMARY_CACHE_SECONDS = env_int("SUMMARY_CACHE_SECONDS", 300 if REDIS_URL else 0, minimum=0)

# Live updates (discussions/live/): how long the outbox keeps events for a reconnecting stream to replay
# (manage.py prune_events deletes older ones), and how the streams behave.
EVENTS_KEEP_DAYS = env_int("EVENTS_KEEP_DAYS", 7, minimum=1)
# A comment line this often keeps proxies from closing an idle stream (at most 20 s, as the contract says).
STREAM_HEARTBEAT_SECONDS = env_float("STREAM_HEARTBEAT_SECONDS", 15.0)
# Open streams one client address may hold on one node; more get a 429.
STREAM_MAX_PER_ADDRESS = env_int("STREAM_MAX_PER_ADDRESS", 20, minimum=1)
# How often a node reads the outbox without being woken: SQLite's only way, and the safety net behind
# Redis or NOTIFY (a lost wake-up, a Redis outage).
STREAM_POLL_SECONDS = env_float("STREAM_POLL_SECONDS", 0.25)
STREAM_SAFETY_POLL_SECONDS = env_float("STREAM_SAFETY_POLL_SECONDS", 2.0)
# Vote-driven reply-changed and summary events go out at most this often per reply and per topic.
STREAM_COALESCE_SECONDS = env_float("STREAM_COALESCE_SECONDS", 1.0)
# Events a reconnecting stream may replay; further behind, it gets `event: reset` and refetches.
STREAM_REPLAY_LIMIT = env_int("STREAM_REPLAY_LIMIT", 1000, minimum=1)
# Lifetime of a stream ticket (POST /api/auth/stream-ticket/), for browsers' EventSource.
STREAM_TICKET_SECONDS = env_int("STREAM_TICKET_SECONDS", 60, minimum=1)

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "forum.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "rest_framework:login"
LOGIN_REDIRECT_URL = "/api/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "forum.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Suspension is not a view permission: every write service checks it (forum.permissions.refuse_if_suspended),
    # so no entry point (API view, admin, command) can leave it out.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.Pagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 20, minimum=1),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Bodies are JSON. The form parsers stay for the browsable API's HTML forms; the schema does not
    # publish them (SPECTACULAR_SETTINGS["PARSER_WHITELIST"]), so generated clients send JSON.
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    # Scoped throttles: each write endpoint names its scope; rates are "N/second|minute|hour|day".
    "DEFAULT_THROTTLE_RATES": {
        "register": env_rate("THROTTLE_REGISTER", "10/hour"),
        "login": env_rate("THROTTLE_LOGIN", "30/hour"),
        "post": env_rate("THROTTLE_POST", "30/hour"),
        "vote": env_rate("THROTTLE_VOTE", "300/hour"),
        "flag": env_rate("THROTTLE_FLAG", "30/hour"),
        "position": env_rate("THROTTLE_POSITION", "60/hour"),
        # Per user (per address when anonymous): a search reads an index, dearer than a page of a list.
        "search": env_rate("THROTTLE_SEARCH", "120/minute"),
    },
}
# django-csp. Scripts only from this origin (Swagger UI is served by its split view, so its set-up script is a
# file too); inline styles allowed, as the admin's and Swagger UI's markup uses them; images also as data: URIs
# (Swagger UI's icons). No plugin, no framing, forms post here only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

KNOX_TOKEN_MODEL = "forum.ApiToken"
# knox's own migrations create its AuthToken table whatever the swap says; forum.ApiToken replaces it, and a
# stray table pointing at users would stop PostgreSQL from emptying them between transactional tests.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    # A login's token works this many days, then the client logs in again.
    "TOKEN_TTL": datetime.timedelta(days=env_int("TOKEN_TTL_DAYS", 30, minimum=1)),
    "AUTH_HEADER_PREFIX": "Token",
}

# Failed logins (django-axes, counted in the database; forum/lockout.py): a username from one address is
# refused for LOGIN_FAILURE_WINDOW seconds after LOGIN_FAILURE_LIMIT failures, an address after
# LOGIN_ADDRESS_FAILURE_LIMIT failures across usernames. The owner logging in from elsewhere is never locked.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 50, minimum=1)
LOGIN_FAILURE_WINDOW = env_int("LOGIN_FAILURE_WINDOW", 15 * 60, minimum=1)
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "forum.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = "forum.lockout.failure_limit"
AXES_COOLOFF_TIME = "forum.lockout.cool_off"
AXES_USERNAME_CALLABLE = "forum.lockout.username_of"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_LOCKOUT_CALLABLE = "forum.lockout.lockout_response"
# The address the connection came from: a client-sent X-Forwarded-For would let an attacker pick his own.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
# Successful logins need no record of their own; failures are what the counts are made of.
AXES_DISABLE_ACCESS_LOG = True
# A reply is at most 20,000 characters; nothing legitimate sends a body anywhere near this.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 256 * 1024, minimum=1024)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 100, minimum=1)

SPECTACULAR_SETTINGS = {
    "TITLE": "Stance debate forum API",
    "DESCRIPTION": (
        "People argue one question from declared sides: every reply carries a stance, readers vote "
        "replies up or down, and stance summaries say how each side is doing."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # What generated clients rely on (config/openapi.py): JSON bodies only, named enums, and the errors,
    # headers and security every operation shares.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "ENUM_NAME_OVERRIDES": {
        "FlagReasonEnum": "discussions.models.Flag.Reason",
        "FlagStateEnum": "discussions.models.Flag.State",
        "NotificationKindEnum": "discussions.models.Notification.Kind",
        "SubscriptionLevelEnum": "discussions.models.ThreadSubscription.Level",
        "VoteValueEnum": "discussions.models.Vote.Value",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.openapi.finish_schema"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
