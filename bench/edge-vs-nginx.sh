#!/usr/bin/env bash
# The edge's cache hit against nginx proxy_cache HIT, on one pinned core
# each, same 1 KB JSON body, same wrk settings, in one run.
#
#   bench/edge-vs-nginx.sh [ROUNDS] [SECONDS]    # default 5 rounds of 5 s
#
# Both proxies run on CPU 0 (nginx: one worker; the edge: GOMAXPROCS=1),
# the origin (nginx) and wrk on CPU 1. A third server on CPU 0, "ref"
# (bench/fasthttpref), is the floor: bare fasthttp sending the very header
# fields and body the edge sends for a hit, and doing nothing else. Each
# round runs all three back to back (the order turns each round), so
# machine noise hits them alike; ratios are medians of the per-round
# ratios. Every run also reports how busy each CPU was: when wrk's CPU is
# saturated and the proxy's is not, the run measured wrk ("client-bound"),
# and requests/s per busy second of CPU 0 ("per core") is the proxy's
# capacity. The issue's target: the edge serves at least 1.5x nginx's
# requests/s with p99 no worse.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "edge-vs-nginx: $*"; }
die() { echo "edge-vs-nginx: error: $*" >&2; exit 1; }

rounds=${1:-5}
secs=${2:-5}
missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if ((${#missing[@]})); then
	say "missing: ${missing[*]}; installing with apt-get"
	sudo=(); ((EUID == 0)) || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v taskset >/dev/null 2>&1 || die "taskset (util-linux) is required to pin the processes"
(($(nproc) >= 2)) || die "needs 2 CPUs: one for the proxy, one for wrk and the origin"

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
origin_port=$(free_port); nginx_port=$(free_port); edge_port=$(free_port); admin_port=$(free_port); ref_port=$(free_port)

# A 1 KB JSON body.
mkdir -p "$work/www/api/v1"
python3 - "$work/www/api/v1/menu.json" <<'PY'
import json, sys
dishes = [{"id": i, "name": f"dish {i}", "price_cents": 1000 + i, "on_sale": True} for i in range(14)]
body = json.dumps({"shop": 12, "dishes": dishes})[:1024]
body = body[: body.rfind("},") + 1] + "]}"
body += " " * (1024 - len(body))
open(sys.argv[1], "w").write(body)
PY

cat > "$work/origin.conf" <<CONF
user root; worker_processes 1; daemon off; pid $work/origin.pid; error_log $work/origin.err warn;
events { worker_connections 1024; }
http { access_log off; default_type application/json;
  server { listen 127.0.0.1:$origin_port; root $work/www;
    location / { add_header Cache-Control "public, max-age=3600"; } } }
CONF
cat > "$work/nginx.conf" <<CONF
user root; worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/nginx.err warn;
events { worker_connections 4096; }
http { access_log off;
  proxy_cache_path $work/cache levels=1:2 keys_zone=c:10m max_size=100m inactive=60m use_temp_path=off;
  upstream origin { server 127.0.0.1:$origin_port; keepalive 16; }
  server { listen 127.0.0.1:$nginx_port;
    location / { proxy_pass http://origin; proxy_cache c; proxy_cache_valid 200 1h;
      proxy_http_version 1.1; proxy_set_header Connection ""; add_header X-Cache \$upstream_cache_status; } } }
CONF
cat > "$work/edge.json" <<CONF
{"region": "bench", "id": "edge-1", "listen": "127.0.0.1:$edge_port", "admin_listen": "127.0.0.1:$admin_port",
 "origin": {"http": "http://127.0.0.1:$origin_port"}}
CONF

say "building cangqiong and bench/fasthttpref"
go build -o "$work/cangqiong" ./cmd/cangqiong
go build -o "$work/fasthttpref" ./bench/fasthttpref
taskset -c 1 "$NGINX" -p "$work" -c "$work/origin.conf" & pids+=($!)
taskset -c 0 "$NGINX" -p "$work" -c "$work/nginx.conf" & pids+=($!)
GOMAXPROCS=1 taskset -c 0 "$work/cangqiong" edge --config "$work/edge.json" >"$work/edge.log" 2>&1 & pids+=($!)

wait_up() { for _ in $(seq 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; die "$1 did not answer"; }
url_nginx="http://127.0.0.1:$nginx_port/api/v1/menu.json"
url_edge="http://127.0.0.1:$edge_port/api/v1/menu.json"
url_ref="http://127.0.0.1:$ref_port/api/v1/menu.json"
wait_up "$url_nginx"; wait_up "$url_edge"
for u in "$url_nginx" "$url_edge"; do curl -s -o /dev/null "$u"; curl -s -D - -o /dev/null "$u" | grep -i '^x-cache' | sed "s|^|edge-vs-nginx: warm $u: |"; done
# ref sends what the edge sent for that hit.
curl -s -D "$work/hit.txt" -o /dev/null "$url_edge"
grep -qi '^x-cache: HIT' "$work/hit.txt" || die "the edge did not answer from its cache: $(tr -d '\r' <"$work/hit.txt")"
GOMAXPROCS=1 taskset -c 0 "$work/fasthttpref" -listen "127.0.0.1:$ref_port" -header "$work/hit.txt" -body "$work/www/api/v1/menu.json" & pids+=($!)
wait_up "$url_ref"
[[ $(curl -s "$url_ref" | md5sum) == $(curl -s "$url_edge" | md5sum) ]] || die "ref and the edge send different bodies"

# us converts a wrk latency ("812.00us", "1.21ms", "2.00s") to microseconds.
us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /ms$/) n *= 1000; else if (v ~ /[0-9]s$/ && v !~ /us$/) n *= 1000000; printf "%.0f", n }'; }
# busy prints CPU 0's and CPU 1's busy percentages between two /proc/stat
# snapshots.
busy() { paste "$1" "$2" | awk '{n = NF / 2; t = 0; idle = 0; for (i = 2; i <= n && i <= 9; i++) { d = $(i + n) - $i; t += d; if (i == 5 || i == 6) idle += d }; printf "%.0f ", 100 * (t - idle) / t}'; }
run() { # name url
	local out rps p50 p99 cpu flag=""
	grep -E '^cpu[01] ' /proc/stat >"$work/stat0"
	out=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency "$2")
	grep -E '^cpu[01] ' /proc/stat >"$work/stat1"
	cpu=$(busy "$work/stat0" "$work/stat1")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p50=$(us "$(awk '$1 == "50%" {print $2}' <<<"$out")")
	p99=$(us "$(awk '$1 == "99%" {print $2}' <<<"$out")")
	grep -q "Non-2xx\|Socket errors" <<<"$out" && say "$1: $(grep 'Non-2xx\|Socket errors' <<<"$out")"
	set -- "$1" "$rps" "$p50" "$p99" $cpu
	(($6 >= 97 && $5 < 97)) && flag="client-bound"
	echo "$round $1 $2 $3 $4 $5 $6 $(awk -v r="$2" -v b="$5" 'BEGIN {printf "%.0f", r * 100 / (b > 0 ? b : 100)}') $flag" >>"$work/runs.txt"
	printf "edge-vs-nginx: %-5s %8.0f req/s  p50 %5d us  p99 %5d us  cpu0 %3d%%  cpu1 %3d%%  %s\n" "$1" "$2" "$3" "$4" "$5" "$6" "$flag"
}
order=(nginx edge ref)
for round in $(seq "$rounds"); do
	for name in "${order[@]}"; do
		case $name in nginx) run nginx "$url_nginx" ;; edge) run edge "$url_edge" ;; ref) run ref "$url_ref" ;; esac
	done
	order=("${order[@]:1}" "${order[0]}")
done

# runs.txt: round name rps p50 p99 cpu0 cpu1 per-core [client-bound]
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
col() { awk -v who="$1" -v c="$2" '$2 == who {print $c}' "$work/runs.txt" | median; }
ratio() { # a b column: median over rounds of a/b
	awk -v a="$1" -v b="$2" -v c="$3" '$2 == a {x[$1] = $c} $2 == b {y[$1] = $c} END {for (r in x) if (y[r] > 0) print x[r] / y[r]}' "$work/runs.txt" | median
}
for who in nginx edge ref; do
	printf "edge-vs-nginx: median %-5s %8.0f req/s  p50 %5.0f us  p99 %5.0f us  cpu0 %3.0f%%  cpu1 %3.0f%%  per core %8.0f req/s  (%d of %d runs client-bound)\n" \
		"$who" "$(col $who 3)" "$(col $who 4)" "$(col $who 5)" "$(col $who 6)" "$(col $who 7)" "$(col $who 8)" \
		"$(awk -v w=$who '$2 == w && $9 != "" {n++} END {print n + 0}' "$work/runs.txt")" "$rounds"
done
e_n=$(ratio edge nginx 3); e_n_core=$(ratio edge nginx 8); r_n=$(ratio ref nginx 3); r_n_core=$(ratio ref nginx 8); e_r_core=$(ratio edge ref 8)
ep=$(col edge 5); np=$(col nginx 5)
awk -v a="$e_n" -v b="$e_n_core" -v c="$r_n" -v d="$r_n_core" -v e="$e_r_core" -v ep="$ep" -v np="$np" 'BEGIN {
	printf "edge-vs-nginx: edge/nginx requests/s = %.2f, per core %.2f (target >= 1.5); p99 edge %.0f us vs nginx %.0f us (%s)\n", a, b, ep, np, (ep <= np ? "no worse" : "WORSE")
	printf "edge-vs-nginx: floor on this machine: ref/nginx requests/s = %.2f, per core %.2f; edge/ref per core = %.2f\n", c, d, e
}'
