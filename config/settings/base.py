"""Settings shared by every mode. The environment is read here and only here.

Defaults give the embedded mode (SQLite, local files, eager Celery); production.py
tightens what must be tight. Every variable is listed in .env.example.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env("ZHUPEI_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-not-secret-5f1c2e9a8b7d6c4e3f2a1b0c9d8e7f6a5b4c3d2e1f0")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "core.admin.ZhupeiAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_htmx",
    "guardian",
    "axes",
    "import_export",
    "core",
    "accounts",
    "approvals",
    "notices",
    "audit_logs",
    "residents",
    "faculty",
    "rotation",
    "teaching",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.request_context.RequestContextMiddleware",
    "audit_logs.middleware.RequestLogMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware.SessionTimeoutMiddleware",
    "core.middleware.PasswordChangeRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
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
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the dev server, the eager tasks and a test browser share the file.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://zhupei")}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.StatusAwareModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# --- password policy (standards.md §12.4: the 等保 level-3 preset by default) ---
PASSWORD_MIN_LENGTH = env.int("PASSWORD_MIN_LENGTH", default=8)
PASSWORD_MIN_CHARACTER_CLASSES = env.int("PASSWORD_MIN_CHARACTER_CLASSES", default=3)
PASSWORD_EXPIRY_DAYS = env.int("PASSWORD_EXPIRY_DAYS", default=0)  # 0 = never expires
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {
        "NAME": "accounts.validators.CharacterClassesValidator",
        "OPTIONS": {"min_classes": PASSWORD_MIN_CHARACTER_CLASSES},
    },
    {"NAME": "accounts.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- login throttling (django-axes) ---
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0)

# --- sessions: idle and absolute limits (ASVS V3, 等保) ---
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_MINUTES", default=30) * 60
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_HOURS", default=12) * 3600
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
# The idle timer touches the session on every request: keep that write in the cache (Redis in production).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the meta tag, never from the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- field encryption for ID numbers: first key encrypts, all keys decrypt (rotation) ---
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
ID_NUMBER_HASH_KEY = env("ID_NUMBER_HASH_KEY", default=SECRET_KEY)

# --- i18n ---
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and media: vendor assets come from node_modules, installed at setup time ---
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
]
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"  # no URL pattern serves it: uploads go out only through authorised download views
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_MB", default=20) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# --- Celery: eager unless a broker is configured ---
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://")
CELERY_TASK_EAGER_PROPAGATES = True
# Embedded mode (eager tasks, no worker): run schedule generation in a thread of the web process.
ROTATION_RUNS_IN_THREAD = env.bool("ROTATION_RUNS_IN_THREAD", default=True)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
#: Every periodic job, in one table; each entry expires so a backlog never piles up.
CELERY_BEAT_SCHEDULE: dict = {
    "logs-replay-spool": {"task": "audit_logs.tasks.replay_spool", "schedule": 60.0, "options": {"expires": 55}},
    "logs-aggregate": {"task": "audit_logs.tasks.aggregate_recent", "schedule": 600.0, "options": {"expires": 590}},
    "audit-anchor-daily": {
        "task": "audit_logs.tasks.write_daily_anchor",
        "schedule": crontab(hour=0, minute=10),
        "options": {"expires": 3600},
    },
    "audit-verify-daily": {
        "task": "audit_logs.tasks.verify_chain",
        "schedule": crontab(hour=2, minute=0),
        "options": {"expires": 3600},
    },
    "logs-prune-daily": {
        "task": "audit_logs.tasks.prune",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 3600},
    },
    "caseload-low-quotas": {
        "task": "rotation.tasks_caseload.warn_low_quotas",
        "schedule": crontab(hour=7, minute=0),
        "options": {"expires": 3600},
    },
}

# --- teaching: QR check-in (standards.md §10) ---
TEACHING_QR_ROTATE_SECONDS = env.int("TEACHING_QR_ROTATE_SECONDS", default=10)
TEACHING_CHECKIN_BEFORE_MINUTES = env.int("TEACHING_CHECKIN_BEFORE_MINUTES", default=10)
TEACHING_CHECKIN_AFTER_MINUTES = env.int("TEACHING_CHECKIN_AFTER_MINUTES", default=10)
TEACHING_CHECKOUT_BEFORE_MINUTES = env.int("TEACHING_CHECKOUT_BEFORE_MINUTES", default=10)
TEACHING_CHECKOUT_AFTER_MINUTES = env.int("TEACHING_CHECKOUT_AFTER_MINUTES", default=10)
TEACHING_SCAN_HOLD_SECONDS = env.int("TEACHING_SCAN_HOLD_SECONDS", default=300)
TEACHING_SCAN_RATE_IP = env.int("TEACHING_SCAN_RATE_IP", default=30)
TEACHING_SCAN_RATE_USER = env.int("TEACHING_SCAN_RATE_USER", default=10)
TEACHING_SCAN_BURST = env.int("TEACHING_SCAN_BURST", default=5)

# --- MongoDB: logs, the audit trail and (when configured) uploaded files in GridFS ---
MONGODB_URI = env("MONGODB_URI", default="")
MONGODB_DATABASE = env("MONGODB_DATABASE", default="zhupei")  # used when the URI names no database
MONGODB_TIMEOUT_MS = env.int("MONGODB_TIMEOUT_MS", default=1500)
#: How long one reply may take: roll-ups and chain verification read large batches.
MONGODB_SOCKET_TIMEOUT_MS = env.int("MONGODB_SOCKET_TIMEOUT_MS", default=15_000)
#: "gridfs" keeps every upload in MongoDB GridFS (the default when MongoDB is configured); "filesystem" in MEDIA_ROOT.
MEDIA_STORAGE = env("MEDIA_STORAGE", default="gridfs" if MONGODB_URI else "filesystem")

# --- guardian ---
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# --- logging: the audit logger writes one JSON object per line ---
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "message": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "audit_file": {
            "class": "logging.handlers.WatchedFileHandler",
            "filename": str(VAR_DIR / "audit.jsonl"),
            "formatter": "message",
            "delay": True,
        },
    },
    "loggers": {
        "zhupei.audit": {"handlers": ["audit_file"], "level": "INFO", "propagate": False},
        "zhupei": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# --- logs and the audit trail (audit_logs/): buffered in the process, written to MongoDB in batches,
# spooled to LOG_SPOOL_DIR while MongoDB is down and replayed exactly once when it is back ---
AUDIT_SINKS = env.list("AUDIT_SINKS", default=["audit_logs.sinks.durable_sink"])
REQUEST_LOG_ENABLED = env.bool("REQUEST_LOG_ENABLED", default=True)
LOG_SPOOL_DIR = Path(env("LOG_SPOOL_DIR", default=str(VAR_DIR / "spool")))
LOG_FLUSH_SECONDS = env.float("LOG_FLUSH_SECONDS", default=1.0)
LOG_BATCH_SIZE = env.int("LOG_BATCH_SIZE", default=500)
REQUEST_LOG_RETENTION_DAYS = env.int("REQUEST_LOG_RETENTION_DAYS", default=180)
EXCEPTION_LOG_RETENTION_DAYS = env.int("EXCEPTION_LOG_RETENTION_DAYS", default=365)
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=3 * 365)  # 网络安全法 Art. 21: at least 6 months
AUDIT_ANCHOR_KEY = env("AUDIT_ANCHOR_KEY", default=SECRET_KEY)
AUDIT_ANCHOR_DIR = Path(env("AUDIT_ANCHOR_DIR", default=str(VAR_DIR / "anchors")))

# Lockout is per account (等保: "limit failures per account"); adding the IP would let one failing
# user behind the hospital NAT lock out every colleague. See docs/decisions/0003-login-lockout.md.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

if MEDIA_STORAGE == "gridfs":
    STORAGES["default"] = {"BACKEND": "core.storage.GridFSStorage"}
