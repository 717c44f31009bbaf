#!/usr/bin/env bash
# Checks the dependency graph with cargo-deny (issue 17): licences against the allow list in
# deny.toml, banned crates and duplicate versions, and that every crate comes from crates.io.
# Nothing here touches the network: cargo-deny runs offline on Cargo.lock and the local registry
# cache, and is installed from crates.io only when missing.
#
# The RustSec advisory check needs the advisory database, a git clone this machine cannot make, so
# it runs only when a copy is already on disk: PALISADE_ADVISORY_DB (a clone of the advisory-db
# repository), else cargo-deny's own under $CARGO_HOME/advisory-dbs/ (left by `cargo deny fetch`
# on a machine with network). Without one it is skipped, and the script says so.
#
#   ./scripts/deny.sh                                  # what CI runs
#   PALISADE_ADVISORY_DB=/path/to/advisory-db ./scripts/deny.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# cargo-deny: the one on PATH, else the one kept in /var/cache/palisade-tools, else installed
# there (or in ~/.cargo/bin when /var/cache is not writable). Its build goes to a temporary
# directory, never to the project's target directory.
tools=/var/cache/palisade-tools
export PATH="$tools/bin:$PATH"
if ! cargo deny --version >/dev/null 2>&1; then
  root=()
  if mkdir -p "$tools" 2>/dev/null && [ -w "$tools" ]; then root=(--root "$tools"); fi
  echo "installing cargo-deny from crates.io ${root[*]}" >&2
  env -u CARGO_TARGET_DIR cargo install --locked --quiet "${root[@]}" cargo-deny --version '^0.20'
fi
echo "$(cargo deny --version)"

# Licences, bans (duplicate versions are warnings), sources. `--offline` runs `cargo metadata`
# offline and turns off every fetch (crates, advisory database, std-replacement data).
cargo deny --offline check --hide-inclusion-graph licenses bans sources

# Advisories: only against a database already on disk. cargo-deny keeps the default database in
# <db-path>/advisory-db-3157b0e258782691 (a hash of its URL; db-path defaults to
# $CARGO_HOME/advisory-dbs) and refuses one last updated more than 90 days ago.
db_dir=advisory-db-3157b0e258782691
default_root="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
config=deny.toml
if [ -n "${PALISADE_ADVISORY_DB:-}" ]; then
  db="$(realpath "$PALISADE_ADVISORY_DB")"
  [ -d "$db/$db_dir/crates" ] && db="$db/$db_dir" # the root of a db-path, not the clone itself
  if [ ! -d "$db/crates" ]; then
    echo "PALISADE_ADVISORY_DB=$PALISADE_ADVISORY_DB is not a clone of the advisory-db repository (no crates/)" >&2
    exit 1
  fi
  # Lay the clone out as cargo-deny expects, in a db-path of its own, named by a copy of deny.toml.
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  ln -s "$db" "$tmp/$db_dir"
  sed "/^\[advisories\]/a db-path = \"$tmp\"" deny.toml >"$tmp/deny.toml"
  config="$tmp/deny.toml"
elif [ -d "$default_root/$db_dir/crates" ]; then
  db="$default_root/$db_dir"
fi
if [ -n "${db:-}" ]; then
  echo "advisories: checking against the database in $db (last commit $(git -C "$db" log -1 --format=%cs 2>/dev/null || echo unknown))"
  cargo deny --offline --config "$config" check --hide-inclusion-graph advisories
else
  echo "advisories: SKIPPED: no advisory database on this machine. Provide one with" \
    "PALISADE_ADVISORY_DB=<clone of github.com/rustsec/advisory-db>, or by running \`cargo deny fetch\`" \
    "where the network allows (it lands in $default_root)."
fi
