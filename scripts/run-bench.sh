#!/usr/bin/env bash
# make bench: measure the crypto floor with `openssl speed` in this same run, then run
# every bench/bench_* binary. Output: one JSON object per line.
set -euo pipefail
build=${1:-build}
speed=$(openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa \(nistp256\)/ {print $NF}' | tail -n1)
speed=${speed:-0}
echo "{\"bench\":\"openssl_speed_ecdsap256_verify\",\"ops_per_s\":${speed%.*},\"floor_ops_per_s\":${speed%.*}}"
export ATTESTD_FLOOR_ECDSAP256_VERIFY_PER_S=${speed%.*}
# SEV-SNP floor: one ECDSA-P384 verify per report (bench_snp's snp_verify_cached).
speed384=$(openssl speed -seconds 3 ecdsap384 2>/dev/null | awk '/384 bits ecdsa \(nistp384\)/ {print $NF}' | tail -n1)
speed384=${speed384:-0}
echo "{\"bench\":\"openssl_speed_ecdsap384_verify\",\"ops_per_s\":${speed384%.*},\"floor_ops_per_s\":${speed384%.*}}"
export ATTESTD_FLOOR_ECDSAP384_VERIFY_PER_S=${speed384%.*}
for b in "$build"/bench_*; do
  [ -x "$b" ] || continue
  "$b"
done
