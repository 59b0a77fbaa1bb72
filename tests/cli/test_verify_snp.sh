#!/usr/bin/env bash
# CLI contract of `attestctl verify --type snp` over the real SEV-SNP vectors
# (../shared/vectors/snp or $ATTESTD_VECTORS/snp): exit 0 + "pass" for passing vectors,
# exit 1 + "fail" with an error.check for the negatives, 2 for usage and I/O errors.
# Usage: test_verify_snp.sh /path/to/attestctl
set -u
BIN=${1:?usage: $0 ATTESTCTL}
here=$(cd "$(dirname "$0")" && pwd)
V=${ATTESTD_VECTORS:-$here/../../../shared/vectors}/snp
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { printf 'ok   %s\n' "$1"; }
bad() { printf 'FAIL %s\n' "$1"; fails=$((fails + 1)); }
if [ ! -d "$V" ]; then
    echo "SKIPPED: no SEV-SNP vectors at $V"
    exit 0
fi
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
n=0
for d in "$V"/*/; do
    name=$(basename "$d")
    at=$(field "$d/meta.json" 'd["verification"]["verify_at"]')
    want=$(field "$d/meta.json" '0 if d["verification"]["expected_result"].startswith("PASS") else 1')
    "$BIN" verify --type snp --evidence "$d/report.bin" --collateral "$d" --at "$at" >"$T/out" 2>"$T/err"
    rc=$?
    res=$(field "$T/out" 'd["result"]' 2>/dev/null)
    good=0
    if [ "$want" -eq 0 ]; then
        [ "$res" = pass ] && good=1
    elif [ "$res" = fail ] && [ "$(field "$T/out" 'd["error"]["check"]')" != None ]; then
        good=1
    fi
    if [ "$rc" -eq "$want" ] && [ "$good" -eq 1 ]; then
        ok "$name (exit $rc, $res)"
    else
        bad "$name: exit $rc ($res), want $want"
        cat "$T/out" "$T/err"
    fi
    n=$((n + 1))
done
# Usage and I/O errors.
d=$(ls -d "$V"/*/ | head -n1)
"$BIN" verify --type snp --evidence "$T/nope.bin" --collateral "$d" >/dev/null 2>&1
[ $? -eq 2 ] && ok "missing evidence (exit 2)" || bad "missing evidence: want exit 2"
"$BIN" verify --type snp --evidence "$d/report.bin" --collateral "$T/nope" >/dev/null 2>&1
[ $? -eq 2 ] && ok "missing collateral dir (exit 2)" || bad "missing collateral dir: want exit 2"
# An empty collateral folder fails closed (exit 1, check "collateral").
"$BIN" verify --type snp --evidence "$d/report.bin" --collateral "$T" >"$T/out" 2>/dev/null
rc=$?
[ $rc -eq 1 ] && [ "$(field "$T/out" 'd["error"]["check"]')" = collateral ] &&
    ok "empty collateral dir (exit 1, collateral)" || bad "empty collateral dir: exit $rc"
echo "$n SEV-SNP vectors through attestctl, $fails failures"
[ "$fails" -eq 0 ]
