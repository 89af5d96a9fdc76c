#!/usr/bin/env bash
# Load harness. One command measures every performance target on this machine and appends one
# section per target to loadtest/results/<date>.md, headed by the revision, the machine and the
# command:
#   1. sign-in latency    first sign-ins, every upstream answering after 20 ms: the median against
#                         4 round trips + 5 ms (standard look-ups) and 3 + 5 ms (IQA profile query)
#   2. calls per sign-in  iMIS and Zendesk requests per first sign-in, first visit to Zendesk,
#                         returning sign-in and session re-use, as the fake upstreams count them
#   3. bounded memory     peak RSS under a sign-in flood with 64 and 512 connections, default caps
#   4. many cores         the hot path and /healthz for each server core count in CORES:
#                         requests/s and server CPU µs per request
#   5. hot-path cost      server CPU per hot-path request / per /healthz request, in one run
#   6. what holds         the Node and Python peers, idle RSS, binary size, start-up, errors
# The server runs on core 0 (on cores 0..N-1 in section 4); wrk and the fakes on the others.
#   loadtest/run.sh                     # 10 s per scenario, 3 rounds of reference/hot path
#   CORES="1 2 4 8" loadtest/run.sh     # section 4 for 1, 2, 4 and 8 server cores (needs 9+)
#   DURATION=30 ROUNDS=5 PEERS=0 REDIS=1 loadtest/run.sh
#   BRIDGE_BIN=/tmp/old/zendesk-sso-bridge FAKES_BIN=… loadtest/run.sh   # another build (A/B)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10}
connections=${CONNECTIONS:-64}
rounds=${ROUNDS:-3}
peers=${PEERS:-1}
redis=${REDIS:-0}
core_counts=${CORES:-1}
port=19480; query_port=19481; flood_port=19482; fake=19490; node_port=19300; py_port=19310
redis_port=19470
results="loadtest/results/$(date -u +%Y-%m-%d).md"
command_line="CORES=\"$core_counts\" DURATION=$duration ROUNDS=$rounds PEERS=$peers REDIS=$redis loadtest/run.sh"
cores=$(nproc)
[ "$cores" -ge 2 ] || { echo "the harness needs at least 2 cores (server and clients apart)" >&2; exit 1; }
clients="1-$((cores - 1))"
wrk_threads=$(( cores - 1 > 4 ? 4 : cores - 1 ))

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
fakes_bin=${FAKES_BIN:-target/release/examples/fake-upstreams}
if [ -z "${BRIDGE_BIN:-}" ] || [ -z "${FAKES_BIN:-}" ]; then
  cargo build --release --locked --bin zendesk-sso-bridge --example fake-upstreams
fi
bin=${BRIDGE_BIN:-target/release/zendesk-sso-bridge}

pids=()
scratch=$(mktemp -d) # wrk scripts and the cookie jar; removed on exit
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

lua=$scratch
cat >"$lua/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("RESULT %.0f %.3f %.3f %.3f %d %d %d\n", summary.requests / s,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests, summary.errors.status))
end
LUA
# Each connection waits DELAY_MS after every answer: a steady load below the maximum.
cat >"$lua/paced.lua" <<'LUA'
local pause = tonumber(os.getenv("DELAY_MS"))
delay = function() return pause end
LUA
cat "$lua/report.lua" >>"$lua/paced.lua"
# Sign-ins of member FIRST_MEMBER + (n mod 5000): members never signed in before, as long as a
# run signs in fewer than 5000 of them.
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
  taskset -c "$clients" "$fakes_bin" --listen "127.0.0.1:$fake" --latency-ms "$1" --workers 1 >/dev/null &
  fakes=$!; pids+=($fakes)
  for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$fake/stats" && break; sleep 0.05; done
}
upstream_counts() { curl -fs "http://127.0.0.1:$fake/stats"; }

redis_url=""
if [ "$redis" = 1 ]; then
  command -v redis-server >/dev/null || scripts/install-redis
  taskset -c "$clients" redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
  pids+=($!)
  until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.05; done
  redis_url="redis://127.0.0.1:$redis_port/0"
fi

# start_bridge PORT SERVER_CORES [VAR=value...]: the bridge against the fakes; sets $bridge and
# $startup_ms. Every request comes from 127.0.0.1, so the per-address cap is lifted; the
# throughput scenarios also lift the overall caps (the flood of section 3 keeps the defaults).
start_bridge() {
  local at=$1 server_cores=$2 t0; shift 2
  t0=$(date +%s%N)
  env -i PATH="$PATH" ${redis_url:+REDIS_URL="$redis_url"} LISTEN_ADDR="127.0.0.1:$at" PUBLIC_URL="http://127.0.0.1:$at" \
    SESSION_KEY="$(head -c 64 /dev/urandom | base64 -w0)" ZENDESK_SUBDOMAIN=bench \
    ZENDESK_URL="http://127.0.0.1:$fake" ZENDESK_JWT_SECRET=a-zendesk-shared-secret-of-realistic-length-48ch \
    ZENDESK_API_OAUTH_TOKEN=bench IMIS_BASE_URL="http://127.0.0.1:$fake/imis" \
    THROTTLE_IP_FAILURES=100000 UNLINKED_END_USERS=link LOG_FORMAT=json RUST_LOG=info \
    SIGN_IN_MAX_IN_FLIGHT_PER_ADDRESS=10000 "$@" \
    taskset -c "$server_cores" "$bin" serve >/dev/null 2>&1 &
  bridge=$!; pids+=($bridge)
  until curl -fs -o /dev/null "http://127.0.0.1:$at/readyz"; do sleep 0.002; done
  startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}
uncapped=(SIGN_IN_MAX_IN_FLIGHT=100000 IMIS_MAX_IN_FLIGHT=10000)

rss_mb() { awk '/'"$2"'/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_s=$(getconf CLK_TCK)

# measure NAME PID URL [wrk args...]: one wrk run against the server PID. The row holds
# requests/s, p50, p99, p99.9 (ms), errors, requests, non-2xx answers, server CPU µs per request
# and the peak RSS (MB) during the run.
declare -A row
measure() {
  local name=$1 pid=$2 url=$3; shift 3
  echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true # peak RSS from here on
  local c0 out; c0=$(cpu_ticks "$pid")
  out=$(taskset -c "${WRK_CORES:-$clients}" wrk -t"${WRK_THREADS:-$wrk_threads}" -c"${WRK_CONNECTIONS:-$connections}" \
    -d"${duration}s" --timeout 5s "$@" "$url" | grep '^RESULT')
  local cpu_us; cpu_us=$(awk -v c="$(( $(cpu_ticks "$pid") - c0 ))" -v n="$(awk '{print $7}' <<<"$out")" -v t="$ticks_per_s" \
    'BEGIN { if (n > 0) printf "%.1f", c * 1e6 / t / n; else print "-" }')
  row[$name]="$out $cpu_us $(rss_mb "$pid" VmHWM)"
  echo "$name: ${row[$name]}"
  sleep 1 # let requests still in flight finish before the next step
}
# field NAME I: 1 requests/s, 2 p50, 3 p99, 4 p99.9, 5 errors, 6 requests, 7 non-2xx, 8 CPU µs, 9 peak RSS
field() { awk -v i="$2" '{print $(i+1)}' <<<"${row[$1]:-RESULT - - - - - - - - -}"; }
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == "<=") ? v <= t : v >= t; print (v == "-" ? "not measured" : ok ? "**met**" : "**not met**") }'; }

# A sign-in form (login cookie + CSRF token) to replay, and single sign-ins with curl.
jar=$scratch/cookies
form() { # form PORT
  page=$(curl -s -c "$jar" "http://127.0.0.1:$1/login")
  CSRF=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' <<<"$page")
  LOGIN_COOKIE="zsb_login=$(awk '$6=="zsb_login" {print $7}' "$jar")"
}
sign_in() { # sign_in PORT USER
  form "$1"
  curl -s -b "$jar" -c "$jar" -o /dev/null -w '%{http_code}' -d "csrf_token=$CSRF&username=$2&password=password" "http://127.0.0.1:$1/login"
}
session_cookie() { echo "zsb_session=$(awk '$6=="zsb_session" {print $7}' "$jar")"; }
# calls_per_sign_in PORT FROM TO: "iMIS Zendesk" requests per sign-in of members FROM..TO
calls_per_sign_in() {
  local before now n=$(( $3 - $2 + 1 ))
  before=$(upstream_counts)
  for i in $(seq "$2" "$3"); do [ "$(sign_in "$1" "member$i")" = 200 ] || echo "sign-in of member$i refused" >&2; done
  now=$(upstream_counts)
  awk -v a="$before" -v b="$now" -v n="$n" 'BEGIN { split(a, x, /[= ]/); split(b, y, /[= ]/);
    printf "%.1f %.1f", (y[2] - x[2]) / n, (y[4] - x[4]) / n }'
}
hot_path="/login?return_to=%2Fhc%2Fen-us%2Frequests"
# upstream_totals PORT: "seconds calls" of every upstream request the bridge has timed so far
upstream_totals() {
  curl -fs "http://127.0.0.1:$1/metrics" | awk '/^zendesk_sso_bridge_upstream_request_duration_seconds_sum/ {s += $2}
    /^zendesk_sso_bridge_upstream_request_duration_seconds_count/ {n += $2} END {printf "%f %d", s, n}'
}
# round_trip_ms BEFORE AFTER: the mean upstream round trip between two upstream_totals
round_trip_ms() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
  n = y[2] - x[2]; if (n > 0) printf "%.1f", (y[1] - x[1]) * 1000 / n; else print "-" }'; }

# ---- 2. calls per sign-in (fakes answering at once) ------------------------------------------
start_fakes 0
start_bridge "$port" 0 "${uncapped[@]}"
main=$bridge; main_startup_ms=$startup_ms
idle_rss=$(rss_mb "$main" VmRSS)
start_bridge "$query_port" 0 "${uncapped[@]}" 'IMIS_PROFILE_QUERY=$/ZendeskSSO/Profile'
query=$bridge
first_linked=$(calls_per_sign_in "$port" 9001 9020)      # Zendesk already links them
returning=$(calls_per_sign_in "$port" 9001 9020)         # the same members again
first_visit=$(calls_per_sign_in "$port" 509001 509020)   # new to Zendesk
query_first=$(calls_per_sign_in "$query_port" 19001 19020)
query_visit=$(calls_per_sign_in "$query_port" 519001 519020)
sign_in "$port" member9999 >/dev/null; session=$(session_cookie)
before=$(upstream_counts)
for _ in $(seq 20); do curl -s -o /dev/null -H "Cookie: $session" "http://127.0.0.1:$port$hot_path"; done
reuse=$(awk -v a="$before" -v b="$(upstream_counts)" 'BEGIN { split(a, x, /[= ]/); split(b, y, /[= ]/);
  printf "%.1f %.1f", (y[2] - x[2]) / 20, (y[4] - x[4]) / 20 }')
imis_of() { awk '{print $1}' <<<"$1"; }
zendesk_of() { awk '{print $2}' <<<"$1"; }

# ---- 5. hot-path cost: /healthz and the session hot path, alternating ------------------------
ratios=()
for r in $(seq "$rounds"); do
  measure "reference_$r" "$main" "http://127.0.0.1:$port/healthz" -s "$lua/report.lua"
  measure "hot_path_$r" "$main" "http://127.0.0.1:$port$hot_path" -s "$lua/report.lua" -H "Cookie: $session"
  ratios+=("$(ratio "$(field "hot_path_$r" 8)" "$(field "reference_$r" 8)")")
done
median_ratio=$(printf '%s\n' "${ratios[@]}" | median)
for r in $(seq "$rounds"); do [ "${ratios[$((r - 1))]}" = "$median_ratio" ] && median_round=$r; done
row[reference]=${row[reference_$median_round]}
row[hot_path]=${row[hot_path_$median_round]}
# Half load: each connection pauses 4 ms after every answer; wrk's timers make one round about
# 5.5 ms here, so connections = half the maximum × 5.5 ms. The achieved share is reported.
half=$(awk -v m="$(field hot_path 1)" 'BEGIN {printf "%d", m / 2}')
half_connections=$(awk -v h="$half" 'BEGIN {c = int(h * 0.0055 + 0.5); if (c < 1) c = 1; print c}')
DELAY_MS=4 WRK_CONNECTIONS=$half_connections measure hot_path_half "$main" "http://127.0.0.1:$port$hot_path" \
  -s "$lua/paced.lua" -H "Cookie: $session"
form "$port"; export CSRF LOGIN_COOKIE
FIRST_MEMBER=200001 measure signin_0ms "$main" "http://127.0.0.1:$port/login" -s "$lua/signin.lua"

# ---- 1. sign-in latency: every upstream answers after 20 ms -----------------------------------
stop "$fakes"; start_fakes 20
latency_connections=${LATENCY_CONNECTIONS:-16}
form "$port"; export CSRF LOGIN_COOKIE
before=$(upstream_totals "$port")
WRK_CONNECTIONS=$latency_connections FIRST_MEMBER=100001 measure first_20ms "$main" "http://127.0.0.1:$port/login" -s "$lua/signin.lua"
rtt=$(round_trip_ms "$before" "$(upstream_totals "$port")")
WRK_CONNECTIONS=$latency_connections FIRST_MEMBER=500001 measure first_visit_20ms "$main" "http://127.0.0.1:$port/login" -s "$lua/signin.lua"
FIRST_MEMBER=110001 measure first_20ms_c64 "$main" "http://127.0.0.1:$port/login" -s "$lua/signin.lua"
form "$query_port"; export CSRF LOGIN_COOKIE
WRK_CONNECTIONS=$latency_connections FIRST_MEMBER=120001 measure query_20ms "$query" "http://127.0.0.1:$query_port/login" -s "$lua/signin.lua"
WRK_CONNECTIONS=$latency_connections FIRST_MEMBER=520001 measure query_visit_20ms "$query" "http://127.0.0.1:$query_port/login" -s "$lua/signin.lua"
stop "$query"

# ---- 3. bounded memory: a flood of first sign-ins against the default caps --------------------
for c in 64 512; do
  start_bridge "$flood_port" 0
  form "$flood_port"; export CSRF LOGIN_COOKIE
  WRK_CONNECTIONS=$c FIRST_MEMBER=$(( 130001 + c * 10 )) measure "flood_$c" "$bridge" "http://127.0.0.1:$flood_port/login" -s "$lua/signin.lua"
  stop "$bridge"
done

# ---- 4. many cores: the hot path and /healthz per server core count ---------------------------
declare -A skipped=([none]=1)
for n in $core_counts; do
  if [ $(( n + 1 )) -gt "$cores" ]; then skipped[$n]=1; continue; fi
  start_bridge "$flood_port" "0-$(( n - 1 ))" "${uncapped[@]}"
  sign_in "$flood_port" member9998 >/dev/null; cookie=$(session_cookie)
  client_cores=$(( cores - n )); threads=$(( client_cores > 8 ? 8 : client_cores ))
  for what in healthz hot; do
    url="http://127.0.0.1:$flood_port/healthz"; [ "$what" = hot ] && url="http://127.0.0.1:$flood_port$hot_path"
    WRK_CORES="$n-$(( cores - 1 ))" WRK_THREADS=$threads WRK_CONNECTIONS=$(( connections * n )) \
      measure "cores_${n}_$what" "$bridge" "$url" -s "$lua/report.lua" -H "Cookie: $cookie"
  done
  stop "$bridge"
done

# ---- 6. peers -----------------------------------------------------------------------------------
if [ "$peers" = 1 ]; then
  if command -v node >/dev/null; then
    (cd loadtest/peers/node && { [ -d node_modules ] || npm install --silent --no-audit --no-fund; })
    NODE_ENV=production PORT=$node_port taskset -c 0 node loadtest/peers/node/server.js & node_pid=$!; pids+=($node_pid)
    until curl -fs -o /dev/null "http://127.0.0.1:$node_port/healthz"; do sleep 0.05; done
    measure peer_node "$node_pid" "http://127.0.0.1:$node_port$hot_path" -s "$lua/report.lua"
  fi
  venv=loadtest/peers/python/.venv
  [ -x "$venv/bin/gunicorn" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q -r loadtest/peers/python/requirements.txt; }
  (cd loadtest/peers/python && exec taskset -c 0 .venv/bin/gunicorn -w 1 -b "127.0.0.1:$py_port" app:app >/dev/null 2>&1) & pids+=($!)
  until curl -fs -o /dev/null "http://127.0.0.1:$py_port/healthz"; do sleep 0.05; done
  worker=$(pgrep -P "${pids[-1]}" | head -1)
  measure peer_python "$worker" "http://127.0.0.1:$py_port$hot_path" -s "$lua/report.lua"
fi

# ---- the results file ---------------------------------------------------------------------------
size_mb=$(awk -v s="$(stat -c %s "$bin")" 'BEGIN {printf "%.1f", s/1048576}')
revision="$(git rev-parse --short HEAD)$(git diff --quiet || echo ' (uncommitted changes)')"
[ -n "${BRIDGE_BIN:-}" ] && revision="$revision, bridge binary $BRIDGE_BIN (${BRIDGE_REVISION:-its own revision})"
table_head() {
  echo "| scenario | connections | requests/s | p50 ms | p99 ms | p99.9 ms | errors | busy (503) | server CPU µs/request | peak RSS MB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
}
table_row() { # table_row NAME CONNECTIONS
  [ -n "${row[$1]:-}" ] || return 0
  echo "| $1 | $2 | $(field "$1" 1) | $(field "$1" 2) | $(field "$1" 3) | $(field "$1" 4) | $(( $(field "$1" 5) - $(field "$1" 7) )) | $(field "$1" 7) | $(field "$1" 8) | $(field "$1" 9) |"
}
errors=0
for name in "${!row[@]}"; do
  case $name in flood_*) e=$(( $(field "$name" 5) - $(field "$name" 7) ));; *) e=$(field "$name" 5);; esac
  errors=$(( errors + e ))
done
[ -f "$results" ] || printf '# Load results %s\n' "$(date -u +%Y-%m-%d)" >"$results"
{
  echo
  echo "## Run $(date -u +%Y-%m-%dT%H:%MZ) at $revision"
  echo
  echo "Machine: $cores cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo);"
  echo "server on core 0 (section 4: cores 0..N-1), wrk ($wrk_threads threads) and the fakes on cores $clients;"
  echo "${duration} s per scenario; command: \`$command_line\`."
  [ "$redis" = 1 ] && echo "Shared state in a local redis-server (REDIS_URL), on the client cores."
  echo
  echo "### 1. Sign-in latency (every upstream answers after 20 ms)"
  echo
  table_head
  table_row first_20ms "$latency_connections"; table_row first_visit_20ms "$latency_connections"; table_row first_20ms_c64 "$connections"
  table_row query_20ms "$latency_connections"; table_row query_visit_20ms "$latency_connections"
  echo
  four=$(awk -v r="$rtt" 'BEGIN {printf "%.1f", 4 * r + 5}'); three=$(awk -v r="$rtt" 'BEGIN {printf "%.1f", 3 * r + 5}')
  echo "- one upstream round trip as the bridge timed it (mean over first_20ms): **$rtt ms** (the fakes sleep 20 ms; the rest is HTTP work on both sides, the fakes sharing the client cores with wrk)"
  echo "- first sign-in, standard look-ups (Zendesk links the member; 3 round trips): p50 $(field first_20ms 2) ms against ≤ 85 ms (4 × 20 + 5): $(verdict "$(field first_20ms 2)" 85 "<=")"
  echo "- first visit to Zendesk, standard look-ups (4 round trips): p50 $(field first_visit_20ms 2) ms against ≤ 85 ms (4 × 20 + 5): $(verdict "$(field first_visit_20ms 2)" 85 "<="); against 4 measured round trips + 5 ms = $four ms: $(verdict "$(field first_visit_20ms 2)" "$four" "<=")"
  echo "- first sign-in, IQA profile query (3 round trips): p50 $(field query_20ms 2) ms against ≤ 65 ms (3 × 20 + 5): $(verdict "$(field query_20ms 2)" 65 "<="); against 3 measured round trips + 5 ms = $three ms: $(verdict "$(field query_20ms 2)" "$three" "<=")"
  echo "- first visit to Zendesk, IQA profile query: p50 $(field query_visit_20ms 2) ms against ≤ 65 ms: $(verdict "$(field query_visit_20ms 2)" 65 "<="); against $three ms: $(verdict "$(field query_visit_20ms 2)" "$three" "<=")"
  echo "- at $connections connections the same first sign-ins: p50 $(field first_20ms_c64 2) ms (wrk and the fakes share the client cores)"
  echo
  echo "### 2. Upstream requests per sign-in (iMIS + Zendesk, counted by the fakes)"
  echo
  echo "| sign-in | iMIS | Zendesk | target (iMIS) |"
  echo "|---|---:|---:|---|"
  echo "| first sign-in, Zendesk links the member | $(imis_of "$first_linked") | $(zendesk_of "$first_linked") | ≤ 3: $(verdict "$(imis_of "$first_linked")" 3 "<=") |"
  echo "| first visit to Zendesk (searched for copies of the address) | $(imis_of "$first_visit") | $(zendesk_of "$first_visit") | — |"
  echo "| returning sign-in (Zendesk look-ups cached) | $(imis_of "$returning") | $(zendesk_of "$returning") | — |"
  echo "| session re-use | $(imis_of "$reuse") | $(zendesk_of "$reuse") | 0: $(verdict "$(imis_of "$reuse")" 0 "<=") |"
  echo "| first sign-in, IQA profile query | $(imis_of "$query_first") | $(zendesk_of "$query_first") | ≤ 2: $(verdict "$(imis_of "$query_first")" 2 "<=") |"
  echo "| first visit, IQA profile query | $(imis_of "$query_visit") | $(zendesk_of "$query_visit") | — |"
  echo
  echo "### 3. Bounded memory under a sign-in flood (default caps, upstreams at 20 ms)"
  echo
  table_head
  table_row flood_64 64; table_row flood_512 512
  echo
  echo "- peak RSS 512 / 64 connections: $(ratio "$(field flood_512 9)" "$(field flood_64 9)") (idle $idle_rss MB)"
  echo
  echo "### 4. Many cores"
  echo
  echo "| server cores | /healthz requests/s | /healthz CPU µs | hot path requests/s | hot path CPU µs | hot path requests/s ÷ 1 core | CPU µs ÷ 1 core |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  for n in $core_counts; do
    if [ -n "${skipped[$n]:-}" ]; then echo "| $n | needs $(( n + 1 )) cores (this machine has $cores) | | | | | |"; continue; fi
    echo "| $n | $(field "cores_${n}_healthz" 1) | $(field "cores_${n}_healthz" 8) | $(field "cores_${n}_hot" 1) | $(field "cores_${n}_hot" 8) | $(ratio "$(field "cores_${n}_hot" 1)" "$(field cores_1_hot 1)") | $(ratio "$(field "cores_${n}_hot" 8)" "$(field cores_1_hot 8)") |"
  done
  echo
  echo "- targets: at 8 cores ≥ 6.5× the requests/s of 1 core and CPU µs per request within 15 % (≤ 1.15×)"
  [ ${#skipped[@]} -gt 1 ] && echo "- not measurable here: run \`CORES=\"1 2 4 8\" loadtest/run.sh\` on a machine with at least 9 cores"
  echo
  echo "### 5. Hot-path cost"
  echo
  table_head
  table_row reference "$connections"; table_row hot_path "$connections"; table_row hot_path_half "$half_connections"; table_row signin_0ms "$connections"
  echo
  echo "- server CPU per hot-path request / per /healthz request: **$median_ratio** (median of $rounds rounds: ${ratios[*]}; the table shows round $median_round) against ≤ 1.7: $(verdict "$median_ratio" 1.7 "<=")"
  echo "- hot path at half load: $(field hot_path_half 1) requests/s, $(ratio "$(field hot_path_half 1)" "$(field hot_path 1)") of the maximum: p99 $(field hot_path_half 3) ms"
  echo
  echo "### 6. What holds"
  echo
  table_head
  table_row peer_node "$connections"; table_row peer_python "$connections"
  echo
  [ -n "${row[peer_node]:-}" ] && echo "- session hot path / Node-express peer: **$(ratio "$(field hot_path 1)" "$(field peer_node 1)")** (≥ 50: $(verdict "$(ratio "$(field hot_path 1)" "$(field peer_node 1)")" 50 ">="))"
  [ -n "${row[peer_python]:-}" ] && echo "- session hot path / Python-Flask peer: **$(ratio "$(field hot_path 1)" "$(field peer_python 1)")**"
  echo "- idle RSS after start: $idle_rss MB (< 15: $(verdict "$idle_rss" 15 "<=")); release binary: $size_mb MB (< 15: $(verdict "$size_mb" 15 "<=")); start-up to ready: ${main_startup_ms} ms (< 100: $(verdict "$main_startup_ms" 100 "<="))"
  echo "- errors in every scenario (the flood's busy answers excepted): $errors"
} | tee -a "$results"
echo "appended to $results"
