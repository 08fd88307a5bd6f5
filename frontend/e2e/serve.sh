#!/usr/bin/env bash
# Starts cartrack's demo (fresh SQLite database, demo users and cases) serving the built UI,
# for the end-to-end tests. Playwright starts this and stops it after the run.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(cd .. && pwd)"
# Build when dist is missing or older than the sources.
if [ ! -f dist/index.html ] || [ -n "$(find src index.html vite.config.ts -newer dist/index.html -print -quit)" ]; then
  npm run build >&2
fi
tmp="${E2E_TMP:-$(pwd)/e2e/.tmp}"
mkdir -p "$tmp"
rm -f "$tmp"/e2e.db*
export CARTRACK_DATABASE_URL="sqlite:///$tmp/e2e.db"
export CARTRACK_DEMO_PASSWORD="${CARTRACK_DEMO_PASSWORD:-cartrack-demo}"
export CARTRACK_FRONTEND_DIR="$(pwd)/dist"
export CARTRACK_ENVIRONMENT=test
exec "$root/.venv/bin/cartrack" demo --host 127.0.0.1 --port "${E2E_PORT:-8765}"
