#!/usr/bin/env bash
# The edge's cache hit against nginx proxy_cache HIT, on one pinned core
# each, same 1 KB JSON body, same wrk settings, in one run.
#
#   bench/edge-vs-nginx.sh [ROUNDS] [SECONDS]    # default 3 rounds of 10 s
#
# Both proxies run on CPU 0 (nginx: one worker; the edge: GOMAXPROCS=1),
# the origin (nginx) and wrk on CPU 1. Rounds alternate nginx and the edge
# so machine noise hits both; the script prints each run and the medians:
# requests/s, p50 and p99 latency, and edge/nginx. The issue's target: the
# edge serves at least 1.5x nginx's requests/s with p99 no worse.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "edge-vs-nginx: $*"; }
die() { echo "edge-vs-nginx: error: $*" >&2; exit 1; }

rounds=${1:-3}
secs=${2:-10}
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
origin_port=$(free_port); nginx_port=$(free_port); edge_port=$(free_port); admin_port=$(free_port)

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

say "building bin/cangqiong"
go build -o "$work/cangqiong" ./cmd/cangqiong
taskset -c 1 "$NGINX" -p "$work" -c "$work/origin.conf" & pids+=($!)
taskset -c 0 "$NGINX" -p "$work" -c "$work/nginx.conf" & pids+=($!)
GOMAXPROCS=1 taskset -c 0 "$work/cangqiong" edge --config "$work/edge.json" >"$work/edge.log" 2>&1 & pids+=($!)

wait_up() { for _ in $(seq 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; die "$1 did not answer"; }
url_nginx="http://127.0.0.1:$nginx_port/api/v1/menu.json"
url_edge="http://127.0.0.1:$edge_port/api/v1/menu.json"
wait_up "$url_nginx"; wait_up "$url_edge"
for u in "$url_nginx" "$url_edge"; do curl -s -o /dev/null "$u"; curl -s -D - -o /dev/null "$u" | grep -i '^x-cache' | sed "s|^|edge-vs-nginx: warm $u: |"; done

# us converts a wrk latency ("812.00us", "1.21ms", "2.00s") to microseconds.
us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /ms$/) n *= 1000; else if (v ~ /[0-9]s$/ && v !~ /us$/) n *= 1000000; printf "%.0f", n }'; }
run() { # name url
	local out
	out=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency "$2")
	local rps p50 p99
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p50=$(us "$(awk '$1 == "50%" {print $2}' <<<"$out")")
	p99=$(us "$(awk '$1 == "99%" {print $2}' <<<"$out")")
	grep -q "Non-2xx\|Socket errors" <<<"$out" && say "$1: $(grep 'Non-2xx\|Socket errors' <<<"$out")"
	echo "$1 $rps $p50 $p99" | tee -a "$work/runs.txt" | awk '{printf "edge-vs-nginx: %-5s %10.0f req/s  p50 %6d us  p99 %6d us\n", $1, $2, $3, $4}'
}
for _ in $(seq "$rounds"); do
	run nginx "$url_nginx"
	run edge "$url_edge"
done
median() { awk -v who="$1" -v col="$2" '$1 == who {print $col}' "$work/runs.txt" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for who in nginx edge; do
	say "median $who: $(median $who 2) req/s, p50 $(median $who 3) us, p99 $(median $who 4) us"
done
awk -v e="$(median edge 2)" -v n="$(median nginx 2)" -v ep="$(median edge 4)" -v np="$(median nginx 4)" \
	'BEGIN { printf "edge-vs-nginx: edge/nginx requests/s = %.2f (target >= 1.5); p99 edge %d us vs nginx %d us (%s)\n", e/n, ep, np, (ep <= np ? "no worse" : "WORSE") }'
