#!/usr/bin/env bash
# Soak test (not part of CI): the release binary against local fake upstreams, a bounded mix of
# sign-ins, session re-uses and attacks on loopback for SOAK_SECONDS (default 120), then the
# errors, p50/p99 per kind and the bridge's RSS at start and end.
#   loadtest/soak.sh            # 2 minutes, 16 workers
#   SOAK_SECONDS=600 SOAK_CONCURRENCY=32 LATENCY_MS=20 loadtest/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${SOAK_SECONDS:-120}
concurrency=${SOAK_CONCURRENCY:-16}
latency=${LATENCY_MS:-5}
fake_port=${FAKE_PORT:-19100}
bridge_port=${BRIDGE_PORT:-19180}

cargo build --release --locked --bin zendesk-sso-bridge --example fake-upstreams --example soak
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

target/release/examples/fake-upstreams --listen "127.0.0.1:$fake_port" --latency-ms "$latency" --workers 1 >/dev/null &
pids+=($!)
sleep 0.5
env -i PATH="$PATH" \
  LISTEN_ADDR="127.0.0.1:$bridge_port" PUBLIC_URL="http://127.0.0.1:$bridge_port" \
  SESSION_KEY="$(head -c 64 /dev/urandom | base64 -w0)" \
  ZENDESK_SUBDOMAIN=soak ZENDESK_URL="http://127.0.0.1:$fake_port" \
  ZENDESK_JWT_SECRET=soak-shared-secret-0123456789abcdef0123 ZENDESK_API_OAUTH_TOKEN=soak \
  IMIS_BASE_URL="http://127.0.0.1:$fake_port/imis" \
  THROTTLE_IP_FAILURES=100000 UNLINKED_END_USERS=link LOG_FORMAT=json RUST_LOG=warn \
  target/release/zendesk-sso-bridge serve >/tmp/zsb-soak.log 2>&1 &
bridge=$!
pids+=($bridge)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$bridge_port/readyz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$bridge/status"; }
echo "bridge RSS at start: $(rss)"
status=0
target/release/examples/soak --bridge "http://127.0.0.1:$bridge_port" --seconds "$seconds" --concurrency "$concurrency" || status=$?
echo "bridge RSS at end:   $(rss)"
echo "bridge log lines at warn or above: $(wc -l </tmp/zsb-soak.log)"
exit $status
