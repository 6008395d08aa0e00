#!/usr/bin/env bash
# Routed vs direct point SELECT against one private MariaDB server.
#
#   bench/point-select.sh [ROUNDS]     # default 10 rounds of 2 s each
#
# Each round runs BenchmarkPointSelectRouted then BenchmarkPointSelectDirect
# (sharding/exec) back to back, so machine noise hits both alike; the
# script prints the median ns/op of each and routed/direct. The issue's
# target: routed adds at most 10% (ratio <= 1.10).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rounds=${1:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "point-select: building the sharding/exec test binary"
go test -c -o "$work/exec.test" ./sharding/exec
for i in $(seq "$rounds"); do
	for which in Routed Direct; do
		"$work/exec.test" -test.run XXX -test.bench "^BenchmarkPointSelect${which}\$" \
			-test.benchtime 2s -test.benchmem 2>/dev/null | grep '^Benchmark' | tee -a "$work/out.txt"
	done
done

median() { grep "PointSelect$1" "$work/out.txt" | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
routed=$(median Routed)
direct=$(median Direct)
echo "point-select: median over $rounds rounds: routed ${routed} ns/op, direct ${direct} ns/op"
awk -v r="$routed" -v d="$direct" 'BEGIN {printf "point-select: routed/direct = %.3f (target <= 1.10)\n", r/d}'
