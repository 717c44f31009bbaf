#!/usr/bin/env bash
# The soak (issue 17; documented, not in CI): `palisade serve` (release build) for 30 minutes
# with 1,000 simulated clusters scanned continuously and 50 logged-in users on the dashboard and
# the API, sampling the server's memory, latency, errors and scans every 10 s (benches/soak.rs).
# Needs PostgreSQL on 127.0.0.1:5432 (or PALISADE_TEST_DATABASE_URL); everything else is loopback.
#
#   ./scripts/soak.sh                                   # the documented 30-minute run
#   SOAK_SECONDS=120 SOAK_WARMUP=30 ./scripts/soak.sh   # a rehearsal
#   options: SOAK_CLUSTERS SOAK_SIMS SOAK_USERS SOAK_API_USERS SOAK_INTERVAL SOAK_THINK_MS SOAK_KEEP
#
# The report is printed and kept in $SOAK_OUT (default: soak-<UTC time>.md in the temp directory).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${SOAK_TARGET_DIR:-/var/cache/palisade-target-release}"
export PALISADE_TEST_DATABASE_URL="${PALISADE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
out="${SOAK_OUT:-${TMPDIR:-/tmp}/soak-$(date -u +%Y%m%dT%H%M%SZ).md}"
cargo bench --no-run --bench soak
echo "soak starts $(date -u +%FT%TZ), report in $out" >&2
cargo bench --bench soak 2>&1 | tee "$out"
