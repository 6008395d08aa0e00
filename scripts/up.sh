#!/usr/bin/env bash
# The repo's main command: starts the local deployment and keeps it running
# until Ctrl-C. Installs what it needs (MariaDB, Redis) first.
#
#   scripts/up.sh                  # 4 shards, global keyspace on port 3400
#   scripts/up.sh --shards 8       # extra arguments go to `cangqiong up`
#
# State (data, the shard map) is kept in .local/up across runs; delete that
# directory to start from scratch.
set -euo pipefail

say() { echo "up.sh: $*"; }
die() { echo "up.sh: error: $*" >&2; exit 1; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=lib/deps.sh
source scripts/lib/deps.sh
ensure_servers
ensure_go

say "building bin/cangqiong"
go build -o bin/cangqiong ./cmd/cangqiong
exec bin/cangqiong up "$@"
