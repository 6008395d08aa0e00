#!/usr/bin/env bash
# Order creation through a core node vs the same statements straight on the
# shard, on private MariaDB servers.
#
#   bench/create-order.sh [ROUNDS]     # default 5 rounds of 3 s each
#
# Each round runs BenchmarkCreateOrderViaCore (core: HTTP/2 mTLS client →
# tunnel → app → router/executor → MariaDB) and BenchmarkCreateOrderDirectSQL
# (core/app: one transaction on *sql.DB) back to back, then prints the
# medians, their ratio and the core's share of the total,
# (via - direct) / via. The issue's target: the share stays under 30%.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rounds=${1:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "create-order: building the test binaries"
go test -c -o "$work/core.test" ./core
go test -c -o "$work/app.test" ./core/app
for i in $(seq "$rounds"); do
	"$work/core.test" -test.run XXX -test.bench '^BenchmarkCreateOrderViaCore$' -test.benchtime 3s -test.benchmem 2>/dev/null | grep '^Benchmark' | tee -a "$work/out.txt"
	"$work/app.test" -test.run XXX -test.bench '^BenchmarkCreateOrderDirectSQL$' -test.benchtime 3s -test.benchmem 2>/dev/null | grep '^Benchmark' | tee -a "$work/out.txt"
done

median() { grep "CreateOrder$1" "$work/out.txt" | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
via=$(median ViaCore)
direct=$(median DirectSQL)
echo "create-order: median over $rounds rounds: via core ${via} ns/op, direct SQL ${direct} ns/op"
awk -v v="$via" -v d="$direct" 'BEGIN {printf "create-order: via/direct = %.3f; the core'"'"'s share of the total = %.1f%% (target < 30%%)\n", v/d, 100*(v-d)/v}'
