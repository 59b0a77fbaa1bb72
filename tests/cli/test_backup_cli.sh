#!/usr/bin/env bash
# CLI contract of attestctl backup and policy export (docs/recovery-runbook.md):
#   attestctl --data-dir DIR backup create --out FILE [--key-file F | --passphrase-file F] [--config CONF]
#   attestctl backup verify FILE [--key-file F | --passphrase-file F]
#   attestctl --data-dir DIR backup restore FILE [--key-file F | --passphrase-file F] [--dry-run]
#   attestctl --data-dir DIR policy export --provider NAME [--out DIR]
# Exit codes: 0 ok, 1 verification / operation failed, 2 usage / I/O / key files.
# Usage: test_backup_cli.sh /path/to/attestctl
set -u
BIN=${1:?usage: $0 ATTESTCTL}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
unset ATTESTD_BACKUP_PASSPHRASE
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
expect_out() { # name file regex
    if grep -Eq -- "$3" "$2"; then ok "$1"; else bad "$1: '$3' not in $2:"; cat "$2"; fi
}
expect_same() { # name file1 file2
    if cmp -s "$2" "$3"; then ok "$1"; else bad "$1: $2 and $3 differ"; fi
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

A=("$BIN" --data-dir "$D")
K="$T/backup.key"
printf '%s\n' "$(openssl rand -hex 32)" >"$K"
chmod 600 "$K"
P="$T/pass"
printf 'a fine passphrase\n' >"$P"
chmod 600 "$P"

# ---- a store with two providers, a signed and an unsigned policy, a signer and roles
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/sk.pem" \
    -out "$T/sc.pem" -subj "/CN=backup signer" -days 2 2>/dev/null || bad "openssl test certificate"
"${A[@]}" provider create tenant-a >/dev/null || bad "provider create"
"${A[@]}" provider create tenant-iso --mode isolated --signer-cert "$T/sc.pem" >/dev/null || bad "isolated create"
printf 'version=1.0; authorizationrules{=> permit();}; // marker-6d1e\n' >"$T/p.txt"
"${A[@]}" policy set --provider tenant-a --type SgxEnclave "$T/p.txt" 2>/dev/null || bad "policy set"
# (the local store takes policy text; signed uploads go through the server: test_recovery_drill.py)
"${A[@]}" policy set --provider tenant-iso --type TdxVm "$T/p.txt" 2>/dev/null || bad "policy set 2"
"${A[@]}" role assign --principal tid/oid-owner --role Owner --scope tenant-a >/dev/null || bad "role"
"${A[@]}" role assign --principal tid/oid-reader --role Reader >/dev/null || bad "role 2"

# ---- create
expect_rc "create: no --out" 2 "${A[@]}" backup create --key-file "$K"
expect_rc "create: key and passphrase" 2 "${A[@]}" backup create --out "$T/x.atb" --key-file "$K" --passphrase-file "$P"
expect_rc "create: no key, no env" 2 "${A[@]}" backup create --out "$T/x.atb"
expect_rc "create: unknown option" 2 "${A[@]}" backup create --out "$T/x.atb" --key-file "$K" --bogus
chmod 644 "$K"
expect_rc "create: key file 0644 refused" 2 "${A[@]}" backup create --out "$T/x.atb" --key-file "$K"
expect_out "create: mode error names chmod 600" "$T/err" "must be 0600 or stricter"
chmod 600 "$K"
printf '0011\n' >"$T/short.key"; chmod 600 "$T/short.key"
expect_rc "create: short key refused" 2 "${A[@]}" backup create --out "$T/x.atb" --key-file "$T/short.key"
[ ! -e "$T/x.atb" ] && ok "no file after failed creates" || bad "x.atb exists"
expect_rc "create (key file)" 0 "${A[@]}" backup create --out "$T/b.atb" --key-file "$K"
expect_out "create prints counts" "$T/out" '^backup written: .*/b\.atb \(2 providers, 2 policies, 1 signer certificates, 2 role assignments\)$'
mode=$(stat -c %a "$T/b.atb")
[ "$mode" = 600 ] && ok "backup file mode 0600" || bad "backup file mode $mode"
ls -a "$D" | grep -q '^\.snapshot-' && bad "snapshot dir left behind" || ok "no snapshot dir left"
if grep -aq "marker-6d1e" "$T/b.atb" || grep -aq "tid/oid-owner" "$T/b.atb" || grep -aq "tenant-iso" "$T/b.atb"; then
    bad "plaintext in the backup file"
else
    ok "no plaintext policy text, principal or provider name in the backup"
fi
printf 'oidc_config = %s\n' "$T/oidc.json" >"$T/attestd.conf"
printf '{}' >"$T/oidc.json"
expect_rc "create (passphrase file, --config)" 0 "${A[@]}" backup create --out "$T/p.atb" --passphrase-file "$P" --config "$T/attestd.conf"
ATTESTD_BACKUP_PASSPHRASE='a fine passphrase' expect_rc "create (passphrase env)" 0 "${A[@]}" backup create --out "$T/e.atb"

# ---- verify
expect_rc "verify: key" 0 "$BIN" backup verify "$T/b.atb" --key-file "$K"
expect_out "verify: one-line summary" "$T/out" '^backup ok: format 1, created [0-9T:-]+Z, attestd [^,]+, store schema [0-9]+: 2 providers, 2 policies, 1 signer certificates, 2 role assignments$'
[ "$(wc -l <"$T/out")" -eq 1 ] && ok "verify: exactly one line" || bad "verify: $(wc -l <"$T/out") lines"
expect_rc "verify: passphrase file" 0 "$BIN" backup verify "$T/p.atb" --passphrase-file "$P"
ATTESTD_BACKUP_PASSPHRASE='a fine passphrase' expect_rc "verify: passphrase env" 0 "$BIN" backup verify "$T/e.atb"
ATTESTD_BACKUP_PASSPHRASE='a wrong passphrase' expect_rc "verify: wrong passphrase" 1 "$BIN" backup verify "$T/e.atb"
expect_out "verify: wrong passphrase named" "$T/err" 'integrity: authentication failed'
printf '%s\n' "$(openssl rand -hex 32)" >"$T/other.key"; chmod 600 "$T/other.key"
expect_rc "verify: wrong key" 1 "$BIN" backup verify "$T/b.atb" --key-file "$T/other.key"
expect_rc "verify: key for a passphrase backup" 1 "$BIN" backup verify "$T/p.atb" --key-file "$K"
expect_out "verify: kind mismatch named" "$T/err" 'decryption: this backup was made with a passphrase'
expect_rc "verify: missing file" 2 "$BIN" backup verify "$T/nope.atb" --key-file "$K"
expect_rc "verify: no FILE" 2 "$BIN" backup verify --key-file "$K"
size=$(stat -c %s "$T/b.atb")
for n in 0 7 8 55 56 57 $((size / 2)) $((size - 17)) $((size - 1)); do
    head -c "$n" "$T/b.atb" >"$T/t.atb"
    expect_rc "verify: truncated to $n bytes" 1 "$BIN" backup verify "$T/t.atb" --key-file "$K"
done
expect_out "verify: truncation named" "$T/err" 'integrity: file truncated'
head -c 30 "$T/b.atb" >"$T/t30.atb"
expect_rc "verify: truncated inside the header" 1 "$BIN" backup verify "$T/t30.atb" --key-file "$K"
expect_out "verify: header truncation named" "$T/err" 'header: file truncated \(30 bytes'
cp "$T/b.atb" "$T/long.atb"; printf 'x' >>"$T/long.atb"
expect_rc "verify: trailing byte" 1 "$BIN" backup verify "$T/long.atb" --key-file "$K"
for off in 0 9 10 11 20 40 50 56 100 $((size / 2)) $((size - 1)); do
    python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[int(sys.argv[2])]^=4; open(sys.argv[3],"wb").write(b)' \
        "$T/b.atb" "$off" "$T/f.atb"
    expect_rc "verify: bit flip at byte $off" 1 "$BIN" backup verify "$T/f.atb" --key-file "$K"
done

# ---- restore
R="$T/restored"
RA=("$BIN" --data-dir "$R")
expect_rc "restore: bad backup into a new dir" 1 "${RA[@]}" backup restore "$T/f.atb" --key-file "$K"
[ ! -e "$R" ] && ok "restore: a bad backup never creates the store" || bad "restore created $R"
expect_rc "restore: dry run on an empty store" 0 "${RA[@]}" backup restore "$T/b.atb" --key-file "$K" --dry-run
[ ! -e "$R" ] && ok "dry run without a store creates nothing" || bad "dry run created $R"
expect_out "dry run: provider added" "$T/out" '^\+ provider tenant-iso$'
expect_out "dry run: policy added with its hash" "$T/out" '^\+ policy tenant-a/SgxEnclave [A-Za-z0-9_-]{43}$'
expect_out "dry run: signer added" "$T/out" '^\+ signer tenant-iso [0-9a-f]{64}$'
expect_out "dry run: role added" "$T/out" '^\+ role tid/oid-owner Owner tenant-a$'
expect_out "dry run: summary" "$T/out" '^summary: 7 added, 0 removed, 0 changed$'
expect_rc "restore" 0 "${RA[@]}" backup restore "$T/b.atb" --key-file "$K"
expect_out "restore prints counts" "$T/out" '^restored: 2 providers, 2 policies, 1 signer certificates, 2 role assignments$'
"${A[@]}" provider show tenant-a >"$T/show1" 2>&1
"${RA[@]}" provider show tenant-a >"$T/show2" 2>&1
expect_same "restored provider shows the same (kid, cert)" "$T/show1" "$T/show2"
"${A[@]}" policy get --provider tenant-iso --type TdxVm >"$T/g1" 2>&1
"${RA[@]}" policy get --provider tenant-iso --type TdxVm >"$T/g2" 2>&1
expect_same "restored policy" "$T/g1" "$T/g2"
"${RA[@]}" role list >"$T/roles" 2>&1
expect_out "restored roles" "$T/roles" 'tid/oid-reader'
expect_rc "restore: dry run on the restored store" 0 "${RA[@]}" backup restore "$T/b.atb" --key-file "$K" --dry-run
expect_out "dry run: no difference" "$T/out" '^summary: 0 added, 0 removed, 0 changed$'
before=$(sha "$R/attestd.db")
expect_rc "restore: non-empty store refused" 1 "${RA[@]}" backup restore "$T/b.atb" --key-file "$K"
expect_out "restore: not-empty named" "$T/err" 'the store is not empty'
expect_rc "restore: truncated backup" 1 "${RA[@]}" backup restore "$T/t.atb" --key-file "$K"
expect_rc "restore: flipped backup" 1 "${RA[@]}" backup restore "$T/f.atb" --key-file "$K"
[ "$(sha "$R/attestd.db")" = "$before" ] && ok "store bytes unchanged by refused restores" || bad "store changed"
"${RA[@]}" provider create tenant-z >/dev/null
expect_rc "dry run after a change" 0 "${RA[@]}" backup restore "$T/b.atb" --key-file "$K" --dry-run
expect_out "dry run: removed provider" "$T/out" '^- provider tenant-z$'
expect_out "dry run: summary after change" "$T/out" '^summary: 0 added, 1 removed, 0 changed$'

# ---- policy export
expect_rc "export: missing --provider" 2 "${A[@]}" policy export
expect_rc "export: unknown provider" 1 "${A[@]}" policy export --provider nope --out "$T/ex0"
expect_rc "export: aad provider" 0 "${A[@]}" policy export --provider tenant-a --out "$T/ex"
expect_same "export: text byte-exact" "$T/p.txt" "$T/ex/SgxEnclave.txt"
[ ! -e "$T/ex/SgxEnclave.jws" ] && ok "export: no .jws for a text upload" || bad "unexpected .jws"
expect_rc "export: isolated provider (from the restored store)" 0 "${RA[@]}" policy export --provider tenant-iso --out "$T/ex2"
expect_same "export: text from the restored store" "$T/p.txt" "$T/ex2/TdxVm.txt"
expect_out "export: prints paths" "$T/out" 'ex2/TdxVm\.txt$'
mode=$(stat -c %a "$T/ex2/TdxVm.txt")
[ "$mode" = 600 ] && ok "export: file mode 0600" || bad "export file mode $mode"
expect_rc "export: --url without a token" 2 "$BIN" --url https://127.0.0.1:1 policy export --provider tenant-a --out "$T/ex3"

# ---- usage
expect_rc "backup: no subcommand" 2 "$BIN" backup
expect_rc "backup: unknown subcommand" 2 "$BIN" backup frobnicate
expect_rc "backup --help" 0 "$BIN" backup --help

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all ok"
