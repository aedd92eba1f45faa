#!/usr/bin/env bash
# Back up the trading platform: the database first, then the blob store (deploy/README.md §7).
#
#   deploy/backup.sh ENV_FILE BACKUP_DIR
#
# Writes BACKUP_DIR/trading.dump (pg_dump's custom format: one consistent snapshot of the database) and then
# copies every blob of the store into BACKUP_DIR/blobs/ (`trading blobs export`: laid out as the local store
# lays out its files, each checked against its SHA-256 address; blobs the folder holds already are left as
# they are, so reusing a folder copies only what is new). The signing key is not copied: it is backed up
# offline, once (README §3).
#
# The order matters. A blob is stored before the row that references it commits, so every blob the dump
# references is in the store when the dump is taken; copied after it, the blobs hold all of them. (Copied
# before it, a bid receipted in between would be in the dump without its ciphertext.)
#
# Environment: PG_URL, a libpq URL for pg_dump, when TRADING_DATABASE_URL with "+asyncpg" taken out is not
# one (e.g. it carries asyncpg-only query parameters). pg_dump and the `trading` command must be on PATH.
set -euo pipefail
umask 077

if [[ $# -ne 2 ]]; then
    echo "usage: deploy/backup.sh ENV_FILE BACKUP_DIR" >&2
    exit 2
fi
env_file=$1 backup=$2
if [[ ! -r "$env_file" ]]; then
    echo "backup.sh: cannot read $env_file" >&2
    exit 1
fi
set -a
# shellcheck source=/dev/null
. "$env_file"
set +a
pg_url=${PG_URL:-${TRADING_DATABASE_URL/+asyncpg/}}
if [[ "$pg_url" != postgresql://* && "$pg_url" != postgres://* ]]; then
    echo "backup.sh: TRADING_DATABASE_URL is not PostgreSQL (set PG_URL); an SQLite file is backed up by copying it while the service is stopped" >&2
    exit 1
fi
mkdir -p "$backup"

# 1. The database: pg_dump reads it in one transaction, so the dump is one moment of it, taken while the
#    service runs.
pg_dump --format=custom --no-owner --file="$backup/trading.dump.part" "$pg_url"
mv "$backup/trading.dump.part" "$backup/trading.dump"
echo "database dumped 数据库已导出: $backup/trading.dump"

# 2. Then the blobs (never before the dump: see above).
trading blobs export "$backup/blobs"
echo "backup complete 备份完成: $backup"
