#!/usr/bin/env bash
# Load harness: one run measures, on this machine,
#   1. reference      GET /healthz of the same binary (the stack's practical ceiling);
#   2. session hot    GET /login with a valid session cookie → delivery page, fresh JWT;
#      (1 and 2 alternate for ROUNDS rounds; the table shows the median round)
#   3. hot path at half load: the same request at 50 % of the hot path's measured maximum;
#   4. full sign-in   POST /login (CSRF + credentials) → fake iMIS + fake Zendesk, at 0 and 20 ms;
#   5. peers          the hot path in Node/express and Python/Flask as Zendesk's samples do it;
# with requests/s, p50/p99/p99.9, the server's CPU time per request, its peak RSS during each
# scenario, the upstream requests one sign-in costs, start-up time and binary size, and appends
# a section to loadtest/results/<date>.md. The server runs on core 0, wrk and the fakes on core 1.
#   loadtest/run.sh                   # 10 s per scenario, 3 rounds of reference/hot path
#   DURATION=30 ROUNDS=5 loadtest/run.sh
#   PEERS=0 loadtest/run.sh           # without the Node/Python peers
#   REDIS=1 loadtest/run.sh           # with shared state in a local redis-server (REDIS_URL)
#   CONNECTIONS=512 SIGN_IN_MAX_IN_FLIGHT=64 loadtest/run.sh   # peak RSS under a flood, capped
#   BRIDGE_BIN=/tmp/old/zendesk-sso-bridge FAKES_BIN=… loadtest/run.sh   # another build (A/B)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10}
connections=${CONNECTIONS:-64}
rounds=${ROUNDS:-3}
peers=${PEERS:-1}
redis=${REDIS:-0}
port=19480; fake=19490; node_port=19300; py_port=19310; redis_port=19470
results="loadtest/results/$(date -u +%Y-%m-%d).md"
command_line="DURATION=$duration ROUNDS=$rounds PEERS=$peers REDIS=$redis loadtest/run.sh"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
fakes_bin=${FAKES_BIN:-target/release/examples/fake-upstreams}
if [ -z "${BRIDGE_BIN:-}" ] || [ -z "${FAKES_BIN:-}" ]; then
  cargo build --release --locked --bin zendesk-sso-bridge --example fake-upstreams
fi
bin=${BRIDGE_BIN:-target/release/zendesk-sso-bridge}

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
client_core() { taskset -c 1 "$@"; }

lua=$(mktemp -d)
cat >"$lua/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("RESULT %.0f %.3f %.3f %.3f %d %d\n", summary.requests / s,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests))
end
LUA
# (Every request comes from 127.0.0.1: the in-flight caps per address are lifted above.)
# Each connection waits DELAY_MS after every answer: a steady load below the maximum.
cat >"$lua/paced.lua" <<'LUA'
local pause = tonumber(os.getenv("DELAY_MS"))
delay = function() return pause end
LUA
cat "$lua/report.lua" >>"$lua/paced.lua"
cat >"$lua/signin.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local body = "csrf_token=" .. os.getenv("CSRF") .. "&username=member" .. (tonumber(os.getenv("FIRST_MEMBER") or "1") + n % 5000) .. "&password=password"
  return wrk.format("POST", "/login", {["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = os.getenv("LOGIN_COOKIE"), ["Sec-Fetch-Site"] = "same-origin"}, body)
end
LUA
cat "$lua/report.lua" >>"$lua/signin.lua"

start_fakes() {
  taskset -c 1 "$fakes_bin" --listen "127.0.0.1:$fake" --latency-ms "$1" --workers 1 >/dev/null &
  fakes=$!; pids+=($fakes)
  for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$fake/stats" && break; sleep 0.05; done
}
upstream_counts() { curl -fs "http://127.0.0.1:$fake/stats"; }

redis_url=""
if [ "$redis" = 1 ]; then
  command -v redis-server >/dev/null || scripts/install-redis
  taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
  pids+=($!)
  until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.05; done
  redis_url="redis://127.0.0.1:$redis_port/0"
fi

start_bridge() {
  local t0; t0=$(date +%s%N)
  env -i PATH="$PATH" ${redis_url:+REDIS_URL="$redis_url"} LISTEN_ADDR="127.0.0.1:$port" PUBLIC_URL="http://127.0.0.1:$port" \
    SESSION_KEY="$(head -c 64 /dev/urandom | base64 -w0)" ZENDESK_SUBDOMAIN=bench \
    ZENDESK_URL="http://127.0.0.1:$fake" ZENDESK_JWT_SECRET=a-zendesk-shared-secret-of-realistic-length-48ch \
    ZENDESK_API_OAUTH_TOKEN=bench IMIS_BASE_URL="http://127.0.0.1:$fake/imis" \
    THROTTLE_IP_FAILURES=100000 UNLINKED_END_USERS=link LOG_FORMAT=json RUST_LOG=info \
    SIGN_IN_MAX_IN_FLIGHT="${SIGN_IN_MAX_IN_FLIGHT:-10000}" SIGN_IN_MAX_IN_FLIGHT_PER_ADDRESS=10000 \
    taskset -c 0 "$bin" serve >/dev/null 2>&1 &
  bridge=$!; pids+=($bridge)
  until curl -fs -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.002; done
  startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}

rss_mb() { awk '/'"$2"'/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_s=$(getconf CLK_TCK)

# measure NAME PID URL [wrk args...]: one wrk run against the server PID; the row holds
# requests/s, p50, p99, p99.9, errors, CPU µs per request and the peak RSS during the run.
declare -A row
measure() {
  local name=$1 pid=$2 url=$3; shift 3
  echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true # peak RSS from here on
  local c0 out; c0=$(cpu_ticks "$pid")
  out=$(client_core wrk -t1 -c"${WRK_CONNECTIONS:-$connections}" -d"${duration}s" --timeout 5s "$@" "$url" | grep '^RESULT')
  local cpu_us; cpu_us=$(awk -v c="$(( $(cpu_ticks "$pid") - c0 ))" -v n="$(awk '{print $7}' <<<"$out")" -v t="$ticks_per_s" \
    'BEGIN { if (n > 0) printf "%.1f", c * 1e6 / t / n; else print "-" }')
  row[$name]="$out $cpu_us $(rss_mb "$pid" VmHWM)"
  echo "$name: ${row[$name]}"
  sleep 1 # let requests still in flight finish before the next step
}
field() { awk -v i="$2" '{print $(i+1)}' <<<"${row[$1]:-RESULT - - - - - - - -}"; }
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

start_fakes 0
start_bridge
idle_rss=$(rss_mb "$bridge" VmRSS)

# A session cookie and a sign-in form (login cookie + CSRF token) to replay.
jar=$(mktemp)
form() {
  page=$(curl -s -c "$jar" "http://127.0.0.1:$port/login")
  CSRF=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' <<<"$page")
  LOGIN_COOKIE="zsb_login=$(awk '$6=="zsb_login" {print $7}' "$jar")"
}
sign_in() { form; curl -s -b "$jar" -c "$jar" -o /dev/null -w '%{http_code}' -d "csrf_token=$CSRF&username=$1&password=password" "http://127.0.0.1:$port/login"; }

# Upstream requests per sign-in, counted by the fakes: 20 members signing in for the first
# time (Zendesk look-ups not cached yet), the same 20 again, and 20 session re-uses.
count_since() { # before-counts → "imis zendesk" per sign-in
  local now; now=$(upstream_counts)
  awk -v a="$1" -v b="$now" -v n="$2" 'BEGIN { split(a, x, /[= ]/); split(b, y, /[= ]/);
    printf "%.1f %.1f", (y[2] - x[2]) / n, (y[4] - x[4]) / n }'
}
before=$(upstream_counts); for i in $(seq 9001 9020); do sign_in "member$i" >/dev/null; done
first_signin=$(count_since "$before" 20)
before=$(upstream_counts); for i in $(seq 9001 9020); do sign_in "member$i" >/dev/null; done
again_signin=$(count_since "$before" 20)
session="zsb_session=$(awk '$6=="zsb_session" {print $7}' "$jar")"
hot_url="http://127.0.0.1:$port/login?return_to=%2Fhc%2Fen-us%2Frequests"
before=$(upstream_counts); for _ in $(seq 20); do curl -s -o /dev/null -H "Cookie: $session" "$hot_url"; done
reuse=$(count_since "$before" 20)

ratios=()
for r in $(seq "$rounds"); do
  measure "reference_$r" "$bridge" "http://127.0.0.1:$port/healthz" -s "$lua/report.lua"
  measure "hot_path_$r" "$bridge" "$hot_url" -s "$lua/report.lua" -H "Cookie: $session"
  ratios+=("$(awk -v a="$(field "hot_path_$r" 1)" -v b="$(field "reference_$r" 1)" 'BEGIN {printf "%.3f", a / b}')")
done
median_ratio=$(printf '%s\n' "${ratios[@]}" | median)
for r in $(seq "$rounds"); do [ "${ratios[$((r - 1))]}" = "$median_ratio" ] && median_round=$r; done
row[reference]=${row[reference_$median_round]}
row[hot_path]=${row[hot_path_$median_round]}

# Half load: each connection pauses 4 ms after every answer; wrk's timers make one round about
# 5.5 ms here, so connections = half the maximum × 5.5 ms. The achieved share is reported.
half=$(awk -v m="$(field hot_path 1)" 'BEGIN {printf "%d", m / 2}')
half_connections=$(awk -v h="$half" 'BEGIN {c = int(h * 0.0055 + 0.5); if (c < 1) c = 1; print c}')
DELAY_MS=4 WRK_CONNECTIONS=$half_connections measure hot_path_half "$bridge" "$hot_url" -s "$lua/paced.lua" -H "Cookie: $session"

form; export CSRF LOGIN_COOKIE
measure signin_0ms "$bridge" "http://127.0.0.1:$port/login" -s "$lua/signin.lua"
kill "$fakes"; wait "$fakes" 2>/dev/null || true; start_fakes 20
# Members never seen before (their Zendesk look-ups are not cached): a first sign-in each, as
# long as the run signs in fewer than 5000 of them (about 700/s for DURATION=5 here).
FIRST_MEMBER=100001 measure signin_20ms "$bridge" "http://127.0.0.1:$port/login" -s "$lua/signin.lua"

if [ "$peers" = 1 ]; then
  if command -v node >/dev/null; then
    (cd loadtest/peers/node && { [ -d node_modules ] || npm install --silent --no-audit --no-fund; })
    NODE_ENV=production PORT=$node_port taskset -c 0 node loadtest/peers/node/server.js & node_pid=$!; pids+=($node_pid)
    until curl -fs -o /dev/null "http://127.0.0.1:$node_port/healthz"; do sleep 0.05; done
    measure peer_node "$node_pid" "http://127.0.0.1:$node_port/login?return_to=%2Fhc%2Fen-us%2Frequests" -s "$lua/report.lua"
  fi
  venv=loadtest/peers/python/.venv
  [ -x "$venv/bin/gunicorn" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q -r loadtest/peers/python/requirements.txt; }
  (cd loadtest/peers/python && exec taskset -c 0 .venv/bin/gunicorn -w 1 -b "127.0.0.1:$py_port" app:app >/dev/null 2>&1) & pids+=($!)
  until curl -fs -o /dev/null "http://127.0.0.1:$py_port/healthz"; do sleep 0.05; done
  worker=$(pgrep -P "${pids[-1]}" | head -1)
  measure peer_python "$worker" "http://127.0.0.1:$py_port/login?return_to=%2Fhc%2Fen-us%2Frequests" -s "$lua/report.lua"
fi

ratio() { awk -v a="$(field "$1" 1)" -v b="$(field "$2" 1)" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
size_mb=$(awk -v s="$(stat -c %s "$bin")" 'BEGIN {printf "%.1f", s/1048576}')
revision="$(git rev-parse --short HEAD)$(git diff --quiet || echo ' (uncommitted changes)')"
[ -n "${BRIDGE_BIN:-}" ] && revision="$revision, bridge binary $BRIDGE_BIN (${BRIDGE_REVISION:-its own revision})"
[ -f "$results" ] || printf '# Load results %s\n' "$(date -u +%Y-%m-%d)" >"$results"
{
  echo
  echo "## Run $(date -u +%Y-%m-%dT%H:%MZ) at $revision"
  echo
  [ "$redis" = 1 ] && echo "Shared state in a local redis-server (REDIS_URL), on core 1 with wrk and the fakes."
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); server pinned to core 0, wrk and fakes to core 1;"
  echo "\`wrk -t1 -c$connections -d${duration}s\`; command: \`$command_line\`."
  echo
  echo "| scenario | requests/s | p50 ms | p99 ms | p99.9 ms | errors | server CPU µs/request | peak RSS MB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for name in reference hot_path hot_path_half signin_0ms signin_20ms peer_node peer_python; do
    [ -n "${row[$name]:-}" ] || continue
    echo "| $name | $(field $name 1) | $(field $name 2) | $(field $name 3) | $(field $name 4) | $(field $name 5) | $(field $name 7) | $(field $name 8) |"
  done
  echo
  echo "- session hot path / reference: **$median_ratio** (median of $rounds rounds: ${ratios[*]}; the table shows round $median_round)"
  echo "- the same from server CPU per request (reference µs / hot path µs; steadier on a shared VM): **$(awk -v a="$(field reference 7)" -v b="$(field hot_path 7)" 'BEGIN {printf "%.2f", a / b}')**"
  echo "- hot path at half load: $(field hot_path_half 1) requests/s, $(ratio hot_path_half hot_path) of the maximum ($half_connections connections pausing 4 ms): p99 **$(field hot_path_half 3) ms**"
  [ -n "${row[peer_node]:-}" ] && echo "- session hot path / Node-express peer: **$(ratio hot_path peer_node)**"
  [ -n "${row[peer_python]:-}" ] && echo "- session hot path / Python-Flask peer: **$(ratio hot_path peer_python)**"
  echo "- upstream requests per sign-in (iMIS, Zendesk): first sign-in $first_signin; same member again $again_signin; session re-use $reuse"
  echo "- RSS idle after start: $idle_rss MB; start-up to ready: ${startup_ms} ms; release binary: $size_mb MB"
} | tee -a "$results"
echo "appended to $results"
