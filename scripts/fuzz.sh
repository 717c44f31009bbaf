#!/usr/bin/env bash
# Runs every cargo-fuzz target (issue 17) for a bounded time each, from the seed corpus in
# fuzz/corpus/<target> (seeded from the samples and tests, kept in the repository) and a working
# corpus beside the build (FUZZ_CORPUS_DIR, default /var/cache/palisade-fuzz-corpus/<target>),
# where the inputs libFuzzer finds are kept between runs. A crash or a hang (over 10 s on one input) fails the script;
# libFuzzer leaves the input in fuzz/artifacts/<target>/, to become a regression test.
# Needs the nightly toolchain (installed here) and cargo-fuzz (installed once, from crates.io).
#
#   ./scripts/fuzz.sh                 # 60 s per target
#   SECONDS_PER_TARGET=600 ./scripts/fuzz.sh kubeconfig sshd_config
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/cache/palisade-fuzz-target}"
seconds="${SECONDS_PER_TARGET:-60}"
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi
cd fuzz
cargo +nightly fuzz build -O 2>&1 | tail -n 3
status=0
corpus_root="${FUZZ_CORPUS_DIR:-/var/cache/palisade-fuzz-corpus}"
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "$corpus_root/$t"
  start=$(date +%s)
  if cargo +nightly fuzz run -O "$t" "$corpus_root/$t" "corpus/$t" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >"/tmp/fuzz-$t.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "/tmp/fuzz-$t.log" | grep -o '[0-9]*$' || echo '?')
    echo "$t: no crash in $(( $(date +%s) - start )) s, $runs inputs, corpus $(ls "$corpus_root/$t" | wc -l) files"
  else
    echo "$t: FAILED (see /tmp/fuzz-$t.log and fuzz/artifacts/$t/)"
    tail -n 30 "/tmp/fuzz-$t.log"
    status=1
  fi
done
exit $status
