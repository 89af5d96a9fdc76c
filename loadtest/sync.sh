#!/usr/bin/env bash
# The lifecycle sync's load test: `zendesk-sso-bridge sync` against loadtest/fakes/sync_fakes.rs
# (fakes that enforce a Zendesk rate limit), for MEMBERS linked members read through the listing
# query — once with nothing to change (a dry run) and once with 1 % lapsed (--apply). Appends the
# requests each upstream had, the wall time and the peak memory to results/<date>.md.
#
#   MEMBERS=100000 RPM=2500 loadtest/sync.sh
#
# RPM is the sync's budget (SYNC_ZENDESK_RPM), FAKE_RPM the fake Zendesk's limit (default RPM; lower
# it to see 429s waited out); the targets (#24):
# iMIS requests <= members / 100 + 20, Zendesk reads at their bulk page size, Zendesk writes
# <= changes / 100 + 10 (the session endings come on top: one per downgraded member), memory
# flat in the number of members.
set -euo pipefail
cd "$(dirname "$0")/.."
MEMBERS=${MEMBERS:-100000}
RPM=${RPM:-2500}
FAKE_RPM=${FAKE_RPM:-$RPM}
PORT=${PORT:-9200}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --bin zendesk-sso-bridge --example sync-fakes
work=$(mktemp -d)
trap 'kill "${fakes:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/policy.toml" <<'POLICY'
[access]
default = "deny"
rule = [{ name = "current members", effect = "allow", paid_through = "current" }]
[claims.tags]
from = ["member_type"]
prefix = "imis_"
POLICY

run() {
  local lapsed_every=$1; shift
  "$TARGET/release/examples/sync-fakes" --listen "127.0.0.1:$PORT" --members "$MEMBERS" \
    --lapsed-every "$lapsed_every" --zendesk-rpm "$FAKE_RPM" &
  fakes=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/stats" >/dev/null && break; sleep 0.1; done
  env -i PATH="$PATH" PUBLIC_URL=https://sso.example.org \
    SESSION_KEY="$(head -c 64 /dev/urandom | base64 -w0)" ZENDESK_SUBDOMAIN=acme \
    ZENDESK_URL="http://127.0.0.1:$PORT" ZENDESK_JWT_SECRET=load-test-shared-secret-0123456789 \
    ZENDESK_API_OAUTH_TOKEN=token IMIS_BASE_URL="http://127.0.0.1:$PORT/imis" \
    IMIS_SERVICE_USERNAME=svc IMIS_SERVICE_PASSWORD=svc UNLINKED_END_USERS=deny \
    POLICY_FILE="$work/policy.toml" IMIS_MEMBERS_QUERY='$/Sync/Members' \
    SYNC_ZENDESK_RPM="$RPM" SYNC_MAX_DOWNGRADES=1000000 LOG_FORMAT=json RUST_LOG=warn \
    /usr/bin/time -f "%e %M" -o "$work/time" \
    "$TARGET/release/zendesk-sso-bridge" sync "$@" > "$work/plan" 2>/dev/null
  local stats; stats=$(curl -fs "http://127.0.0.1:$PORT/stats")
  kill "$fakes"; wait "$fakes" 2>/dev/null || true
  read -r wall kib < "$work/time"
  echo "| $* | $(head -1 "$work/plan" | cut -c1-90) | $stats | ${wall} s | $((kib / 1024)) MiB |"
}

{
  echo
  echo "## Run $(date -u +%H:%M) UTC: the lifecycle sync, $MEMBERS linked members, budget $RPM/min, Zendesk limit $FAKE_RPM/min"
  echo
  echo "| run | plan | requests | wall | peak RSS |"
  echo "|---|---|---|---:|---:|"
  run 0
  run 100 --apply
} | tee -a "loadtest/results/$(date -u +%F).md"
