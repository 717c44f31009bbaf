#!/usr/bin/env bash
# Compares `palisade probe tls` with the reference scanner sslyze (issue 13) on `openssl s_server`
# endpoints started here on loopback, with certificates made here: per endpoint, whether each of
# TLS 1.0 … 1.3 is accepted, the set of weak suites accepted (only the suites palisade offers:
# WEAK_CLASSES in src/collect/probe/hello.rs, read from there), and whether a client certificate
# is required. The `s_server` options are the truth: the table shows what they imply next to both
# tools' answers, and the wall time of each tool per endpoint. Exits non-zero on any disagreement.
# Needs openssl and python3; sslyze comes from PyPI, in a virtualenv kept beside the build.
#
#   ./scripts/tls-compare.sh              # what CI runs
#   KEEP=1 ./scripts/tls-compare.sh       # keep the work directory (JSON of both tools)
#   PALISADE_BIN=path/to/palisade ./scripts/tls-compare.sh   # no build: that binary
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
. scripts/common.sh

venv="$(pypi_venv sslyze sslyze 'sslyze==6.*')"
py="$venv/bin/python3"

bin="$(palisade_binary)"

work_dir
cd "$work"

# Certificates: RSA and ECDSA P-256 server leaves for 127.0.0.1 (self-signed), a client CA.
quiet() { "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; }
quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.pem -days 30 \
  -subj /CN=compare-rsa -addext subjectAltName=IP:127.0.0.1
quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.pem \
  -days 30 -subj /CN=compare-ecdsa -addext subjectAltName=IP:127.0.0.1
quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout client-ca.key -out client-ca.pem -days 30 \
  -subj /CN=compare-client-ca

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# name | expected versions accepted (1.0 1.1 1.2 1.3) | client certificate required | cert | s_server options
endpoints=(
  "modern|0 0 1 1|false|ec|-min_protocol TLSv1.2"
  "strict|0 0 1 1|false|rsa|-min_protocol TLSv1.2 -cipher ECDHE+AESGCM:ECDHE+CHACHA20"
  "legacy|1 1 1 0|false|rsa|-min_protocol TLSv1 -max_protocol TLSv1.2 -cipher DEFAULT:@SECLEVEL=0"
  "tls1.0-only|1 0 0 0|false|rsa|-tls1 -cipher DEFAULT:@SECLEVEL=0"
  "tls1.1-null|0 1 0 0|false|rsa|-tls1_1 -cipher ALL:eNULL:@SECLEVEL=0"
  "tls1.3-only|0 0 0 1|false|rsa|-tls1_3"
  "client-cert|0 0 1 1|true|rsa|-Verify 1 -CAfile client-ca.pem"
  "client-cert-tls1.2|0 0 1 0|true|rsa|-tls1_2 -Verify 1 -CAfile client-ca.pem"
  "client-cert-optional|0 0 1 1|false|rsa|-verify 1 -CAfile client-ca.pem"
)

: > runs.tsv
for spec in "${endpoints[@]}"; do
  IFS='|' read -r name expected_versions expected_client cert options <<< "$spec"
  port="$(free_port)"
  # shellcheck disable=SC2086 # the options are words
  openssl s_server -accept "127.0.0.1:$port" -cert "$cert.pem" -key "$cert.key" -www -quiet $options \
    > "$name.s_server.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$name.s_server.log" >&2; echo "s_server $name did not start" >&2; exit 1; }
    sleep 0.1
  done

  start=$EPOCHREALTIME
  status=0
  PALISADE__EGRESS__ALLOW="127.0.0.0/8,::1/128" RUST_LOG=warn \
    "$bin" probe tls "127.0.0.1:$port" --format json > "$name.palisade.json" 2> "$name.palisade.err" || status=$?
  palisade_s="$("$py" -c "print(f'{$EPOCHREALTIME - $start:.2f}')")"
  if [ "$status" -ne 0 ]; then
    echo "palisade probe tls exited $status on $name:" >&2
    cat "$name.palisade.err" >&2
  fi

  start=$EPOCHREALTIME
  "$venv/bin/sslyze" --quiet --mozilla_config disable --tlsv1 --tlsv1_1 --tlsv1_2 --tlsv1_3 \
    --json_out="$name.sslyze.json" "127.0.0.1:$port" > "$name.sslyze.log" 2>&1 \
    || { cat "$name.sslyze.log" >&2; echo "sslyze failed on $name" >&2; exit 1; }
  sslyze_s="$("$py" -c "print(f'{$EPOCHREALTIME - $start:.2f}')")"

  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$expected_versions" "$expected_client" "$options" \
    "$palisade_s" "$sslyze_s" >> runs.tsv
done

"$py" - "$root/src/collect/probe/hello.rs" runs.tsv <<'PY'
import json, re, sys

hello_rs, runs = sys.argv[1], sys.argv[2]
src = open(hello_rs).read()
block = src[src.index("pub const WEAK_CLASSES"):]
block = block[: block.index("\n];")]
offered = set(re.findall(r'Suite\(0x[0-9a-fA-F]{4}, "([A-Z0-9_]+)"\)', block))
if not offered:
    sys.exit(f"no weak suites found in {hello_rs}")

VERSIONS = ["tls1.0", "tls1.1", "tls1.2", "tls1.3"]
SSLYZE = {"tls1.0": "tls_1_0", "tls1.1": "tls_1_1", "tls1.2": "tls_1_2", "tls1.3": "tls_1_3"}
show = lambda v: "null" if v is None else ("yes" if v is True else "no" if v is False else str(v))

rows, notes, times, disagreements = [], [], [], 0
for line in open(runs):
    name, expected_versions, expected_client, options, palisade_s, sslyze_s = line.rstrip("\n").split("\t")
    times.append((name, options, palisade_s, sslyze_s))
    p = json.load(open(f"{name}.palisade.json"))
    s = json.load(open(f"{name}.sslyze.json"))["server_scan_results"][0]
    if s["connectivity_status"] != "COMPLETED":
        sys.exit(f"sslyze could not connect to {name}: {s.get('connectivity_error_trace')}")
    scan = s["scan_result"]

    def sslyze_suites(v):
        r = scan[f"{SSLYZE[v]}_cipher_suites"]
        if r["status"] != "COMPLETED":
            return None, f"{r['status']} {r.get('error_reason')}"
        return r["result"], None

    def add(field, truth, pal, ssl, shown=None):
        global disagreements
        agree = pal == ssl and (truth is None or pal == truth)
        disagreements += not agree
        t, pv, sv = shown or (show(truth) if truth is not None else "-", show(pal), show(ssl))
        rows.append((name, field, t, pv, sv, "yes" if agree else "NO  <== DISAGREE"))

    ssl_accepts = {}
    for v, want in zip(VERSIONS, expected_versions.split()):
        result, err = sslyze_suites(v)
        ssl_accepts[v] = None if result is None else result["is_tls_version_supported"]
        add(v, want == "1", p["protocols"].get(v), ssl_accepts[v])

    # palisade reports weak suites at the best version below 1.3 it saw accepted; take sslyze's
    # accepted suites at the best such version sslyze saw.
    legacy = next((v for v in ["tls1.2", "tls1.1", "tls1.0"] if ssl_accepts[v]), None)
    ssl_weak = set()
    if legacy:
        result, _ = sslyze_suites(legacy)
        ssl_weak = {c["cipher_suite"]["name"] for c in result["accepted_cipher_suites"]} & offered
    pal_weak = set(p.get("weak_ciphers_accepted") or [])
    add(f"weak suites ({legacy or 'none'})", None, pal_weak, ssl_weak,
        ("-", f"{len(pal_weak)} suites", f"{len(ssl_weak)} suites"))
    if pal_weak == ssl_weak:
        notes.append(f"{name}: weak suites both: {', '.join(sorted(pal_weak)) or 'none'}")
    else:
        notes.append(f"{name}: weak suites DISAGREE; both: {', '.join(sorted(pal_weak & ssl_weak)) or 'none'}")
        notes.append(f"{name}:   palisade only: {', '.join(sorted(pal_weak - ssl_weak)) or 'none'}")
        notes.append(f"{name}:   sslyze only:   {', '.join(sorted(ssl_weak - pal_weak)) or 'none'}")

    requirement = s["connectivity_result"]["client_auth_requirement"]
    add("client cert required", expected_client == "true", p.get("client_certificate_required"),
        requirement == "REQUIRED",
        (expected_client, show(p.get("client_certificate_required")),
         f"{show(requirement == 'REQUIRED')} ({requirement})"))

headers = ("endpoint", "field", "s_server", "palisade", "sslyze", "agree")
widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
fmt = "  ".join(f"{{:<{w}}}" for w in widths)
print(fmt.format(*headers))
print(fmt.format(*("-" * w for w in widths)))
for r in rows:
    print(fmt.format(*r))
print()
for n in notes:
    print(n)
print()
print(f"{'endpoint':<22} {'palisade':>9} {'sslyze':>9}  s_server options")
for name, options, palisade_s, sslyze_s in times:
    print(f"{name:<22} {palisade_s + ' s':>9} {sslyze_s + ' s':>9}  {options}")
print()
total = len(rows)
print(f"{total - disagreements} of {total} comparisons agree"
      + ("" if not disagreements else f"; {disagreements} DISAGREE (marked above)"))
sys.exit(1 if disagreements else 0)
PY
