#!/bin/sh
# Container entry point: optionally migrate, then run the command (gunicorn, celery worker, beat).
# RUN_MIGRATIONS=1 is set only on the web service, so that one container applies migrations.
set -eu

if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
    echo "entrypoint: applying database migrations"
    python manage.py migrate --no-input
    echo "entrypoint: creating MongoDB indexes"
    python manage.py mongo_setup
fi

exec "$@"
