#!/usr/bin/env bash
# CLI contract of `attestctl policy` (check / eval): exit codes and JSON output.
# Usage: test_policy_cli.sh /path/to/attestctl
set -u
BIN=${1:?usage: $0 ATTESTCTL}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { printf 'ok   %s\n' "$1"; }
bad() { printf 'FAIL %s\n' "$1"; fails=$((fails + 1)); }

# Until the "policy" row is in attestctl's command table the command does not exist.
"$BIN" policy --help >/dev/null 2>"$T/err"
if grep -q "unknown command" "$T/err"; then
    echo "SKIPPED: attestctl has no 'policy' command yet"
    exit 0
fi

expect_rc() { # name want cmd...
    local name=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name (exit $rc)"; else bad "$name: exit $rc, want $want"; cat "$T/err"; fi
}

# json_get FILE EXPR: python3 expression over d (the parsed JSON); prints the result
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
expect_json() { # name expr want
    local got
    got=$(json_get "$T/out" "$2" 2>&1)
    if [ "$got" = "$3" ]; then ok "$1"; else bad "$1: got '$got', want '$3'"; fi
}

cat >"$T/good.policy" <<'P'
version=1.0;
authorizationrules
{
    [type=="x-ms-sgx-is-debuggable", value==true] => deny();
    => permit();
};
issuancerules
{
    c:[type=="x-ms-sgx-mrsigner"] => issue(type="signer", value=c.value);
    => issue(type="tag", value="a");
    => issue(type="tag", value="b");
};
P
cat >"$T/lenient.policy" <<'P'
version=1.0;
authorizationrules
{
    [type="x-ms-sgx-svn", value==1] => permit()
};
P
printf 'version=1.0;\nauthorizationrules\n{\n    [type=="a", value=~"x"] => permit();\n};\n' >"$T/bad.policy"
printf 'version=1.2;authorizationrules{=>permit();};issuancerules{=>issue(type="x", value=JsonToClaimValue("{}"));};' >"$T/evalerr.policy"
cat >"$T/release.json" <<'J'
[{"type":"x-ms-sgx-is-debuggable","value":false},
 {"type":"x-ms-sgx-mrsigner","value":"4aea"},
 {"type":"x-ms-sgx-svn","value":1,"issuer":"AttestationService"}]
J
echo '{"x-ms-sgx-is-debuggable": true, "x-ms-sgx-mrsigner": "4aea", "x-ms-sgx-svn": 1}' >"$T/debug.json"
echo '{"x-ms-sgx-svn": 2}' >"$T/svn2.json"
echo '{not json' >"$T/broken.json"

# check
expect_rc "check valid" 0 "$BIN" policy check "$T/good.policy"
expect_rc "check valid --strict" 0 "$BIN" policy check "$T/good.policy" --strict
expect_rc "check lenient form" 0 "$BIN" policy check "$T/lenient.policy"
grep -q "lenient.policy:4:10: warning" "$T/err" && ok "lenient warning has line:column" || bad "lenient warning position: $(cat "$T/err")"
expect_rc "check lenient form --strict" 1 "$BIN" policy check --strict "$T/lenient.policy"
grep -q "lenient.policy:4:10: error: expected a comparison operator" "$T/err" && ok "strict error has line:column and expected" || bad "strict error: $(cat "$T/err")"
expect_rc "check invalid" 1 "$BIN" policy check "$T/bad.policy"
grep -q "bad.policy:4:22: error:" "$T/err" && ok "error has line:column" || bad "error position: $(cat "$T/err")"
expect_rc "check missing file" 2 "$BIN" policy check "$T/nope.policy"
expect_rc "check no file" 2 "$BIN" policy check
expect_rc "check extra arg" 2 "$BIN" policy check "$T/good.policy" "$T/good.policy"
expect_rc "unknown subcommand" 2 "$BIN" policy frobnicate

# eval: permit
expect_rc "eval permit" 0 "$BIN" policy eval --policy "$T/good.policy" --claims "$T/release.json"
expect_json "permit result" 'd["result"]' permit
expect_json "issued signer" 'd["issued"]["signer"]' 4aea
expect_json "duplicate type is an array" 'd["issued"]["tag"]' "['a', 'b']"
expect_json "no error on permit" '"error" in d' False
expect_json "properties object" 'd["properties"]' '{}'
# eval: deny, with explain
expect_rc "eval deny" 1 "$BIN" policy eval --policy "$T/good.policy" --claims "$T/debug.json" --explain
expect_json "deny result" 'd["result"]' deny
expect_json "deny names the rule" '(d["error"]["rule"]["line"], d["error"]["rule"]["column"])' "(4, 5)"
expect_json "deny rule text" 'd["error"]["rule"]["text"]' '[type=="x-ms-sgx-is-debuggable", value==true] => deny()'
expect_json "deny claims" 'd["error"]["claims"][0]["type"]' x-ms-sgx-is-debuggable
expect_json "explain entries" 'len(d["explain"])' 2
expect_json "nothing issued on deny" 'd["issued"]' '{}'
# eval: nopermit with explain of the failing condition
expect_rc "eval nopermit" 1 "$BIN" policy eval --policy "$T/lenient.policy" --claims "$T/svn2.json" --explain
expect_json "nopermit result" 'd["result"]' nopermit
expect_json "explain expected/actual" '(d["explain"][0]["failed"]["expected"], d["explain"][0]["failed"]["actual"])' "(1, 2)"
# eval: strict rejects the lenient form -> error, exit 1
expect_rc "eval strict parse error" 1 "$BIN" policy eval --policy "$T/lenient.policy" --claims "$T/svn2.json" --strict
expect_json "parse error result" 'd["result"]' error
expect_json "parse error position" '(d["error"]["code"], d["error"]["line"], d["error"]["column"])' "('PolicyParsingError', 4, 10)"
# eval: runtime error
expect_rc "eval runtime error" 1 "$BIN" policy eval --policy "$T/evalerr.policy" --claims "$T/svn2.json"
expect_json "runtime error result" 'd["result"]' error
expect_json "runtime error code" 'd["error"]["code"]' PolicyEvaluationError
# usage / IO
expect_rc "eval missing --claims" 2 "$BIN" policy eval --policy "$T/good.policy"
expect_rc "eval unreadable claims" 2 "$BIN" policy eval --policy "$T/good.policy" --claims "$T/none.json"
expect_rc "eval broken claims" 2 "$BIN" policy eval --policy "$T/good.policy" --claims "$T/broken.json"
expect_rc "eval missing policy" 2 "$BIN" policy eval --policy "$T/none.policy" --claims "$T/svn2.json"

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all policy CLI checks passed"
