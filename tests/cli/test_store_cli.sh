#!/usr/bin/env bash
# CLI contract of attestctl's local management over the store:
#   attestctl --data-dir DIR provider create|list|show|delete NAME [--mode aad|isolated] [--signer-cert PEM]...
#   attestctl --data-dir DIR policy set|get|reset --provider NAME --type TYPE [FILE]
#   attestctl --data-dir DIR collateral import DIR_OR_JSON
# Exit codes: 0 ok, 1 operation failed, 2 usage / I/O.
# Usage: test_store_cli.sh /path/to/attestctl
set -u
BIN=${1:?usage: $0 ATTESTCTL}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
D="$T/data"
fails=0
ok() { printf 'ok   %s\n' "$1"; }
bad() { printf 'FAIL %s\n' "$1"; fails=$((fails + 1)); }

expect_rc() { # name want cmd...
    local name=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err" </dev/null
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name (exit $rc)"; else bad "$name: exit $rc, want $want"; cat "$T/err"; fi
}
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
expect_json() { # name expr want
    local got
    got=$(json_get "$T/out" "$2" 2>&1)
    if [ "$got" = "$3" ]; then ok "$1"; else bad "$1: got '$got', want '$3'"; fi
}
expect_same() { # name file1 file2
    if cmp -s "$2" "$3"; then ok "$1"; else bad "$1: $2 and $3 differ"; fi
}

A=("$BIN" --data-dir "$D")

# ---- providers
expect_rc "list on a new store" 0 "${A[@]}" provider list
expect_json "list is an empty array" 'd' '[]'
mode=$(stat -c %a "$D" 2>/dev/null)
[ "$mode" = 700 ] && ok "data dir created 0700" || bad "data dir mode $mode"
mode=$(stat -c %a "$D/attestd.db" 2>/dev/null)
[ "$mode" = 600 ] && ok "database file 0600" || bad "database mode $mode"

expect_rc "create" 0 "${A[@]}" provider create tenant-a
expect_json "create prints the provider" 'd["name"], d["mode"], d["alg"], d["signer_certs"], d["policies"]' \
    "('tenant-a', 'aad', 'RS256', 0, [])"
expect_json "kid is base64 of a SHA-256" 'len(d["kid"])' '44'
expect_rc "create duplicate" 1 "${A[@]}" provider create tenant-a
expect_rc "create invalid name" 1 "${A[@]}" provider create Tenant_A
expect_rc "create name too long" 1 "${A[@]}" provider create "a$(printf 'b%.0s' $(seq 63))"
expect_rc "create ES256" 0 "${A[@]}" provider create tenant-es --alg ES256
expect_json "ES256 alg" 'd["alg"]' 'ES256'
expect_rc "create bad alg" 2 "${A[@]}" provider create tenant-x --alg HS256
expect_rc "create bad mode" 2 "${A[@]}" provider create tenant-x --mode open
expect_rc "isolated without signer cert" 2 "${A[@]}" provider create tenant-x --mode isolated
expect_rc "create without name" 2 "${A[@]}" provider create

# Two self-signed signer certificates (one PEM file each).
for i in 1 2; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/k$i.pem" \
        -out "$T/c$i.pem" -subj "/CN=policy signer $i" -days 30 2>/dev/null ||
        bad "openssl could not make a test certificate"
done
expect_rc "isolated with signer certs" 0 "${A[@]}" provider create tenant-iso --mode isolated \
    --signer-cert "$T/c1.pem" --signer-cert "$T/c2.pem"
expect_json "isolated provider" 'd["mode"], d["signer_certs"]' "('isolated', 2)"
expect_rc "signer cert file missing" 2 "${A[@]}" provider create tenant-y --mode isolated --signer-cert "$T/nope.pem"
echo "not a certificate" >"$T/junk.pem"
expect_rc "signer cert not a certificate" 1 "${A[@]}" provider create tenant-y --mode isolated --signer-cert "$T/junk.pem"
expect_rc "duplicate signer cert" 1 "${A[@]}" provider create tenant-y --mode isolated \
    --signer-cert "$T/c1.pem" --signer-cert "$T/c1.pem"
expect_rc "failed create left nothing behind" 1 "${A[@]}" provider show tenant-y

expect_rc "list" 0 "${A[@]}" provider list
expect_json "list is sorted" 'd' "['tenant-a', 'tenant-es', 'tenant-iso']"
expect_rc "show" 0 "${A[@]}" provider show tenant-a
expect_json "show fields" 'sorted(d)' "['alg', 'created_at', 'kid', 'mode', 'name', 'policies', 'signer_certs']"
if grep -qi "PRIVATE\|signing_key" "$T/out"; then bad "show leaks key material"; else ok "show has no key material"; fi
expect_rc "show missing" 1 "${A[@]}" provider show nobody
expect_rc "show without name" 2 "${A[@]}" provider show

# ---- policies
printf 'version=1.0;\r\nauthorizationrules\r\n{\r\n    => permit();\r\n};\r\n// caf\xc3\xa9 \xe2\x82\xac\t \r\nissuancerules{};' >"$T/crlf.policy"
expect_rc "policy set" 0 "${A[@]}" policy set --provider tenant-a --type SgxEnclave "$T/crlf.policy"
expect_rc "policy get" 0 "${A[@]}" policy get --provider tenant-a --type SgxEnclave
expect_same "policy get is byte-exact (CRLF, UTF-8)" "$T/out" "$T/crlf.policy"
expect_rc "policy get, type case-insensitive" 0 "${A[@]}" policy get --provider tenant-a --type sgxENCLAVE
expect_same "case-insensitive type reads the same policy" "$T/out" "$T/crlf.policy"
expect_rc "policy set from stdin (lowercase type)" 0 sh -c "\"\$@\" < '$T/crlf.policy'" _ "${A[@]}" policy set --provider tenant-a --type tdxvm
expect_rc "policy get TdxVm" 0 "${A[@]}" policy get --provider tenant-a --type TdxVm
expect_same "stdin policy byte-exact" "$T/out" "$T/crlf.policy"
expect_rc "show lists canonical types" 0 "${A[@]}" provider show tenant-a
expect_json "stored types" 'd["policies"]' "['SgxEnclave', 'TdxVm']"

printf 'version=1.0;\nauthorizationrules\n{\n    [type=="a", value=~"x"] => permit();\n};\n' >"$T/bad.policy"
expect_rc "invalid policy refused" 1 "${A[@]}" policy set --provider tenant-a --type SgxEnclave "$T/bad.policy"
grep -q "bad.policy:4:" "$T/err" && ok "invalid policy error has line" || bad "no line in: $(cat "$T/err")"
expect_rc "invalid policy left the old one" 0 "${A[@]}" policy get --provider tenant-a --type SgxEnclave
expect_same "old policy intact" "$T/out" "$T/crlf.policy"

expect_rc "policy reset" 0 "${A[@]}" policy reset --provider tenant-a --type SgxEnclave
expect_rc "policy get after reset" 0 "${A[@]}" policy get --provider tenant-a --type SgxEnclave
grep -q "authorizationrules" "$T/out" && grep -q "x-ms-sgx-mrsigner" "$T/out" &&
    ok "get after reset prints the default SgxEnclave policy" || bad "default policy text: $(head -c 200 "$T/out")"
cp "$T/out" "$T/default-sgx"
expect_rc "get on a provider with none stored" 0 "${A[@]}" policy get --provider tenant-es --type SgxEnclave
expect_same "default text is the same for every provider" "$T/out" "$T/default-sgx"
expect_rc "policy reset again (idempotent)" 0 "${A[@]}" policy reset --provider tenant-a --type SgxEnclave
expect_rc "policy get OpenEnclave default" 0 "${A[@]}" policy get --provider tenant-a --type OpenEnclave
[ -s "$T/out" ] && ok "OpenEnclave default non-empty" || bad "OpenEnclave default empty"

expect_rc "policy set missing provider" 1 "${A[@]}" policy set --provider nobody --type SgxEnclave "$T/crlf.policy"
expect_rc "policy get missing provider" 1 "${A[@]}" policy get --provider nobody --type SgxEnclave
expect_rc "policy reset missing provider" 1 "${A[@]}" policy reset --provider nobody --type SgxEnclave
expect_rc "policy unknown type" 2 "${A[@]}" policy get --provider tenant-a --type SevSnp
expect_rc "policy set no provider" 2 "${A[@]}" policy set --type SgxEnclave "$T/crlf.policy"
expect_rc "policy set missing file" 2 "${A[@]}" policy set --provider tenant-a --type SgxEnclave "$T/nope"
expect_rc "policy get extra argument" 2 "${A[@]}" policy get --provider tenant-a --type SgxEnclave "$T/crlf.policy"
# check/eval keep working without a store.
expect_rc "policy check still works" 0 "$BIN" policy check "$T/crlf.policy"

# ---- delete cascades
expect_rc "policy set before delete" 0 "${A[@]}" policy set --provider tenant-es --type TdxVm "$T/crlf.policy"
expect_rc "delete" 0 "${A[@]}" provider delete tenant-es
expect_rc "delete again" 1 "${A[@]}" provider delete tenant-es
expect_rc "recreate" 0 "${A[@]}" provider create tenant-es
expect_json "recreated provider has no policies" 'd["policies"]' '[]'

# ---- data dir from the environment; usage errors
expect_rc "ATTESTD_DATA_DIR" 0 env ATTESTD_DATA_DIR="$D" "$BIN" provider list
expect_json "env data dir is the same store" 'd' "['tenant-a', 'tenant-es', 'tenant-iso']"
expect_rc "--data-dir= form" 0 "$BIN" --data-dir="$D" provider list
expect_rc "--data-dir without value" 2 "$BIN" --data-dir
expect_rc "unknown provider subcommand" 2 "${A[@]}" provider rename a b
expect_rc "data dir not a directory" 2 "$BIN" --data-dir "$T/crlf.policy" provider list

# ---- collateral
expect_rc "collateral import missing path" 2 "${A[@]}" collateral import "$T/nope"
expect_rc "collateral import usage" 2 "${A[@]}" collateral import
echo '{}' >"$T/empty.json"
expect_rc "collateral import incomplete JSON" 1 "${A[@]}" collateral import "$T/empty.json"
V="$ROOT/../shared/vectors/sgx/dcap-qvl-sgx-v3/collateral"
if [ -d "$V" ]; then
    expect_rc "collateral import" 0 "${A[@]}" collateral import "$V"
    expect_json "imported key" 'd["tee"], d["fmspc"], d["ca"]' "('sgx', '00a067110000', 'processor')"
    expect_json "next update is RFC 3339" 'd["tcb_info_next_update"][-1]' 'Z'
    expect_rc "collateral re-import replaces" 0 "${A[@]}" collateral import "$V"
else
    echo "SKIPPED: collateral import of the dcap-qvl vector ($V not present)"
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all passed"
