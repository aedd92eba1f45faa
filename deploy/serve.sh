#!/usr/bin/env bash
# Run the trading platform for real: load the settings, bring the database schema up to date,
# then hand over to the app server with several workers.
#
#   deploy/serve.sh [ENV_FILE]        (default: deploy/trading.env next to this script)
#
# Environment: WORKERS (default 4), HOST (default 0.0.0.0), PORT (default 8000); the env file may
# set them too. The `trading` command must be on PATH (e.g. the venv's bin directory).
set -euo pipefail

env_file=${1:-"$(dirname "$0")/trading.env"}
if [[ ! -r "$env_file" ]]; then
    echo "serve.sh: cannot read $env_file (copy deploy/trading.env.example and fill it in)" >&2
    exit 1
fi

# Export every variable the file sets; WORKERS, HOST and PORT given by the caller win over the file.
caller_workers=${WORKERS:-} caller_host=${HOST:-} caller_port=${PORT:-}
set -a
# shellcheck source=/dev/null
. "$env_file"
set +a
WORKERS=${caller_workers:-${WORKERS:-4}}
HOST=${caller_host:-${HOST:-0.0.0.0}}
PORT=${caller_port:-${PORT:-8000}}

if ! command -v trading >/dev/null 2>&1; then
    echo "serve.sh: the 'trading' command is not on PATH (pip install . into a venv and activate it)" >&2
    exit 1
fi

# Migrations are idempotent: a schema already up to date is left alone. With several app hosts, run
# the upgrade once from the deploy step and start the hosts with SKIP_UPGRADE=1, so that two
# upgrades never race.
if [[ "${SKIP_UPGRADE:-0}" != 1 ]]; then
    trading db upgrade
fi

exec trading serve --host "$HOST" --port "$PORT" --workers "$WORKERS"
