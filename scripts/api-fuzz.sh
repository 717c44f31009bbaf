#!/usr/bin/env bash
# Fuzzes the REST API against its own OpenAPI document with schemathesis (issue 17): starts
# `palisade serve --demo` on a fresh database (egress limited to loopback, so a generated cluster
# address is never dialled off the machine), then runs every operation with every check, a fixed
# seed and a bounded number of examples, once as an admin and once as a viewer. A viewer must never
# get a 2xx on a write (a custom check, scripts/schemathesis_hooks.py). Exits non-zero on any
# failure. Needs PostgreSQL on 127.0.0.1:5432 (scripts/test.sh starts it) and python3.
#
#   ./scripts/api-fuzz.sh                 # what CI runs
#   EXAMPLES=100 SEED=7 ./scripts/api-fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
. scripts/common.sh
examples="${EXAMPLES:-25}"
seed="${SEED:-20261203}"

# schemathesis from PyPI, in a virtualenv kept beside the build.
venv="$(pypi_venv schemathesis schemathesis 'schemathesis==4.*')"

cargo build --quiet --bin palisade
bin="$(cd "$target/debug" && pwd)/palisade"

base_url="${PALISADE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="palisade_fuzz_$$"
psql "$base_url" -qc "CREATE DATABASE $db" >/dev/null
work="$(mktemp -d)"
port=$((20000 + $$ % 20000))
password="fuzz-admin-password-$$"
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql "$base_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

db_url="${base_url%/*}/$db"
(
  cd "$work"
  PALISADE__DATABASE__URL="$db_url" PALISADE__DATABASE__EMBEDDED_FALLBACK=false \
  PALISADE__SERVER__LISTEN="127.0.0.1:$port" PALISADE__EGRESS__ALLOW="127.0.0.0/8,::1/128" \
  PALISADE__AUTH__MAX_FAILED_LOGINS=1000 PALISADE_ADMIN_PASSWORD="$password" RUST_LOG=warn \
    exec "$bin" serve --demo
) > "$work/server.log" 2>&1 &
server_pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "the server did not start" >&2; exit 1; }
  sleep 0.5
done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# A bearer token for a user: log in (cookie + CSRF token), create a token with it.
token_for() {
  local user="$1" pass="$2" jar="$work/jar-$1" csrf
  csrf="$(curl -fsS -c "$jar" -H 'content-type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"$pass\"}" "$url/api/v1/auth/login" | json "['csrf_token']")"
  curl -fsS -b "$jar" -H "x-csrf-token: $csrf" -H 'content-type: application/json' \
    -d "{\"name\":\"api-fuzz-$user\"}" "$url/api/v1/tokens" | json "['secret']"
}

admin_token="$(token_for admin "$password")"
curl -fsS -H "authorization: Bearer $admin_token" -H 'content-type: application/json' \
  -d "{\"username\":\"fuzz-viewer\",\"password\":\"$password\",\"role\":\"viewer\"}" \
  "$url/api/v1/users" >/dev/null
viewer_token="$(token_for fuzz-viewer "$password")"

run() {
  local who="$1" token="$2" role="${ROLE_CHECKED:-$1}"
  echo "== schemathesis as $who: every operation, --checks all, $examples examples, seed $seed"
  PALISADE_FUZZ_ROLE="$role" SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$root/scripts" \
    "$venv/bin/schemathesis" --config-file "$root/scripts/schemathesis.toml" run "$url/api/openapi.json" \
    --url "$url" --checks all --max-examples "$examples" --seed "$seed" --workers 2 \
    --header "Authorization: Bearer $token" --no-color "${@:3}"
}

status=0
run admin "$admin_token" || status=1
run viewer "$viewer_token" --exclude-operation-id logout || status=1
# The viewer check can fail: an admin's successful write, judged as a viewer's, must be flagged.
echo "== self-test: the viewer check flags a 2xx write"
if ROLE_CHECKED=viewer run admin "$admin_token" --include-operation-id create_user --max-examples 10 \
    > "$work/selftest.log" 2>&1; then
  cat "$work/selftest.log"
  echo "the viewer_never_writes check did not flag an admin's write" >&2
  status=1
elif ! grep -q "a viewer got 201" "$work/selftest.log"; then
  cat "$work/selftest.log"
  echo "the self-test failed for another reason than the viewer check" >&2
  status=1
else
  echo "ok: flagged"
fi
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "the server died during the run" >&2
  status=1
fi
if grep -q "panicked" "$work/server.log"; then
  grep -n "panicked" "$work/server.log" >&2
  status=1
fi
exit "$status"
