#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: starts or installs what the tests need
# (PostgreSQL, Chromium + ChromeDriver, sshd, etcd, openssl), builds once, runs every test binary.
set -euo pipefail
cd "$(dirname "$0")/.."

# The cargo target directory (outside the clone when one exists).
. scripts/common.sh

# PostgreSQL: the tests create a fresh database per test on this server.
export PALISADE_TEST_DATABASE_URL="${PALISADE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi

# System packages some tests drive for real (installed only when missing).
need=()
command -v kubectl >/dev/null 2>&1 || echo "note: kubectl not found; simulator-vs-kubectl tests will fail"
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The dashboard's browser test drives a real headless Chromium through chromedriver.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
# The probe tests judge a real etcd started three ways.
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
# The SSH probe tests start real sshd with several configurations (ssh-keygen comes with it).
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
# The report tests print a PDF with Chromium and render its first page with pdftoppm.
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
# The metrics tests check every scrape with promtool (package `prometheus`; the server it also
# installs is stopped below if the package started it).
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# PostgreSQL server, when none is installed and none answers.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && ! command -v pg_ctlcluster >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [ "${#need[@]}" -gt 0 ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  # Only promtool is wanted: a Prometheus server the package started must not keep listening.
  if [[ " ${need[*]} " == *" prometheus "* ]]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || service prometheus stop >/dev/null 2>&1 || true
  fi
fi

# A freshly installed PostgreSQL: start it and allow local trust logins for the test user.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && command -v pg_ctlcluster >/dev/null 2>&1; then
  ver="$(ls /etc/postgresql | sort -n | tail -n1)"
  hba="/etc/postgresql/$ver/main/pg_hba.conf"
  if [ -w "$hba" ] && ! grep -q "palisade-tests" "$hba"; then
    sed -i '1i host all postgres 127.0.0.1/32 trust # palisade-tests' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

# Databases left by earlier runs (tests that were killed, or that keep theirs for inspection).
if command -v psql >/dev/null 2>&1; then
  for db in $(psql "$PALISADE_TEST_DATABASE_URL" -Atc \
      "SELECT datname FROM pg_database WHERE datname LIKE 'palisade\_test\_%'" 2>/dev/null); do
    psql "$PALISADE_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
fi

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
