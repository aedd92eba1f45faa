#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into a fresh database and a fresh bucket (deploy/README.md §7).
#
#   deploy/restore.sh ENV_FILE BACKUP_DIR
#
# ENV_FILE is the settings file the restored service will run with: its TRADING_DATABASE_URL names a database
# that exists and is empty (createdb), its blob-store settings a bucket (or prefix, or local folder) to fill.
# The signing key it names must be the platform's own key, restored from its offline copy: every receipt and
# checkpoint ever given out is checked against it.
#
# Steps: pg_restore the dump; bring the schema up to date (`trading db upgrade`); copy the blobs into the
# store, each checked against its address (`trading blobs import`); check that every blob the database
# references is there (`trading blobs check`). It stops at the first failure. Then start the service, and
# tell the public the log's size it was restored to: a verifier that saw more reports a rollback.
#
# Environment: PG_URL, as for deploy/backup.sh. pg_restore, psql and `trading` must be on PATH.
set -euo pipefail
umask 077

if [[ $# -ne 2 ]]; then
    echo "usage: deploy/restore.sh ENV_FILE BACKUP_DIR" >&2
    exit 2
fi
env_file=$1 backup=$2
if [[ ! -r "$env_file" ]]; then
    echo "restore.sh: cannot read $env_file" >&2
    exit 1
fi
if [[ ! -r "$backup/trading.dump" || ! -d "$backup/blobs" ]]; then
    echo "restore.sh: $backup holds no trading.dump and blobs/ (made by deploy/backup.sh)" >&2
    exit 1
fi
set -a
# shellcheck source=/dev/null
. "$env_file"
set +a
pg_url=${PG_URL:-${TRADING_DATABASE_URL/+asyncpg/}}

# Only into an empty database: restored over a live one, two histories would mix.
tables=$(psql -X -q -t -A -d "$pg_url" -c "select count(*) from pg_catalog.pg_tables where schemaname = 'public'")
if [[ "$tables" != 0 ]]; then
    echo "restore.sh: the database of $env_file is not empty ($tables tables); restore into a fresh one (createdb)" >&2
    exit 1
fi

pg_restore --no-owner --exit-on-error --single-transaction --dbname="$pg_url" "$backup/trading.dump"
echo "database restored 数据库已恢复"
trading db upgrade
trading blobs import "$backup/blobs"
trading blobs check

size=$(psql -X -q -t -A -d "$pg_url" -c "select coalesce(max(size), 0) from log_checkpoints")
echo "restored 恢复完成: the transparency log's latest signed checkpoint has $size entries 透明日志最新检查点 $size 条。"
echo "Entries after it were lost with the backup; a verifier that saw them will report a rollback. 请向公众说明。"
