#!/usr/bin/env bash
# make bench: measure the crypto floor with `openssl speed` in this same run, then run
# every bench/bench_* binary. Output: one JSON object per line.
set -euo pipefail
build=${1:-build}
speed=$(openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa \(nistp256\)/ {print $NF}' | tail -n1)
speed=${speed:-0}
echo "{\"bench\":\"openssl_speed_ecdsap256_verify\",\"ops_per_s\":${speed%.*},\"floor_ops_per_s\":${speed%.*}}"
export ATTESTD_FLOOR_ECDSAP256_VERIFY_PER_S=${speed%.*}
for b in "$build"/bench_*; do
  [ -x "$b" ] || continue
  "$b"
done
