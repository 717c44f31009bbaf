#!/usr/bin/env bash
# Compares `palisade probe ssh` with the reference auditor ssh-audit (issue 14) on real sshd
# servers started here on loopback with several configurations. Per server and algorithm kind
# (kex, host key, cipher, MAC):
#   - every algorithm ssh-audit fails must be in palisade's `weak` list (nothing broken missed);
#   - every algorithm in palisade's `weak` list must be failed or warned by ssh-audit (nothing it
#     considers fine raised);
#   - both tools must see the same algorithm lists.
# Password login, which ssh-audit does not report, is compared with what the configuration says.
# Prints a table with each tool's wall time per server; exits non-zero on any disagreement.
# Needs openssh-server (sshd, ssh-keygen) and python3; ssh-audit comes from PyPI, in a virtualenv
# kept beside the build.
#
#   ./scripts/ssh-compare.sh              # what CI runs
#   KEEP=1 ./scripts/ssh-compare.sh       # keep the work directory (JSON of both tools)
#   PALISADE_BIN=path/to/palisade ./scripts/ssh-compare.sh   # no build: that binary
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

venv="$(pypi_venv ssh-audit ssh-audit 'ssh-audit==3.*')"
py="$venv/bin/python3"

bin="$(palisade_binary)"
export PALISADE__EGRESS__ALLOW="127.0.0.0/8,::1/128"

work_dir
cd "$work"
mkdir -p /run/sshd
for t in ed25519 rsa ecdsa dsa; do ssh-keygen -q -t "$t" -N '' -f "host_$t"; done
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# name | password login expected (true/false) | sshd options (';' separates lines)
servers=(
  "defaults|true|PasswordAuthentication yes"
  "keys-only|false|PasswordAuthentication no;KbdInteractiveAuthentication no;PermitRootLogin prohibit-password"
  "hardened|false|PasswordAuthentication no;KbdInteractiveAuthentication no;KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256;HostKeyAlgorithms ssh-ed25519,rsa-sha2-512;Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com;MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com"
  "broken|false|PasswordAuthentication no;KbdInteractiveAuthentication no;KexAlgorithms +diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1;Ciphers +3des-cbc,aes128-cbc,aes256-cbc;MACs +hmac-md5,hmac-sha1-96,hmac-md5-96;HostKeyAlgorithms +ssh-rsa,ssh-dss;HostKey $work/host_dsa"
  "root-match|true|PasswordAuthentication no;KbdInteractiveAuthentication no;Match User root;  PasswordAuthentication yes"
  "kbd-interactive|true|PasswordAuthentication no;KbdInteractiveAuthentication yes"
)

printf '%-16s %-9s %-9s %-8s %-8s %s\n' server palisade ssh-audit p-time a-time result
failed=0
for entry in "${servers[@]}"; do
  IFS='|' read -r name password options <<<"$entry"
  port="$(free_port)"
  {
    echo "ListenAddress 127.0.0.1"; echo "Port $port"; echo "PidFile none"; echo "UsePAM no"; echo "StrictModes no"
    for t in ed25519 rsa ecdsa; do echo "HostKey $work/host_$t"; done
    tr ';' '\n' <<<"$options"; echo
  } >"$name.conf"
  /usr/sbin/sshd -t -f "$work/$name.conf"
  /usr/sbin/sshd -D -e -f "$work/$name.conf" 2>"$name.log" &
  pids+=($!)
  for _ in $(seq 1 100); do
    "$py" -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
    sleep 0.05
  done
  t0=$(date +%s.%N)
  "$bin" probe ssh "127.0.0.1:$port" --format json >"$name.palisade.json"
  t1=$(date +%s.%N)
  # ssh-audit exits 3 when it finds failures and 2 for warnings: not an error here.
  "$venv/bin/ssh-audit" -j -n --skip-rate-test "127.0.0.1:$port" >"$name.ssh-audit.json" || true
  t2=$(date +%s.%N)
  verdict="$("$py" - "$name.palisade.json" "$name.ssh-audit.json" "$password" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
try:
    a = json.load(open(sys.argv[2]))
except ValueError:
    print("ssh-audit gave no JSON: " + open(sys.argv[2]).read().strip()[:200]); sys.exit()
a = a[0] if isinstance(a, list) else a
kinds = {"kex": "kex", "key": "host_key", "enc": "ciphers", "mac": "macs"}
pseudo = lambda alg: alg.startswith("kex-strict-") or alg.startswith("ext-info-")
problems = []
for akind, pkind in kinds.items():
    level = {}
    for e in a.get(akind, []):
        notes = e.get("notes", {})
        level[e["algorithm"]] = "fail" if notes.get("fail") else "warn" if notes.get("warn") else "ok"
    seen = [x for x in p[pkind] if not pseudo(x)]
    if sorted(seen) != sorted(x for x in level if not pseudo(x)):
        problems.append(f"{pkind} lists differ: palisade {sorted(seen)} ssh-audit {sorted(level)}")
    weak = set(p["weak"][pkind])
    for alg, lv in level.items():
        if lv == "fail" and alg not in weak:
            problems.append(f"ssh-audit fails {pkind} {alg}, palisade does not flag it")
    for alg in weak:
        if level.get(alg, "ok") == "ok":
            problems.append(f"palisade flags {pkind} {alg}, ssh-audit finds nothing wrong")
want = sys.argv[3] == "true"
if p.get("password_auth") is not want:
    problems.append(f"password login: palisade says {p.get('password_auth')}, the configuration says {want}")
print("agree" if not problems else "; ".join(problems))
PY
)"
  pw="$(python3 -c "import json; print(json.load(open('$name.palisade.json')).get('password_auth'))")"
  nweak="$(python3 -c "import json; w=json.load(open('$name.palisade.json'))['weak']; print(sum(len(v) for v in w.values()))")"
  nfail="$("$py" -c "
import json
try: a=json.load(open('$name.ssh-audit.json'))
except ValueError: print('-'); raise SystemExit
a=a[0] if isinstance(a,list) else a
print(sum(1 for k in ('kex','key','enc','mac') for e in a.get(k,[]) if e.get('notes',{}).get('fail')))")"
  printf '%-16s %-9s %-9s %-8s %-8s %s\n' "$name" "weak=$nweak" "fail=$nfail" \
    "$("$py" -c "print(f'{$t1 - $t0:.3f}s')")" "$("$py" -c "print(f'{$t2 - $t1:.3f}s')")" \
    "$verdict (password login: $pw)"
  [ "$verdict" = agree ] || failed=1
done
if [ "$failed" != 0 ]; then
  echo "palisade probe ssh and ssh-audit disagree (see above)" >&2
  exit 1
fi
echo "palisade probe ssh agrees with ssh-audit on every server"
