"""Wireflow settings, read from the environment (12-factor).

Unset variables fall back to the embedded defaults `make run` uses on a laptop: SQLite and
files under ``var/``, Redis at ``REDIS_URL`` (the runner starts an embedded one when unset).
Everything a deployment changes is an environment variable; see the README's table.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp import constants as csp
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


VAR_DIR = Path(os.environ.get("WIREFLOW_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    """SECRET_KEY from the environment; on a development machine, one kept under var/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The public address clients reach us at, for webhook and share URLs; empty = from the request.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")

# Email (team invites): SMTP in production from the environment; `make run` (DEBUG) prints
# emails on the console instead. EMAIL_BACKEND names any Django email backend.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", 10))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Wireflow <noreply@localhost>")

# Behind TLS (every deployment but a laptop) cookies are secure and HTTP redirects to HTTPS.
HTTPS = env_bool("HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# `manage.py check --deploy` passes with these defaults (tests/site/test_deploy_check.py). One
# warning is silenced, and only when it does not apply: behind a TLS-terminating proxy that
# redirects HTTP to HTTPS itself (BEHIND_PROXY=1 with SECURE_SSL_REDIRECT=0), Django's W008
# asks for a redirect the proxy already makes. Cookies stay secure and HSTS stays on.
SILENCED_SYSTEM_CHECKS = (["security.W008"] if BEHIND_PROXY and HTTPS and not SECURE_SSL_REDIRECT
                          else [])
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$"]
# /healthz checks the database, Redis and the workers at most once per this many seconds.
HEALTH_CACHE_SECONDS = float(os.environ.get("HEALTH_CACHE_SECONDS", "2"))

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "accounts",
    "graph",
    "executions",
    "clientapps",
    "frontend",
]

MIDDLEWARE = [
    "wireflow_site.middleware.RequestIdMiddleware",
    "wireflow_site.middleware.RateLimitHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wireflow_site.middleware.ApiErrorMiddleware",
    # Last, as django-axes asks: it answers a locked-out login with our lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "wireflow_site.urls"
ASGI_APPLICATION = "wireflow_site.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.team_context.team_menu",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        # Persistent connections: a Celery task must not pay a PostgreSQL connect each time.
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", True):
    # Under ASGI every request runs in a thread of its own, so a persistent connection is
    # never reused and each request would pay a PostgreSQL connect (~6 ms here). Django's
    # built-in pool (psycopg_pool) hands connections from one request or task to the next.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        # A connect to an address that drops packets gives up instead of waiting on TCP.
        "connect_timeout": 5,
        "pool": {
            "min_size": 1, "max_size": int(os.environ.get("DB_POOL_SIZE", "20")),
            # How long a request or task waits for a connection: while PostgreSQL is away,
            # a request answers 503 after this long instead of hanging.
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "3")),
            # psycopg_pool retries a lost connection 1 s, 2 s, 4 s… apart for
            # reconnect_timeout (5 min by default), so the first connection after a 40 s
            # outage came 20 s late. Giving up after a second hands the slot back, and the
            # next request that finds the pool empty connects at once. Checks on checkout
            # (CONN_HEALTH_CHECKS) discard connections the outage broke.
            "reconnect_timeout": float(os.environ.get("DB_RECONNECT_TIMEOUT", "1")),
        },
    })
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # daphne and the Celery worker write at once: WAL and immediate transactions avoid
    # "database is locked" on upgrades from read to write locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # Write transactions queue on a lock file instead of sleeping in SQLite's busy handler
    # (wireflow_site/backends/sqlite3): 0 for Django's own backend (benchmarks compare the two).
    if env_bool("SQLITE_SERIAL_WRITERS", True):
        DATABASES["default"]["ENGINE"] = "wireflow_site.backends.sqlite3"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

# Login throttling (django-axes) on every form login, the site's and admin's: after
# LOGIN_FAILURE_LIMIT failures for one username from one address, that pair is refused for
# LOGIN_COOLOFF_MINUTES after its last attempt (429 with a page saying when to try again);
# colleagues behind the same address are unaffected until the address itself reaches
# LOGIN_ADDRESS_FAILURE_LIMIT failures across usernames (accounts.throttling). API keys never
# pass through a login.
# Attempts are rows in the database (AxesDatabaseHandler), on SQLite and PostgreSQL alike.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "accounts.throttling.AddressAwareAxesHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("LOGIN_ADDRESS_FAILURE_LIMIT", "50"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.login_lockout_response"
# Not verbose: no banner line at every process start (commands print their own first line);
# failures and lockouts are still logged, naming the username and address they count.
AXES_VERBOSE = False

# --- Redis: broker, channel layer, cache ----------------------------------------------------
# `make run` writes its embedded Redis's URL to var/redis.url, so other commands run beside it
# (run_workflow, shell) find the same Redis without being told.
_EMBEDDED_REDIS = VAR_DIR / "redis.url"
REDIS_URL = os.environ.get("REDIS_URL") or (
    _EMBEDDED_REDIS.read_text().strip() if _EMBEDDED_REDIS.exists()
    else "redis://127.0.0.1:6379/0"
)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "wireflow"),
    }
}

# Every Redis client gives up on a Redis that accepts and never answers (hung, or a network
# that drops packets) instead of hanging the request or task that asked: seconds to connect,
# and to wait for one reply.
REDIS_CONNECT_TIMEOUT = float(os.environ.get("REDIS_CONNECT_TIMEOUT", "2"))
REDIS_SOCKET_TIMEOUT = float(os.environ.get("REDIS_SOCKET_TIMEOUT", "5"))

CHANNEL_LAYERS = {
    "default": {
        # Redis pub/sub: a group_send is one PUBLISH, and each daphne process subscribed to
        # the group fans it out to its own sockets. The list-based layer pushed one message per
        # member and each process popped them one round trip at a time, so 200 editors
        # watching a workflow made every status event 200 round trips (p50 0.4–0.8 s; see
        # the README's benchmarks). Events are at most once either way: a client that misses
        # one sees the gap in `seq` and re-syncs from the poll endpoint.
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        # redis-py 8 reads with a 5 s socket timeout by default, and channels_redis blocks
        # 5 s per receive: without a longer timeout every WebSocket drops after ~6 s.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30,
                              "socket_connect_timeout": REDIS_CONNECT_TIMEOUT}],
                   "prefix": os.environ.get("CHANNEL_LAYER_PREFIX", "wireflow:channels")},
    }
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_CONNECT_TIMEOUT  # the result backend's client
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
# Two queues. The main one carries node runs that work here (Pillow, ffmpeg: CPU, a prefork
# pool). `<queue>.remote` carries what waits on other machines: submits to vendors, polls of
# their jobs, cancels, webhook deliveries and the engine's housekeeping, for a worker with a
# thread pool (`make run` starts both; one worker without -Q consumes both). So a hanging vendor
# never holds a CPU worker, and a backlog of local work never delays noticing that a
# generation has finished (which would hold its provider slot longer than the vendor does).
CELERY_REMOTE_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}.remote"
# Each queue has an exchange and routing key of its own: two queues bound to one key would
# each get a copy of every message.
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name)
                      for name in (CELERY_TASK_DEFAULT_QUEUE, CELERY_REMOTE_QUEUE)]
# executions.run_node is routed when it is sent, by its node's provider (executions.dispatch).
CELERY_TASK_ROUTES = {name: {"queue": CELERY_REMOTE_QUEUE} for name in (
    "executions.poll_node", "executions.cancel_remote", "executions.reap",
    "executions.reclaim", "executions.top_up_slots", "executions.deliver_due_webhooks",
    "executions.deliver_webhook", "executions.prune_expired", "executions.prune_workflow")}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Countdown tasks (polls, backoffs) fire within 0.1 s of their time, not Celery's default 1 s.
CELERY_WORKER_TIMER_PRECISION = 0.1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
# Celery's Django fixup closes every database connection around every task unless this is set,
# so each task would pay a new connection (a PostgreSQL connect costs more than a whole node).
# Connections are kept instead, and recycled the Django way (CONN_MAX_AGE, health checks,
# errors) by wireflow_site.celery around each task.
CELERY_DB_REUSE_MAX = 1_000_000_000

# --- files ----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [p for p in [BASE_DIR / "frontend" / "dist"] if p.exists()]
MEDIA_URL = "/media/"
# Output URLs are absolute; workers have no request to read a host from, so without
# PUBLIC_BASE_URL they use where `make run` serves: its PORT, or for a command run beside it
# (run_workflow) the address it wrote to var/base.url.
_SERVED_AT = VAR_DIR / "base.url"
DEFAULT_BASE_URL = (
    f"http://127.0.0.1:{os.environ['PORT']}" if os.environ.get("PORT")
    else _SERVED_AT.read_text().strip() if _SERVED_AT.exists()
    else "http://127.0.0.1:8000"
)
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))


# --- media storage --------------------------------------------------------------------------
# Outputs and uploads go through Django's storage API only (never a local path), so any backend
# works: the file system under MEDIA_ROOT by default (embedded), S3-compatible object storage
# through django-storages when S3_BUCKET is set (production: no shared disk between hosts).
# URLs handed out are private by default: signed by us and served by executions.media_urls for
# the file system, presigned by the object store for S3, valid MEDIA_URL_LIFETIME seconds.
# MEDIA_PUBLIC=1 hands out plain URLs instead (for a CDN in front; anyone with a URL can fetch
# it, for as long as the file exists).
MEDIA_URL_LIFETIME = int(os.environ.get("MEDIA_URL_LIFETIME", str(24 * 3600)))
MEDIA_PUBLIC = env_bool("MEDIA_PUBLIC", False)
# django-storages' S3 backend with one boto3 client per process (wireflow_site/storage.py);
# STORAGE_BACKEND=storages.backends.s3.S3Storage names the same one.
S3_STORAGE = "wireflow_site.storage.S3Storage"
S3_STORAGE_ALIASES = (S3_STORAGE, "storages.backends.s3.S3Storage")
S3_BUCKET = os.environ.get("S3_BUCKET", "")
S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")
S3_REGION = os.environ.get("S3_REGION", "")
S3_CUSTOM_DOMAIN = os.environ.get("S3_CUSTOM_DOMAIN", "")


def s3_options(*, bucket: str, endpoint_url: str = "", region: str = "",
               custom_domain: str = "", public: bool = False, lifetime: int = 86400,
               access_key: str = "", secret_key: str = "",
               addressing_style: str = "") -> dict:
    """django-storages' S3Storage options. Without keys, boto3's own chain is used
    (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an instance role)."""
    options = {
        "bucket_name": bucket,
        # Private: every URL is presigned (SigV4) and expires; public: plain URLs, on the
        # custom domain when there is one. A presigned URL is bound to the bucket's own host,
        # so a CDN domain only serves public media.
        "querystring_auth": not public,
        "querystring_expire": min(lifetime, 7 * 24 * 3600),  # SigV4's longest
        "signature_version": "s3v4",
        # Names are random (executions.assets), so no exists() round trip before each write.
        "file_overwrite": True,
        "default_acl": None,
    }
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    if region:
        options["region_name"] = region
    if public and custom_domain:
        options["custom_domain"] = custom_domain
    if access_key:
        options.update(access_key=access_key, secret_key=secret_key)
    # MinIO, moto and most self-hosted stores want path-style addressing.
    options["addressing_style"] = addressing_style or ("path" if endpoint_url else "auto")
    return options


def _storage_default() -> dict:
    backend = os.environ.get("STORAGE_BACKEND") or (
        S3_STORAGE if S3_BUCKET else "django.core.files.storage.FileSystemStorage")
    options = {}
    if backend in S3_STORAGE_ALIASES:
        backend = S3_STORAGE
        options = s3_options(
            bucket=S3_BUCKET, endpoint_url=S3_ENDPOINT_URL, region=S3_REGION,
            custom_domain=S3_CUSTOM_DOMAIN, public=MEDIA_PUBLIC, lifetime=MEDIA_URL_LIFETIME,
            access_key=os.environ.get("S3_ACCESS_KEY_ID", ""),
            secret_key=os.environ.get("S3_SECRET_ACCESS_KEY", ""),
            addressing_style=os.environ.get("S3_ADDRESSING_STYLE", ""))
        if not S3_BUCKET:
            del options["bucket_name"]  # from STORAGE_OPTIONS or AWS_STORAGE_BUCKET_NAME
    # STORAGE_OPTIONS (JSON) has the last word, for any backend.
    options.update(json.loads(os.environ.get("STORAGE_OPTIONS", "{}")))
    return {"BACKEND": backend, "OPTIONS": options}


def s3_origins(options: dict) -> list[str]:
    """Where an S3 backend with these options serves files from, for the CSP."""
    bucket = options.get("bucket_name", "")
    if options.get("custom_domain"):
        return [f"https://{options['custom_domain']}"]
    endpoint = options.get("endpoint_url", "")
    if endpoint:
        parts = urlsplit(endpoint)
        if options.get("addressing_style") == "virtual" and bucket:
            return [f"{parts.scheme}://{bucket}.{parts.netloc}"]
        return [_origin(endpoint)]
    if not bucket:
        return []
    region = options.get("region_name", "")
    return [f"https://{bucket}.s3.amazonaws.com"] + (
        [f"https://{bucket}.s3.{region}.amazonaws.com"] if region else [])


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


STORAGES = {
    "default": _storage_default(),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}

# Content-Security-Policy (django-csp) on every response. The pages load nothing from
# elsewhere: scripts and styles are our own files (the one inline <style> carries the request's
# nonce); outputs may come from the absolute output base (PUBLIC_BASE_URL / where make run
# serves), from the S3 bucket's host (or its custom domain) and from MEDIA_ORIGIN.
_MEDIA_ORIGINS = sorted({o for o in (_origin(PUBLIC_BASE_URL), _origin(DEFAULT_BASE_URL),
                                     _origin(os.environ.get("MEDIA_ORIGIN", "")),
                                     *(s3_origins(STORAGES["default"]["OPTIONS"])
                                       if STORAGES["default"]["BACKEND"] == S3_STORAGE else ()))
                         if o})
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF, csp.NONCE],
        "img-src": [csp.SELF, "data:", "blob:", *_MEDIA_ORIGINS],
        "media-src": [csp.SELF, "blob:", *_MEDIA_ORIGINS],
        "connect-src": [csp.SELF, *_MEDIA_ORIGINS],
        "font-src": [csp.SELF, "data:"],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    },
}
# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsTeamPrincipal"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies only (api.md): a form-encoded body is a 415 in the error shape. The upload
    # view adds multipart for its file. The parser refuses NUL characters (a 500 on PostgreSQL
    # otherwise).
    "DEFAULT_PARSER_CLASSES": ["wireflow_site.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.ratelimit.PlanRequestThrottle"],
    "EXCEPTION_HANDLER": "wireflow_site.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "wireflow_site.openapi.WireflowAutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Wireflow API",
    "DESCRIPTION": (
        "Run AI image and video workflows from code. Authenticate with "
        "`Authorization: Bearer sk-…` (Settings → API Keys, or "
        "`python manage.py createapikey`). Errors are `{\"error\", \"code\", …}`. Bodies "
        "are JSON; no string may contain the NUL character (`\\u0000`): a 400."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ApiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "sk-…"}
        }
    },
    "SECURITY": [{"ApiKey": []}],
    # One name for a choice set used in several places (a request's `visibility` and a
    # response's `linkPermission`), so the schema has one enum and spectacular no warning.
    "ENUM_NAME_OVERRIDES": {"LinkPermissionEnum": ["view", "private"],
                            "InviteStateEnum": ["pending", "accepted", "revoked", "expired"],
                            "KeyStateEnum": ["active", "expired", "revoked"],
                            "MediaKindEnum": ["image", "video", "audio"],
                            "RanByTypeEnum": ["user", "apiKey", "webhook"],
                            "AssetKindEnum": ["output", "upload"],
                            "TemplateSourceEnum": ["builtin", "team"],
                            "VersionSourceEnum": ["create", "update", "replace", "patch_node",
                                                  "duplicate", "restore", "template",
                                                  "merge"]},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "wireflow_site.openapi.add_shared_parts",
    ],
}

# --- providers ------------------------------------------------------------------------------
# An alias maps to a backend class and its options, like STORAGES. The simulator is chosen by
# base URL only (SIMULATE=1 points every remote provider at it); provider code never branches.
SIMULATE = env_bool("SIMULATE", False)
SIMULATOR_URL = os.environ.get("SIMULATOR_URL", "http://127.0.0.1:8765")
# The simulator checks key formats as the vendors do; these are its well-formed samples
# (executions/simulator/keys.py, repeated here so settings import nothing of the app).
SIMULATOR_KEYS = {
    "BFL_API_KEY": "5f0c5a8e-3b1d-4c52-9d7e-6a4f1b2c3d4e",
    "GEMINI_API_KEY": "AIzaSyD-simulator_sample_key_0123456789",
    "FAL_KEY": "0b8e7c2a-4d6f-4e1a-9c3b-7f5d2e1a0c9b:3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e",
    "OPENAI_API_KEY": "sk-proj-simulator_sample_key_0123456789abcdefABCDEF",
    "OPENROUTER_API_KEY": "sk-or-v1-" + "5e1a" * 16,
}


def _remote(env_prefix: str, backend: str, base_url: str, concurrency: int, key_env: str,
            timeout: float = 60):
    return {
        "BACKEND": backend,
        "OPTIONS": {
            "key_env": key_env,
            "api_key": os.environ.get(key_env, SIMULATOR_KEYS[key_env] if SIMULATE else ""),
            "base_url": SIMULATOR_URL if SIMULATE else os.environ.get(
                f"{env_prefix}_BASE_URL", base_url
            ),
            "max_concurrency": int(os.environ.get(f"{env_prefix}_MAX_CONCURRENCY", concurrency)),
            "timeout": float(os.environ.get(f"{env_prefix}_TIMEOUT", timeout)),
            "simulated": SIMULATE,
        },
    }


PROVIDERS = {
    "bfl": _remote("BFL", "executions.providers.bfl.BflProvider", "https://api.bfl.ai", 24,
                   "BFL_API_KEY"),
    # Gemini answers an image synchronously; at 4K that can take over a minute.
    "google": _remote("GEMINI", "executions.providers.google.GoogleProvider",
                      "https://generativelanguage.googleapis.com", 16, "GEMINI_API_KEY",
                      timeout=180),
    "fal": _remote("FAL", "executions.providers.fal.FalProvider", "https://queue.fal.run", 16,
                   "FAL_KEY"),
    # llm:chat: one provider, three OpenAI-compatible endpoints; the node's model picks one.
    # Under SIMULATE each is the simulator's (/openai/v1, /openrouter/api/v1, /compatible/v1).
    "llm": {
        "BACKEND": "executions.providers.llm.LlmProvider",
        "OPTIONS": {
            "endpoints": {
                vendor: {
                    "base_url": f"{SIMULATOR_URL}{path}" if SIMULATE else os.environ.get(
                        f"{prefix}_BASE_URL", real),
                    "api_key": os.environ.get(f"{prefix}_API_KEY",
                                              SIMULATOR_KEYS.get(f"{prefix}_API_KEY", "")
                                              if SIMULATE else ""),
                }
                for vendor, prefix, real, path in (
                    ("openai", "OPENAI", "https://api.openai.com/v1", "/openai/v1"),
                    ("openrouter", "OPENROUTER", "https://openrouter.ai/api/v1",
                     "/openrouter/api/v1"),
                    ("compatible", "LLM", "", "/compatible/v1"))
            },
            # The compatible server is reached through the SSRF guard; a private or loopback
            # address (a GPU box on your own network) only when allowed.
            "allow_private": SIMULATE or env_bool("LLM_ALLOW_PRIVATE", False),
            "max_concurrency": int(os.environ.get("LLM_MAX_CONCURRENCY", "16")),
            "timeout": float(os.environ.get("LLM_TIMEOUT", "120")),
            "simulated": SIMULATE,
        },
    },
    "local": {
        "BACKEND": "executions.providers.local.LocalProvider",
        "OPTIONS": {"max_concurrency": int(os.environ.get("LOCAL_MAX_CONCURRENCY", "8"))},
    },
}

# --- engine -------------------------------------------------------------------------------
ENGINE = {
    # Transient provider errors (429, 5xx, timeouts) are retried this many times in all.
    "max_attempts": int(os.environ.get("ENGINE_MAX_ATTEMPTS", "5")),
    "backoff_base": float(os.environ.get("ENGINE_BACKOFF_BASE", "1.0")),
    "backoff_cap": float(os.environ.get("ENGINE_BACKOFF_CAP", "60")),
    # A poll that keeps saying "pending" for longer than this fails the node.
    "remote_timeout": float(os.environ.get("ENGINE_REMOTE_TIMEOUT", "1800")),
    # A running node run whose worker has not beaten its heart for this long (it beats every
    # fifth of it), or a queued one whose task is this late, is sent round again (seconds).
    "lost_after": float(os.environ.get("ENGINE_LOST_AFTER", "15")),
    "reap_every": float(os.environ.get("ENGINE_REAP_EVERY", "2")),
    # A submit interrupted by a dead worker may have started a vendor job: by default the node
    # fails (no charge) instead of submitting again and paying the vendor twice.
    "resubmit_lost": env_bool("ENGINE_RESUBMIT_LOST", False),
    # A worker that finishes a node runs the next ready one itself (no broker hop) for up to
    # this many seconds of one task; then it hands the rest back to the queue. 0 turns it off.
    "inline_budget": float(os.environ.get("ENGINE_INLINE_BUDGET", "0.5")),
}



# Retention (executions.retention): a pass every `every` seconds deletes expired runs and
# their files, `batch` runs (and stale uploads per team) at a time, for at most 30 s.
RETENTION = {
    "every": float(os.environ.get("RETENTION_EVERY", "3600")),
    "batch": int(os.environ.get("RETENTION_BATCH", "100")),
}


def beat_schedule(every: float) -> dict:
    """The engine's three safety nets, each its own beat entry: send round again node runs
    whose worker went quiet or whose task is late, hand provider slots freed without a
    hand-over to the next in line, and send the completion webhooks whose retry is due; and
    retention's pass."""
    return {
        "reap-stale-node-runs": {"task": "executions.reap", "schedule": every},
        "top-up-provider-slots": {"task": "executions.top_up_slots", "schedule": every},
        "deliver-due-webhooks": {"task": "executions.deliver_due_webhooks", "schedule": every},
        "prune-expired-runs": {"task": "executions.prune_expired",
                               "schedule": RETENTION["every"]},
    }


CELERY_BEAT_SCHEDULE = beat_schedule(ENGINE["reap_every"])
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Fetching input images by URL refuses private, loopback and link-local hosts unless allowed.
FETCH_ALLOW_PRIVATE = env_bool("FETCH_ALLOW_PRIVATE", False)
# Plan rate limits and quotas (api.md). Turn off only for load tests and benchmarks.
RATE_LIMITS_ENABLED = env_bool("RATE_LIMITS_ENABLED", True)
# Back-pressure (executions.dispatch.intake_admit): with this many node runs waiting in the
# broker for a worker, new runs (triggers, execute, run, batches) get 503 + Retry-After
# (INTAKE_RETRY_AFTER seconds). 0 turns it off. The backlog is read at most every
# INTAKE_QUEUE_CHECK_EVERY seconds per process.
INTAKE_QUEUE_LIMIT = int(os.environ.get("INTAKE_QUEUE_LIMIT", "2000"))
INTAKE_RETRY_AFTER = int(os.environ.get("INTAKE_RETRY_AFTER", "5"))
INTAKE_QUEUE_CHECK_EVERY = float(os.environ.get("INTAKE_QUEUE_CHECK_EVERY", "0.25"))
# Threads of each daphne process that run requests' synchronous middleware and views, kept
# across requests (wireflow_site.request_threads).
WEB_THREADS = int(os.environ.get("WEB_THREADS", "4"))
# Completion webhooks to private, loopback or link-local hosts are refused unless allowed.
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
FETCH_MAX_BYTES = int(os.environ.get("FETCH_MAX_BYTES", str(25 * 1024 * 1024)))
# Seconds one outbound request may take in all (connect, redirects, headers and body).
FETCH_TIMEOUT = float(os.environ.get("FETCH_TIMEOUT", "30"))
WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "15"))
# The most bytes of files one POST /assets/zip may hold (they are stored uncompressed).
ASSETS_ZIP_MAX_BYTES = int(os.environ.get("ASSETS_ZIP_MAX_BYTES", str(2 * 1024**3)))
# Largest image (width × height) any upload, fetch or provider result may decode to.
MEDIA_MAX_PIXELS = int(os.environ.get("MEDIA_MAX_PIXELS", str(8192 * 8192)))

# --- misc -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# One handler for everything, whose filter cuts capability URLs (webhook ids, status secrets,
# share tokens) down to a prefix. daphne's access log comes through it too (wireflow_site.serve),
# and Django's own DEBUG console handler is dropped, so no request line bypasses the filter.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_capabilities": {"()": "wireflow_site.log_redaction.RedactCapabilities"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["redact_capabilities"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True},
                "django.server": {"level": "WARNING"}},
}
