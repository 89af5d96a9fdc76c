#!/usr/bin/env bash
# Load harness: one run measures, on this machine,
#   1. reference      GET /healthz of the same binary (the stack's practical ceiling);
#   2. session hot    GET /login with a valid session cookie → delivery page, fresh JWT;
#   3. full sign-in   POST /login (CSRF + credentials) → fake iMIS + fake Zendesk, at 0 and 20 ms;
#   4. peers          the hot path in Node/express and Python/Flask as Zendesk's samples do it;
# with requests/s, p50/p99/p99.9, peak RSS, start-up time and binary size, and writes
# bench/results/<date>.md. The server runs on core 0, wrk (and the fakes) on core 1.
#   bench/run.sh                   # 10 s per scenario
#   DURATION=30 bench/run.sh       # longer
#   PEERS=0 bench/run.sh           # without the Node/Python peers
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10}
connections=${CONNECTIONS:-64}
peers=${PEERS:-1}
port=19480; fake=19490; node_port=19300; py_port=19310
results="bench/results/$(date -u +%Y-%m-%d).md"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release --locked --bin zendesk-sso-bridge --example fake-upstreams
bin=target/release/zendesk-sso-bridge

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
# Run pinned; `exec` so that $! is the program itself and cleanup reaches it.
client_core() { taskset -c 1 "$@"; }

lua=$(mktemp -d)
cat >"$lua/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("RESULT %.0f %.3f %.3f %.3f %d\n", summary.requests / s,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
cat >"$lua/signin.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local body = "csrf_token=" .. os.getenv("CSRF") .. "&username=member" .. (n % 5000 + 1) .. "&password=password"
  return wrk.format("POST", "/login", {["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = os.getenv("LOGIN_COOKIE"), ["Sec-Fetch-Site"] = "same-origin"}, body)
end
LUA
cat "$lua/report.lua" >>"$lua/signin.lua"

start_fakes() {
  taskset -c 1 target/release/examples/fake-upstreams --listen "127.0.0.1:$fake" --latency-ms "$1" --workers 1 >/dev/null &
  fakes=$!; pids+=($fakes)
  for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$fake/api/v2/remote_authentications" && break; sleep 0.05; done
}

start_bridge() {
  local t0; t0=$(date +%s%N)
  env -i PATH="$PATH" LISTEN_ADDR="127.0.0.1:$port" PUBLIC_URL="http://127.0.0.1:$port" \
    SESSION_KEY="$(head -c 64 /dev/urandom | base64 -w0)" ZENDESK_SUBDOMAIN=bench \
    ZENDESK_URL="http://127.0.0.1:$fake" ZENDESK_JWT_SECRET=a-zendesk-shared-secret-of-realistic-length-48ch \
    ZENDESK_API_OAUTH_TOKEN=bench IMIS_BASE_URL="http://127.0.0.1:$fake/imis" \
    THROTTLE_IP_FAILURES=100000 LOG_FORMAT=json RUST_LOG=info \
    taskset -c 0 "$bin" serve >/dev/null 2>&1 &
  bridge=$!; pids+=($bridge)
  until curl -fs -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.002; done
  startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}

rss_mb() { awk '/'"$2"'/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

declare -A row
measure() { # name url [wrk args...]
  local name=$1 url=$2; shift 2
  local out; out=$(client_core wrk -t1 -c"$connections" -d"${duration}s" --timeout 5s "$@" "$url" | grep '^RESULT')
  row[$name]="$out"
  echo "$name: $out"
}

start_fakes 0
start_bridge
idle_rss=$(rss_mb "$bridge" VmRSS)

# A session cookie and a sign-in form (login cookie + CSRF token) to replay.
jar=$(mktemp)
page=$(curl -s -c "$jar" "http://127.0.0.1:$port/login")
export CSRF; CSRF=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' <<<"$page")
export LOGIN_COOKIE; LOGIN_COOKIE="zsb_login=$(awk '$6=="zsb_login" {print $7}' "$jar")"
curl -s -b "$jar" -c "$jar" -o /dev/null -d "csrf_token=$CSRF&username=member1&password=password" "http://127.0.0.1:$port/login"
session="zsb_session=$(awk '$6=="zsb_session" {print $7}' "$jar")"

measure reference "http://127.0.0.1:$port/healthz" -s "$lua/report.lua"
measure hot_path "http://127.0.0.1:$port/login?return_to=%2Fhc%2Fen-us%2Frequests" -s "$lua/report.lua" -H "Cookie: $session"
measure signin_0ms "http://127.0.0.1:$port/login" -s "$lua/signin.lua"
peak_rss=$(rss_mb "$bridge" VmHWM)
kill "$fakes"; wait "$fakes" 2>/dev/null || true; start_fakes 20
measure signin_20ms "http://127.0.0.1:$port/login" -s "$lua/signin.lua"
peak_rss=$(rss_mb "$bridge" VmHWM)

if [ "$peers" = 1 ]; then
  if command -v node >/dev/null; then
    (cd bench/peers/node && { [ -d node_modules ] || npm install --silent --no-audit --no-fund; })
    NODE_ENV=production PORT=$node_port taskset -c 0 node bench/peers/node/server.js & pids+=($!)
    until curl -fs -o /dev/null "http://127.0.0.1:$node_port/healthz"; do sleep 0.05; done
    measure peer_node "http://127.0.0.1:$node_port/login?return_to=%2Fhc%2Fen-us%2Frequests" -s "$lua/report.lua"
  fi
  venv=bench/peers/python/.venv
  [ -x "$venv/bin/gunicorn" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q -r bench/peers/python/requirements.txt; }
  (cd bench/peers/python && exec taskset -c 0 .venv/bin/gunicorn -w 1 -b "127.0.0.1:$py_port" app:app >/dev/null 2>&1) & pids+=($!)
  until curl -fs -o /dev/null "http://127.0.0.1:$py_port/healthz"; do sleep 0.05; done
  measure peer_python "http://127.0.0.1:$py_port/login?return_to=%2Fhc%2Fen-us%2Frequests" -s "$lua/report.lua"
fi

field() { awk -v i="$2" '{print $(i+1)}' <<<"${row[$1]:-RESULT - - - - -}"; }
ratio() { awk -v a="$(field "$1" 1)" -v b="$(field "$2" 1)" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
size_mb=$(awk -v s="$(stat -c %s "$bin")" 'BEGIN {printf "%.1f", s/1048576}')
{
  echo "# Load results $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); server pinned to core 0, wrk and fakes to core 1;"
  echo "\`wrk -t1 -c$connections -d${duration}s\`; command: \`DURATION=$duration bench/run.sh\`."
  echo
  echo "| scenario | requests/s | p50 ms | p99 ms | p99.9 ms | errors |"
  echo "|---|---:|---:|---:|---:|---:|"
  for name in reference hot_path signin_0ms signin_20ms peer_node peer_python; do
    [ -n "${row[$name]:-}" ] || continue
    echo "| $name | $(field $name 1) | $(field $name 2) | $(field $name 3) | $(field $name 4) | $(field $name 5) |"
  done
  echo
  echo "- session hot path / reference: **$(ratio hot_path reference)**"
  [ -n "${row[peer_node]:-}" ] && echo "- session hot path / Node-express peer: **$(ratio hot_path peer_node)**"
  [ -n "${row[peer_python]:-}" ] && echo "- session hot path / Python-Flask peer: **$(ratio hot_path peer_python)**"
  echo "- RSS idle after start: $idle_rss MB; peak under load: $peak_rss MB"
  echo "- start-up to ready: ${startup_ms} ms; release binary: $size_mb MB"
} | tee "$results"
echo "written to $results"
