"""UnionHub settings, read from the environment (django-environ).

`DJANGO_ENV=production` selects production behaviour: secrets and hosts must come from the
environment, HTTPS-only cookies and HSTS are on, static files are compressed and hashed.
Anything else is development: SQLite, eager Celery tasks, secrets generated into a
git-ignored `.env` on first run.
"""

import secrets
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE = BASE_DIR / ".env"

env = environ.Env()
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"


def _write_development_env(path: Path) -> None:
    """Generate development secrets once, so nothing secret is ever committed."""
    from cryptography.fernet import Fernet

    path.write_text(
        "# Generated on first run for development. Never commit this file.\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n"
        f"ID_HASH_KEY={secrets.token_urlsafe(32)}\n",
        encoding="utf-8",
    )
    path.chmod(0o600)


if not PRODUCTION:
    if not ENV_FILE.exists():
        _write_development_env(ENV_FILE)
    # Values already in the process environment win over the file.
    env.read_env(str(ENV_FILE), overwrite=False)

# Production has no fallback for these (development's would be SQLite, tasks run in the web
# process, a cache per process, no keys for personal data): without them it refuses to start.
REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "FIELD_ENCRYPTION_KEYS",
    "ID_HASH_KEY",
)
if PRODUCTION:
    _missing = [name for name in REQUIRED_IN_PRODUCTION if not env.str(name, default="").strip()]
    if _missing:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs these environment variables: " + ", ".join(_missing)
        )

SECRET_KEY = env.str("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Keys for personal data (used by the members app): Fernet keys, newest first, for rotation,
# and the key of the HMAC that finds a member by ID number. Never stored in the database.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
ID_HASH_KEY = env.str("ID_HASH_KEY", default="")

INSTALLED_APPS = [
    "core.admin_apps.UnionAdminConfig",  # django.contrib.admin, officers admitted by role
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",  # its widget templates, for FORM_RENDERER
    "mptt",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "django_ratelimit",
    "django_prometheus",
    "core",
    "notifications",
    "organizations",
    "members",
    "services",
    "reports",
    "accounts",
]

MIDDLEWARE = [
    # Prometheus request metrics (counts, latencies by view and status) around everything.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "unionhub.middleware.ChineseFirstLocaleMiddleware",
    # Under /api/, any error not answered in JSON (an HTML 404 or 500 page) becomes JSON.
    "core.api_errors.ApiErrorMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "accounts.middleware.SessionRegistryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "unionhub.urls"
WSGI_APPLICATION = "unionhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.inbox",
                "reports.context_processors.dashboard_link",
            ],
        },
    },
]
# Forms render with the project's templates, so that templates/django/forms/field.html is
# the one field template of the portal (`{{ field.as_field_group }}`).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# A streaming replica of PostgreSQL for the dashboards and statistics (reports/replica.py).
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["reports.replica.ReplicaRouter"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # BEGIN IMMEDIATE takes SQLite's write lock up front, which serializes tree writes
    # (the PostgreSQL equivalent is the advisory lock in organizations.actions).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The tenant model, named here so that core (which imports no domain app) can refer to it.
TENANT_MODEL = "organizations.Organization"

# The cache holds rate-limit counters, so every web process must share it: Redis in
# production (CACHE_URL, e.g. redis://host:6379/1), process memory in development.
CACHES = {
    "default": env.cache_url(
        "CACHE_URL", default="locmemcache://" if not PRODUCTION else "redis://localhost:6379/1"
    )
}
# axes.W006 wants lockout by address too. Deliberately not: a factory's workers share one
# address, and ten wrong passwords must not lock them all out. Addresses are limited by
# django-ratelimit on the login forms instead (RATELIMIT_LOGIN).
# django_ratelimit.W001 names Django's own RedisCache "not officially supported"; it has
# the atomic add and incr that django-ratelimit counts with.
SILENCED_SYSTEM_CHECKS = ["axes.W006", "django_ratelimit.W001"]
if not PRODUCTION:
    # One development process: an unshared cache is fine there.
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.E003"]

AUTHENTICATION_BACKENDS = [
    # First: refuses any login to an account locked out by failed attempts (django-axes).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "members.backends.MemberPhoneBackend",
    "accounts.backends.AccountPhoneBackend",
    "organizations.backends.OrgRoleBackend",
]
# First-login links of officer accounts (accounts.first_login) are password-reset tokens:
# they work once and expire after this long.
PASSWORD_RESET_TIMEOUT = 7 * 24 * 3600
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Brute force (django-axes, ASVS 2.2.1): an account is locked after AXES_FAILURE_LIMIT failed
# logins in a row for AXES_COOLOFF_TIME hours, so at most 4 × 10 = 40 failures per account
# and hour. Lockout is per account, not per address: workers of one factory share an IP.
# Usernames are stored and logged only as a keyed hash (accounts.security.axes_username).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "accounts.security.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_SENSITIVE_PARAMETERS = ["username", "password", "ip_address"]
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_VERBOSE = False
# Rate limits (django-ratelimit) per client address or user; a request over the limit
# gets 429 with a plain message. Counted in the shared cache.
RATELIMIT_LOGIN = env.str("RATELIMIT_LOGIN", default="30/m")
RATELIMIT_JOIN = env.str("RATELIMIT_JOIN", default="20/h")
RATELIMIT_CONCERN = env.str("RATELIMIT_CONCERN", default="20/h")
RATELIMIT_VIEW = "accounts.views.rate_limited"
if env.bool("BEHIND_TLS_PROXY", default=False):
    # The proxy appends the client's address; trust only its last hop.
    RATELIMIT_IP_META_KEY = "accounts.security.client_ip"
# Second factor (django-otp TOTP) for administrators at city level and above and operators.
OTP_TOTP_ISSUER = "UnionHub"
# Nobody, operators included, reads an officer's TOTP secret or QR code in the admin; a
# lost phone is handled by deleting the device, and the officer sets up a new one.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "after-login"  # officers: the to-do; members: 我的会籍
LOGOUT_REDIRECT_URL = "directory"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
if not PRODUCTION:
    # WhiteNoise warns on every request while collectstatic has never run.
    STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Private: never served by URL (unionhub/urls.py); scoped views hand files out.
MEDIA_URL = "media/"
# Report files are kept apart from MEDIA_ROOT and only served through the scope-checked view.
REPORTS_ROOT = env.path("REPORTS_ROOT", default=BASE_DIR / "private" / "reports")
REPORT_RETENTION_DAYS = env.int("REPORT_RETENTION_DAYS", default=30)
# The Chinese font embedded (as a subset) in report PDFs: a TrueType file, or a collection
# (.ttc) and the index of the font in it. Debian's fonts-wqy-microhei provides the default.
REPORT_PDF_FONT = env.str(
    "REPORT_PDF_FONT", default="/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
)
REPORT_PDF_FONT_INDEX = env.int("REPORT_PDF_FONT_INDEX", default=0)

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="UnionHub <noreply@localhost>")
# SMS: a class of notifications.backends (console in development, a provider's class in
# production; CaptureSmsBackend records into the database for trial sites and tests).
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.backends.ConsoleSmsBackend")
# No SMS between these hours (Beijing time) unless a user sets their own; email and the
# inbox are not held back.
NOTIFICATIONS_QUIET_HOURS = (
    env.int("NOTIFICATIONS_QUIET_FROM", default=22),
    env.int("NOTIFICATIONS_QUIET_UNTIL", default=8),
)
# The site's address for links in emails.
SITE_URL = env.str(
    "SITE_URL",
    default=f"https://{ALLOWED_HOSTS[0]}"
    if PRODUCTION and ALLOWED_HOSTS
    else "http://127.0.0.1:8000",
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.SessionAuthentication",
        "accounts.authentication.AccessTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON with a nesting limit: hostile bodies answer 400, never a server error.
    "DEFAULT_PARSER_CLASSES": [
        "core.api_errors.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.throttling.CredentialRateThrottle",
        "accounts.throttling.AddressRateThrottle",
    ],
    "EXCEPTION_HANDLER": "organizations.api.exception_handler",
}
# API rate limits (accounts.throttling): per access token or logged-in user, and per client
# address; "N/s", "N/m" or "N/h"; empty switches one off.
API_RATE_LIMITS = {
    "credential": env.str("API_RATE_PER_CREDENTIAL", default="600/m") or None,
    "address": env.str("API_RATE_PER_ADDRESS", default="1800/m") or None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "UnionHub API",
    "DESCRIPTION": "网上工会 — the union tree, members and services. Every endpoint is scoped "
    "to the caller's organizations. Credentials, rate limits, pagination, errors and examples: "
    "[对接指南 / guide for integrators](/api/guide/).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Operations are named and tagged after the resource below /api/v1/ ("members_create",
    # tag "members"), so generated clients group them by resource.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Request bodies are documented as JSON only (the API's own clients send JSON; the form
    # parsers serve the browsable API), so a generated client has one body type per call.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    # The docs UI is served from this site (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.throttling.document_rate_limits",
        "organizations.openapi.drop_parameter_titles",
    ],
    # One name per choice set shared by several serializers.
    "ENUM_NAME_OVERRIDES": {
        "MemberStatusEnum": "members.models.MemberStatus",
        "ApplicationStatusEnum": "members.models.ApplicationStatus",
        "TransferStatusEnum": "members.models.TransferStatus",
        "OrgStatusEnum": "organizations.models.OrgStatus",
        "StationKindEnum": "services.models.StationKind",
        "ConcernStepKindEnum": "services.models.ConcernStepKind",
        "AidStepKindEnum": "services.models.AidStepKind",
    },
}

# Celery: with no broker configured, tasks run eagerly in-process (the embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# With acks_late, a task whose worker died unacknowledged is redelivered after this many
# seconds. It must exceed the longest countdown or ETA any task uses (a retry's backoff,
# at most 300 s; nothing else waits in the broker: quiet hours and delivery retries wait in
# the database), or Redis would hand a waiting task to a second worker
# (tests/notifications/test_reliability.py checks this against every registered task).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # How often a worker looks for such tasks (kombu's defaults: about every 100 s).
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
}
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Workers and beat log through LOGGING below (JSON lines in production), not Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Every worker writes a heartbeat to Redis (unionhub.celery.Heartbeat); /healthz/ wants one
# younger than HEALTH_WORKER_MAX_AGE seconds.
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", default=10)
HEALTH_WORKER_MAX_AGE = env.int("HEALTH_WORKER_MAX_AGE", default=60)
# /metrics answers the bearer of this token; without one, only requests from this host.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Days an open member transfer waits for both unions before it expires (nightly job).
MEMBERS_TRANSFER_EXPIRY_DAYS = env.int("MEMBERS_TRANSFER_EXPIRY_DAYS", default=30)

# Logs go to standard output, one JSON object a line in production (LOG_FORMAT=json), for
# the log collector. Messages name ids and counts, never personal data (STYLE.md); the
# access log of gunicorn (deploy/gunicorn.conf.py) has the path without the query string.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes reports every login at INFO; failures and lockouts are WARNING.
        "axes": {"level": "WARNING"},
    },
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Probes and the metrics scraper talk plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy (django-csp), enforced: scripts and styles only from this site,
# no inline script, no plugins, no framing, forms post only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600

# Labels for the admin's site header, in the user's language.
UNIONHUB_SITE_TITLE = _("UnionHub")

# Dues (会费): 0.5 % of the monthly wage per the union constitution, rounded to the quantum
# (0.01 yuan) with a `decimal` rounding mode named here (ROUND_HALF_UP, ROUND_HALF_EVEN,
# ROUND_DOWN, ...); a wrong name fails loudly when dues are computed. See docs/dues.md.
MEMBERS_DUES_RATE = Decimal(env.str("MEMBERS_DUES_RATE", default="0.005"))
MEMBERS_DUES_QUANTUM = Decimal(env.str("MEMBERS_DUES_QUANTUM", default="0.01"))
MEMBERS_DUES_ROUNDING = env.str("MEMBERS_DUES_ROUNDING", default="ROUND_HALF_UP")

# Member services. Concern due times by grade (days) and the hardship aid approval level
# and public-notice length apply where an organization has not set its own.
SERVICES_CONCERN_DUE_DAYS = {
    "general": env.int("SERVICES_CONCERN_DAYS_GENERAL", default=3),
    "difficult": env.int("SERVICES_CONCERN_DAYS_DIFFICULT", default=7),
    "complex": env.int("SERVICES_CONCERN_DAYS_COMPLEX", default=15),
}
SERVICES_AID_APPROVAL_LEVEL = env.str("SERVICES_AID_APPROVAL_LEVEL", default="county")
# Members per background task when an announcement is sent.
SERVICES_ANNOUNCEMENT_CHUNK_SIZE = env.int("SERVICES_ANNOUNCEMENT_CHUNK_SIZE", default=1000)
SERVICES_AID_NOTICE_DAYS = env.int("SERVICES_AID_NOTICE_DAYS", default=5)
