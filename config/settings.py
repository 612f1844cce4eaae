"""Settings for Mimic Scheduled Runs.

Everything comes through `config.env.env`; the defaults make `make run` work on a laptop
(SQLite, embedded Redis) once DEBUG=true, which `make run` sets. DEBUG is off unless set
(SPEC §13): production sets the five variables of SPEC §13 and ALLOWED_HOSTS.
"""

import warnings
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from .env import BASE_DIR, env

# Off unless set (SPEC §13): a forgotten variable must not leave tracebacks and settings on
# public error pages. `make run` (bin/dev-setup) sets DEBUG=true.
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-secret-key" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- HTTPS: secure by default when DEBUG is off (`manage.py check --deploy` is clean) -------
# Each one can be turned off by its variable, e.g. SECURE_SSL_REDIRECT=false where a proxy in
# front already redirects, or all of them for a plain-http test server on loopback.
#
# Behind a proxy that terminates TLS, Django sees plain http: name the header the proxy sets,
# e.g. SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https. Only then — and only when every
# request passes that proxy — since otherwise a client could claim https with the header itself.
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header:
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER is HEADER,VALUE.")
    SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header[0], _proxy_ssl_header[1])
# Plain http is answered with a redirect to https: logins and API tokens never cross in clear.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Paths (regexes, no leading slash) served over http too, e.g. a load balancer's health check.
SECURE_REDIRECT_EXEMPT = env.list("SECURE_REDIRECT_EXEMPT", default=[])
# The session and CSRF cookies are sent over https only: a network observer on a plain-http
# request would otherwise take over a staff session.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# HSTS: browsers that saw the site once use https only, so a first plain-http request cannot be
# intercepted. A year, for subdomains too; preload only takes effect if the domain is submitted
# to the browsers' list. Start with a small SECURE_HSTS_SECONDS while trying https out.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Browsers take a response's Content-Type as given: a job log served as text is never
# sniffed into HTML and run.
SECURE_CONTENT_TYPE_NOSNIFF = env.bool("SECURE_CONTENT_TYPE_NOSNIFF", default=True)
# Links out of the staff UI do not carry its URLs (object ids, filters) to other sites.
SECURE_REFERRER_POLICY = env.str("SECURE_REFERRER_POLICY", default="same-origin")
# No other site may frame the staff UI (clickjacking its buttons).
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    # Ours, lowest layer first: schedules -> agents -> vault; billing stands alone.
    "billing",
    "vault",
    "agents",
    "schedules",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise (static files are answered above it, already compressed) and above every
    # middleware that reads or changes the body: it compresses what they leave. GET /api/ only
    # (config/middleware.py says why).
    "config.middleware.ApiGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# PostgreSQL in production and tests (row locks with SKIP LOCKED are what keep evaluators
# apart). SQLite is only the embedded default of `make run`.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, beat, worker, agent) share the demo file: WAL lets readers and one
    # writer proceed together, IMMEDIATE transactions take the write lock up front instead of
    # failing on upgrade, and the timeout waits for the lock rather than erroring.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    # One persistent connection per process (not psycopg's pool): gunicorn's sync workers serve
    # one request at a time each, measured against threads in the Procfile's comment.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # storage and logs are UTC; cron is evaluated in each schedule's own zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The project's own static files (the staff UI's stylesheet); the apps' are found in each app.
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
# Until collectstatic has run (release), STATIC_ROOT does not exist; WhiteNoise's warning about
# it says nothing actionable in development or tests.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
# Static files are collected at release (Procfile); before that WhiteNoise serves from the apps.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LOGIN_URL = "/app/login/"

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's, reading the caller's memberships in the token's query.
        "billing.tenancy_auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.exception_handler",
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
    "NON_FIELD_ERRORS_KEY": "nonFieldErrors",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mimic Scheduled Runs API",
    "DESCRIPTION": "Scheduled RPA runs: schedules, agents, scripts, jobs, vault, and the tick.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Product settings ------------------------------------------------------------------------
CRON_SECRET = env.str("CRON_SECRET", default="")
# `manage.py seed_demo` sets the demo admin password to this (random when empty).
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="")
# Fernet keys, comma-separated, first is primary (MultiFernet decrypts with any of them).
VAULT_ENCRYPTION_KEYS = env.list("VAULT_ENCRYPTION_KEYS", default=[])
if not DEBUG and not VAULT_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("VAULT_ENCRYPTION_KEYS must be set when DEBUG is off.")
AGENT_ONLINE_SECONDS = env.int("AGENT_ONLINE_SECONDS", default=60)
# How often an agent runtime heartbeats (told to it in every heartbeat answer). Each heartbeat
# also reports its running jobs and picks up cancel requests: the worst-case delay between
# "cancel" and the process group being killed.
AGENT_HEARTBEAT_SECONDS = env.float("AGENT_HEARTBEAT_SECONDS", default=15.0)
BILLING_PAST_DUE_GRACE_DAYS = env.int("BILLING_PAST_DUE_GRACE_DAYS", default=7)
TICK_BATCH_SIZE = env.int("TICK_BATCH_SIZE", default=1000)
# Batches an evaluator works at once, each on its own connection (schedules/engine.py _walk_due):
# one batch's Python overlaps another's PostgreSQL work. SQLite (the demo): one.
TICK_LANES = env.int(
    "TICK_LANES", default=1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 2
)
# Processes that evaluate one busy tick together (the beat task plus helpers on other worker
# processes; row locks split the work). SQLite (the demo) has one writer: one evaluator.
TICK_EVALUATORS = env.int(
    "TICK_EVALUATORS",
    default=1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 2,
)
# A tick starts no step that would end past its budget, and its lease holder renews the lease
# before each batch (schedules/engine.py): the budget must stay well under the lease, and the
# web server's timeout (Procfile) above the budget, since the cron endpoint ticks in a request.
TICK_TIME_BUDGET_SECONDS = env.float("TICK_TIME_BUDGET_SECONDS", default=40.0)
EXECUTOR_LEASE_SECONDS = env.int("EXECUTOR_LEASE_SECONDS", default=55)
if not 0 < TICK_TIME_BUDGET_SECONDS < EXECUTOR_LEASE_SECONDS:
    raise ImproperlyConfigured("TICK_TIME_BUDGET_SECONDS must be below EXECUTOR_LEASE_SECONDS.")
JOB_LOG_MAX_BYTES = env.int("JOB_LOG_MAX_BYTES", default=64 * 1024)
JOB_PICKUP_TIMEOUT_SECONDS = env.int("JOB_PICKUP_TIMEOUT_SECONDS", default=600)
# History purge (SPEC §10; the daily beat entry `history-purge`, `manage.py purge_history`):
# finished jobs with their attempts, and schedule events, older than these many days.
JOB_RETENTION_DAYS = env.int("JOB_RETENTION_DAYS", default=90)
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=30)
if JOB_RETENTION_DAYS < 1 or EVENT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("JOB_RETENTION_DAYS and EVENT_RETENTION_DAYS must be at least 1.")
JOB_DEADLINE_GRACE_SECONDS = env.int("JOB_DEADLINE_GRACE_SECONDS", default=60)
# A `queued` job an alive agent with a free slot has not taken after this long has probably
# lost its message (a Redis restarted without persistence): the watchdog checks the agent's
# queue and publishes it again (agents.dispatch.jobs_republish_vanished).
JOB_REQUEUE_AFTER_SECONDS = env.int("JOB_REQUEUE_AFTER_SECONDS", default=60)

# --- Celery (SPEC §7: each setting deliberate) ----------------------------------------------
# Redis always requires authentication (SPEC §7). `make run`'s embedded Redis takes the password
# REDIS_PASSWORD kept in var/dev.env; the default URL carries it, so that a management command
# run beside `make run` reaches that Redis too.
_REDIS_PASSWORD = env.str("REDIS_PASSWORD", default="")
REDIS_URL = env.str(
    "REDIS_URL",
    default=f"redis://:{quote(_REDIS_PASSWORD, safe='')}@127.0.0.1:6379/0"
    if _REDIS_PASSWORD
    else "redis://127.0.0.1:6379/0",
)
# The broker's access control (agents/broker.py): "acl" gives each agent its own Redis ACL user
# (password = its token), provisioned by the control plane; "manual" is for a managed Redis that
# refuses ACL SETUSER — nothing is provisioned and the operator gives agents AGENT_BROKER_URL.
BROKER_ACL_MODE = env.str("BROKER_ACL_MODE", default="acl")
if BROKER_ACL_MODE not in ("acl", "manual"):
    raise ImproperlyConfigured('BROKER_ACL_MODE must be "acl" or "manual".')
# The broker URL agents are given. "acl": the agent's user and token go into it (empty = REDIS_URL
# without its credentials); "manual": given to agents as it is, credentials included.
AGENT_BROKER_URL = env.str("AGENT_BROKER_URL", default="")
if BROKER_ACL_MODE == "manual" and not AGENT_BROKER_URL:
    raise ImproperlyConfigured("BROKER_ACL_MODE=manual needs AGENT_BROKER_URL.")
# The longest a message may legitimately sit unacknowledged in Redis before redelivery; above
# the longest max runtime (22 h) so nothing is redelivered while it is still reserved.
_VISIBILITY_TIMEOUT = 24 * 3600
CELERY_BROKER_URL = REDIS_URL
# Results are not used for jobs (state lives in PostgreSQL); the backend exists for ad-hoc tasks
# and shares the broker's visibility timeout so the two transports never disagree.
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": _VISIBILITY_TIMEOUT}
# Retry the broker connection on start-up (agents may boot before Redis).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Early acknowledgement: a job's state and loss detection live in PostgreSQL (compare-and-swap
# claim + watchdog), so a redelivered message must never be the mechanism of recovery.
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = False
# One message at a time per process: a long RPA job must not hold others hostage in a prefetch.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# …and no prefetch at all on Redis (Celery ≥ 5.5): a free slot takes the next message, a busy
# agent holds none back from the queue.
CELERY_WORKER_DISABLE_PREFETCH = True
# One queue per agent, created on first use by the publisher and the agent's worker.
CELERY_TASK_CREATE_MISSING_QUEUES = True
# Nobody reads task results; job outcomes are rows.
CELERY_TASK_IGNORE_RESULT = True
# Backstop for prefork workers (the tick/watchdog worker) only: agents run a threads pool, which
# never enforces Celery time limits; there the runner's own deadline kill and the watchdog are
# what bound a job (max runtime <= 1320 min = 22 h).
CELERY_TASK_SOFT_TIME_LIMIT = 22 * 3600 + 30 * 60
CELERY_TASK_TIME_LIMIT = 23 * 3600
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The only beat entries: fixed, defined here. Customer schedules are rows evaluated by the tick,
# never PeriodicTask rows. `expires` < 60 s: a tick that waited a minute is stale — drop it.
CELERY_BEAT_SCHEDULE = {
    "scheduled-runs-tick": {
        "task": "schedules.tasks.evaluate_due_schedules",
        "schedule": crontab(),
        "options": {"expires": 50, "ignore_result": True},
    },
    "jobs-watchdog": {
        "task": "agents.tasks.run_watchdog",
        "schedule": timedelta(seconds=30),
        "options": {"expires": 25, "ignore_result": True},
    },
    # Daily, away from midnight's busy schedules. Dropped if no worker took it within the hour:
    # the next day's run deletes what this one would have.
    # Alerts whose after-commit message was lost (a broker hiccup) or whose retry is due.
    "alerts-sweep": {
        "task": "schedules.tasks.sweep_alerts",
        "schedule": timedelta(seconds=60),
        "options": {"queue": "celery", "expires": 50, "ignore_result": True},
    },
    "history-purge": {
        "task": "schedules.tasks.purge_history",
        "schedule": crontab(hour=3, minute=17),
        "options": {"queue": "celery", "expires": 3600, "ignore_result": True},
    },
}

# --- Logging: JSON lines, the one format of every process --------------------------------------
# The formatter is agents/runtime/logformat.py: it lives with the agent runtime, the one program
# that loads no Django and nothing of the control plane, and is named here by its path. Every
# record goes to stderr through the root logger. Django's loggers drop the handlers of Django's
# default configuration (plain text under DEBUG; mail to ADMINS, not set here) and reach the
# root's; so do runserver's access lines. gunicorn (config/gunicorn.py) and Celery
# (config/celery.py) take this same dict.
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "agents.runtime.logformat.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"level": "INFO"},
        "django.server": {"level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}

# --- Agents (owned by agents/: the agent API, controllers, the runtime's tuning) -------------
# The URL agent runtimes reach the control plane at (MIMIC_URL of a started runtime).
AGENT_CONTROL_PLANE_URL = env.str(
    "AGENT_CONTROL_PLANE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}"
)
# SIGTERM, then this long for the script to clean up (close the browser), then SIGKILL. Told to
# runtimes in heartbeat answers.
JOB_KILL_GRACE_SECONDS = env.float("JOB_KILL_GRACE_SECONDS", default=10.0)
# A cap on any job's runtime in seconds (0 = none), applied when a job is claimed: an
# operator's guard for bots that must never run long; the real-process tests use it to keep
# deadlines short.
AGENT_MAX_RUNTIME_SECONDS = env.int("AGENT_MAX_RUNTIME_SECONDS", default=0)
# The webhook controller gives up after this long: a tick must not wait on a slow VM API.
AGENT_WEBHOOK_TIMEOUT_SECONDS = env.float("AGENT_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Webhook URLs may resolve to loopback, private, link-local or metadata addresses only when
# this is on (development, tests): otherwise a tenant's URL could make the control plane call
# what only it can reach (SSRF). agents.netguard checks on save and on every connection.
AGENT_WEBHOOK_ALLOW_PRIVATE = env.bool("AGENT_WEBHOOK_ALLOW_PRIVATE", default=False)
# The `local` controller spawns agent runtimes on the control plane's own host: allowed where the
# operator says so, by default only in development (agents.controller_policy, SPEC §7).
AGENT_LOCAL_CONTROLLER = env.bool("AGENT_LOCAL_CONTROLLER", default=DEBUG)
# Where the local controller writes a spawned runtime's output.
AGENT_LOG_DIR = env.str("AGENT_LOG_DIR", default=str(BASE_DIR / "var" / "log"))

# --- Alerts (owned by schedules/alerts.py, SPEC §14) -----------------------------------------
# E-mail through Django's mail backend: the console in development, SMTP otherwise.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
ALERT_FROM_EMAIL = env.str("ALERT_FROM_EMAIL", default="alerts@mimic.invalid")
# One alert per channel, event and subject within this many minutes.
ALERT_DEDUP_MINUTES = env.int("ALERT_DEDUP_MINUTES", default=15)
# A delivery is tried this many times, waiting base, 2×base, 4×base … (capped) in between.
ALERT_MAX_ATTEMPTS = env.int("ALERT_MAX_ATTEMPTS", default=5)
ALERT_RETRY_BASE_SECONDS = env.float("ALERT_RETRY_BASE_SECONDS", default=30.0)
ALERT_RETRY_MAX_SECONDS = env.float("ALERT_RETRY_MAX_SECONDS", default=1800.0)
ALERT_TIMEOUT_SECONDS = env.float("ALERT_TIMEOUT_SECONDS", default=10.0)
# Alert webhooks are tenants' URLs too: public addresses only unless this is on (agents.netguard).
ALERT_WEBHOOK_ALLOW_PRIVATE = env.bool(
    "ALERT_WEBHOOK_ALLOW_PRIVATE", default=AGENT_WEBHOOK_ALLOW_PRIVATE
)
# The watchdog raises tick_stale when the last successful tick is older than this.
ALERT_TICK_STALE_SECONDS = env.int("ALERT_TICK_STALE_SECONDS", default=180)
