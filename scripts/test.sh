#!/usr/bin/env bash
# The repo's test command: installs what the tests start (MariaDB, Redis),
# then runs go vet and the race-enabled test suite over every package.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -run Reshard -v # extra arguments are go test flags
#
# Tests start their own private mariadbd and redis-server instances on
# loopback; the system services need not (and should not need to) run.
# CI runs this through .ci/run with CI=true, where a missing dependency fails
# the tests instead of skipping them.
set -euo pipefail

say() { echo "test.sh: $*"; }
die() { echo "test.sh: error: $*" >&2; exit 1; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=lib/deps.sh
source scripts/lib/deps.sh
ensure_servers
ensure_go

say "go vet ./..."
go vet ./...

say "go test -race -timeout 20m $* ./..."
go test -race -timeout 20m "$@" ./...

# The race detector allocates on its own, so allocation pins are skipped
# under -race; run them once more in a normal build.
say "go test -run 'Alloc' ./... (allocation pins, without -race)"
go test -count=1 -run 'Alloc' "$@" ./...
say "ok"
