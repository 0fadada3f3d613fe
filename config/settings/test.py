"""Test settings: SQLite unless DATABASE_URL names PostgreSQL (CI)."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
ROTATION_RUNS_IN_THREAD = False  # tests run the task in the request (the browser test switches it on)
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING["loggers"]["zhupei.audit"]["handlers"] = ["console"]  # noqa: F405
LOGGING["loggers"]["zhupei.audit"]["level"] = "WARNING"  # noqa: F405

# Browser tests: collectstatic never runs, so WhiteNoise serves straight from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The session fixture starts nx-27017 and sets MONGODB_URI; uploads go to its GridFS as in the
# embedded mode. Spooled logs stay out of the work tree.
STORAGES["default"] = {"BACKEND": "core.storage.GridFSStorage"}  # noqa: F405
LOG_SPOOL_DIR = Path(tempfile.mkdtemp(prefix="zhupei-test-spool-"))
AUDIT_ANCHOR_DIR = Path(tempfile.mkdtemp(prefix="zhupei-test-anchors-"))
LOG_FLUSH_SECONDS = 0.2
DEMO_LOG_REQUESTS = 300  # seed_demo's log history, kept small so its tests stay fast
DEMO_SCHEDULE_SECONDS = 3  # seed_demo generates the schedule of ~150 residents; a few seconds are plenty
