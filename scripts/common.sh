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
