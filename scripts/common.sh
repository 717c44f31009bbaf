# Shared by the test scripts (sourced, not run): the cargo target directory and Python tools from
# PyPI kept in virtualenvs beside the build. Expects to be sourced from the repository root.

# Reuse a cargo target directory outside the clone when one exists (CI and sessions share it).
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d /var/cache/palisade-target ]; then
  export CARGO_TARGET_DIR=/var/cache/palisade-target
fi
target="${CARGO_TARGET_DIR:-$(pwd)/target}"

# pypi_venv NAME EXECUTABLE SPEC: a virtualenv at $target/tmp/NAME-venv holding SPEC from PyPI,
# installed once (when EXECUTABLE is missing from it); prints the venv's directory.
pypi_venv() {
  local venv="$target/tmp/$1-venv"
  if [ ! -x "$venv/bin/$2" ]; then
    mkdir -p "$target/tmp"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "$3" >&2
  fi
  echo "$venv"
}

# palisade_binary: the binary to compare (PALISADE_BIN, else a debug build); prints its path.
palisade_binary() {
  if [ -n "${PALISADE_BIN:-}" ]; then
    realpath "$PALISADE_BIN"
  else
    cargo build --quiet --bin palisade >&2
    echo "$(cd "$target/debug" && pwd)/palisade"
  fi
}

# work_dir: a temporary directory in $work, removed on exit (kept with KEEP=1) after the
# processes whose pids the script appends to $pids are stopped.
work_dir() {
  work="$(mktemp -d)"
  pids=()
  trap _work_dir_cleanup EXIT
}
_work_dir_cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "${KEEP:-}" ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
