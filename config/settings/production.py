"""Production: everything that must be set is required, cookies are secure."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
ID_NUMBER_HASH_KEY = env("ID_NUMBER_HASH_KEY")
AUDIT_ANCHOR_KEY = env("AUDIT_ANCHOR_KEY")

# An empty value would silently fall back to a weaker default (the encryption key to SECRET_KEY):
# refuse to start instead. docker-compose passes empty strings until .env is filled in.
for _name, _value in {
    "DJANGO_SECRET_KEY": SECRET_KEY,
    "DJANGO_ALLOWED_HOSTS": ALLOWED_HOSTS,
    "FIELD_ENCRYPTION_KEYS": FIELD_ENCRYPTION_KEYS,
    "ID_NUMBER_HASH_KEY": ID_NUMBER_HASH_KEY,
    "AUDIT_ANCHOR_KEY": AUDIT_ANCHOR_KEY,
}.items():
    if not _value:
        raise ImproperlyConfigured(f"{_name} must be set in production: see .env.example")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}  # noqa: F405
LOGGING["handlers"]["audit_file"]["filename"] = env(  # noqa: F405
    "AUDIT_LOG_FILE",
    default=str(VAR_DIR / "audit.jsonl"),  # noqa: F405
)
