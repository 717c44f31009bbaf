#!/usr/bin/env bash
# Validates Palisade's OSCAL Assessment Results (issue 15) with compliance-trestle from PyPI, whose
# classes are NIST's OSCAL 1.1 model: `palisade scan --from SAMPLE --format oscal` for every
# bundled sample (and there, every failed check of the JSON report must be in a finding), and the
# documents the API serves for a real scan of the simulator (the integration test `oscal::` writes
# them). A self-test first proves the validator refuses broken documents. Exits non-zero on any
# document refused. Needs python3 and, for the API documents, PostgreSQL (scripts/test.sh).
#
#   ./scripts/oscal-validate.sh           # what CI runs
#   KEEP=1 ./scripts/oscal-validate.sh    # keep the documents
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

venv="$(pypi_venv compliance-trestle trestle 'compliance-trestle==3.*')"
py="$venv/bin/python3"
bin="$(palisade_binary)"
check="$(pwd)/scripts/oscal_check.py"
export PALISADE_TEST_DATABASE_URL="${PALISADE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

work_dir
status=0
for sample in data/samples/*/; do
  name="$(basename "$sample")"
  "$bin" scan --from "$sample" --format oscal > "$work/$name.oscal.json" 2>/dev/null
  "$bin" scan --from "$sample" --format json > "$work/$name.report.json" 2>/dev/null
  "$py" "$check" valid "$work/$name.oscal.json" "$work/$name.report.json" || status=1
done

echo "== self-test: broken documents are refused"
"$py" - "$work/kubeadm-default.oscal.json" "$work" <<'PY'
import copy, json, sys
doc = json.load(open(sys.argv[1]))
def broken(name, change):
    d = copy.deepcopy(doc)
    change(d["assessment-results"])
    json.dump(d, open(f"{sys.argv[2]}/broken-{name}.json", "w"))
broken("no-import-ap", lambda a: a.pop("import-ap"))
broken("prop-edge-space", lambda a: a["results"][0]["observations"][0]["props"][0].update(value="x "))
broken("target-not-a-token", lambda a: a["results"][0]["findings"][0]["target"].update({"target-id": "1.2.1"}))
broken("unknown-field", lambda a: a["results"][0]["observations"][0].update(bogus=1))
broken("uuid-v1", lambda a: a.update(uuid="c232ab00-9414-11ec-b3c8-9f6bdeced846"))
PY
for f in "$work"/broken-*.json; do "$py" "$check" invalid "$f" || status=1; done

echo "== the API's documents for a scan of the simulator"
mkdir -p "$work/api"
if cargo nextest --version >/dev/null 2>&1; then
  run_test=(cargo nextest run --test it -E 'test(oscal::)')
else
  run_test=(cargo test --test it oscal::)
fi
PALISADE_OSCAL_OUT="$work/api" "${run_test[@]}" >"$work/test.log" 2>&1 || { cat "$work/test.log"; status=1; }
docs=("$work"/api/*.json)
if [ ! -e "${docs[0]}" ]; then echo "the test wrote no document" >&2; status=1; fi
for f in "${docs[@]}"; do [ -e "$f" ] && { "$py" "$check" valid "$f" || status=1; }; done
exit "$status"
