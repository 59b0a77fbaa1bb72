#!/usr/bin/env bash
# End-to-end HTTPS attest throughput of attestd (make bench).
#
#   bench/bench_http.sh BUILD_DIR
#
# Starts attestd with synthetic evidence (tests/integration/harness.py: test PKI root,
# collateral imported, --fixed-time), then drives POST /attest/SgxEnclave with wrk over
# TLS with keep-alive (2 threads, 8 connections, 10 s; BENCH_THREADS / BENCH_CONNECTIONS /
# BENCH_DURATION override). Prints ONE JSON line on stdout:
#
#   {"bench":"http_attest_sgx","ops_per_s":N,"p50_ms":X,"p99_ms":Y,"floor_ops_per_s":F,...}
#
# floor_ops_per_s = nproc / (2 / ecdsa_p256_verify_per_s + 1 / rsa2048_sign_per_s), from
# `openssl speed -seconds 2 ecdsap256 rsa2048` in the same run: one attest costs at least
# two ECDSA-P256 verifies (quote + QE report) and one RSA-2048 sign (the token) per core.
# Prints {"bench":"http_attest_sgx","skipped":"..."} and exits 0 when wrk is absent.
#
# BENCH_AUDIT=1: the same with the chained audit log in a file (audit_file, audit_fsync =
# always, one record per attestation); the line is "http_attest_sgx_audited" and carries
# "audit_records" after `attestctl audit verify` accepted the whole file.
set -u

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-8}
DURATION=${BENCH_DURATION:-10}
NAME=http_attest_sgx
[ "${BENCH_AUDIT:-0}" = 1 ] && NAME=http_attest_sgx_audited

skipped() {
    printf '{"bench":"%s","skipped":"%s"}\n' "$NAME" "$1"
    exit 0
}
command -v wrk >/dev/null 2>&1 || skipped "wrk not installed (Debian: apt-get install wrk)"
command -v openssl >/dev/null 2>&1 || skipped "openssl command line not installed"
command -v python3 >/dev/null 2>&1 || skipped "python3 not installed"
[ -x "$BUILD/attestd" ] || { echo "bench_http: $BUILD/attestd not built" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/attestd-bench.XXXXXX")
HARNESS_PID=""
cleanup() {
    if [ -n "$HARNESS_PID" ] && kill -0 "$HARNESS_PID" 2>/dev/null; then
        kill -TERM "$HARNESS_PID" 2>/dev/null
        wait "$HARNESS_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# 1. The crypto floor, measured first (nothing else running).
openssl speed -seconds 2 ecdsap256 rsa2048 >"$WORK/speed.txt" 2>/dev/null ||
    { echo "bench_http: openssl speed failed" >&2; exit 1; }
CORES=$(nproc)

# 2. attestd.
# One key-encryption key for this run's store, shared by attestd and attestctl below.
ATTESTD_KEK=$(openssl rand -hex 32)
export ATTESTD_KEK
EXTRA=()
if [ "$NAME" = http_attest_sgx_audited ]; then
    EXTRA=(--config-line "audit_file = $WORK/audit.log" --config-line "audit_fsync = always")
fi
python3 -B "$REPO/tests/integration/harness.py" serve --build-dir "$BUILD" --workdir "$WORK/srv" \
    "${EXTRA[@]}" >"$WORK/info.json" 2>"$WORK/harness.log" &
HARNESS_PID=$!
for _ in $(seq 1 600); do
    [ -s "$WORK/info.json" ] && break
    kill -0 "$HARNESS_PID" 2>/dev/null || break
    sleep 0.1
done
if [ ! -s "$WORK/info.json" ]; then
    echo "bench_http: attestd did not start:" >&2
    cat "$WORK/harness.log" >&2
    exit 1
fi

# 3. Request body, a correctness probe, and the wrk script.
python3 - "$WORK/info.json" "$WORK/body.json" <<'EOF' || exit 1
import json, os, ssl, sys, http.client, base64
info = json.load(open(sys.argv[1]))
ev = info["evidence"]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
quote = open(os.path.join(ev, "sgx_v3.bin"), "rb").read()
rt = open(os.path.join(ev, "runtime.bin"), "rb").read()
body = json.dumps({"quote": b64(quote), "runtimeData": {"data": b64(rt), "dataType": "Binary"}})
open(sys.argv[2], "w").write(body)
ctx = ssl.create_default_context(cafile=info["ca"])
c = http.client.HTTPSConnection("localhost", info["port"], context=ctx, timeout=30)
c.request("POST", "/attest/SgxEnclave?api-version=2020-10-01", body=body,
          headers={"Content-Type": "application/json"})
r = c.getresponse()
data = r.read()
if r.status != 200:
    sys.stderr.write("bench_http: probe attest failed: %d %s\n" % (r.status, data[:300]))
    sys.exit(1)
EOF

cat >"$WORK/attest.lua" <<EOF
local f = assert(io.open("$WORK/body.json", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"

done = function(summary, latency, requests)
  io.write(string.format("BENCH_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d " ..
                         "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout))
end
EOF

PORT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$WORK/info.json")
wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency --timeout 10s -s "$WORK/attest.lua" \
    "https://127.0.0.1:$PORT/attest/SgxEnclave?api-version=2020-10-01" >"$WORK/wrk.txt" 2>&1
WRK_RC=$?

# 4. Stop attestd (graceful) and report.
kill -TERM "$HARNESS_PID"
wait "$HARNESS_PID"
HARNESS_RC=$?
HARNESS_PID=""

if [ "$WRK_RC" -ne 0 ] || ! grep -q '^BENCH_RESULT' "$WORK/wrk.txt"; then
    echo "bench_http: wrk failed (rc $WRK_RC):" >&2
    cat "$WORK/wrk.txt" >&2
    exit 1
fi
[ -n "${BENCH_VERBOSE:-}" ] && cat "$WORK/wrk.txt" >&2
AUDIT_RECORDS=-1
if [ "$NAME" = http_attest_sgx_audited ]; then
    # The whole chain must verify (and end at the head in the store).
    if ! "$BUILD/attestctl" --data-dir "$WORK/srv/data" audit verify "$WORK/audit.log" \
        >"$WORK/verify.txt" 2>&1; then
        echo "bench_http: audit verify failed:" >&2
        cat "$WORK/verify.txt" >&2
        exit 1
    fi
    AUDIT_RECORDS=$(sed -n 's/^audit ok: \([0-9]*\) records.*/\1/p' "$WORK/verify.txt")
fi

python3 - "$WORK/wrk.txt" "$WORK/speed.txt" "$CORES" "$THREADS" "$CONNS" "$HARNESS_RC" \
    "$NAME" "$AUDIT_RECORDS" <<'EOF'
import json, re, sys
wrk_txt, speed_txt, cores, threads, conns, harness_rc, name, audit_records = sys.argv[1:9]
res = dict(kv.split("=") for kv in
           [l for l in open(wrk_txt) if l.startswith("BENCH_RESULT")][0].split()[1:])
res = {k: int(v) for k, v in res.items()}

def speed(label_re):
    header = None
    for line in open(speed_txt):
        if "sign/s" in line:
            header = line.split()
            continue
        text = line.strip()
        m = re.match(label_re, text)
        if m and header:
            nums = re.findall(r"[0-9]+(?:\.[0-9]+)?", text[m.end():])
            vals = dict(zip(reversed(header), reversed(nums)))
            return float(vals["sign/s"]), float(vals["verify/s"])
    raise SystemExit("bench_http: cannot parse openssl speed output for %s" % label_re)

rsa_sign, _ = speed(r"rsa 2048 bits")
_, ec_verify = speed(r"256 bits ecdsa \(nistp256\)")
floor = int(cores) / (2.0 / ec_verify + 1.0 / rsa_sign)
ops = res["requests"] / (res["duration_us"] / 1e6) if res["duration_us"] else 0.0
out = {
    "bench": name,
    "ops_per_s": round(ops, 1),
    "p50_ms": round(res["p50_us"] / 1000.0, 3),
    "p99_ms": round(res["p99_us"] / 1000.0, 3),
    "floor_ops_per_s": round(floor, 1),
    "requests": res["requests"],
    "non_2xx": res["non2xx"],
    "socket_errors": res["connect"] + res["read"] + res["write"] + res["timeout"],
    "threads": int(threads),
    "connections": int(conns),
    "cores": int(cores),
    "ecdsa_p256_verify_per_s": round(ec_verify, 1),
    "rsa2048_sign_per_s": round(rsa_sign, 1),
}
if int(audit_records) >= 0:
    out["audit_records"] = int(audit_records)
print(json.dumps(out, separators=(",", ":")))
if res["non2xx"] or res["requests"] == 0 or harness_rc != "0":
    sys.stderr.write("bench_http: %d non-2xx responses, %d requests, attestd exit %s\n"
                     % (res["non2xx"], res["requests"], harness_rc))
    sys.exit(1)
EOF
