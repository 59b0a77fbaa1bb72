#!/usr/bin/env bash
# Run the Azure Attestation JS SDK (@azure/attestation 1.0.0) against a real attestd.
#
#   tests/sdk/run.sh BUILD_DIR
#
# Installs the pinned SDK (npm ci, package-lock.json) into BUILD_DIR/sdk-test, starts
# attestd with synthetic evidence through tests/integration/harness.py (test PKI root,
# --fixed-time = now), and runs sdk_test.mjs with NODE_EXTRA_CA_CERTS = the daemon's
# self-signed TLS certificate. Prints "SKIPPED: ..." and exits 0 when node/npm are
# missing or the npm registry is unreachable (and nothing is cached).
set -u

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

skip() {
    echo "SKIPPED: sdk test: $*"
    exit 0
}

command -v node >/dev/null 2>&1 || skip "node not installed (Debian: apt-get install nodejs)"
command -v npm >/dev/null 2>&1 || skip "npm not installed (Debian: apt-get install npm)"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$NODE_MAJOR" -ge 18 ] 2>/dev/null || skip "node >= 18 needed (have $(node --version 2>&1))"
command -v python3 >/dev/null 2>&1 || skip "python3 not installed"

# 1. The SDK, pinned by package-lock.json, in a scratch copy inside the build dir.
APP="$BUILD/sdk-test"
mkdir -p "$APP"
cp "$HERE/package.json" "$HERE/package-lock.json" "$HERE/sdk_test.mjs" "$APP/"
if ! (cd "$APP" && timeout 300 npm ci --no-audit --no-fund --prefer-offline --loglevel=error \
        >"$APP/npm.log" 2>&1); then
    if ! timeout 30 npm ping >/dev/null 2>&1; then
        skip "npm registry unreachable and the SDK is not cached ($(npm config get registry))"
    fi
    echo "npm ci failed:"
    cat "$APP/npm.log"
    echo "0 passed, 1 failed"
    exit 1
fi

# 2. attestd with synthetic evidence.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/attestd-sdk.XXXXXX")
HARNESS_PID=""
cleanup() {
    if [ -n "$HARNESS_PID" ] && kill -0 "$HARNESS_PID" 2>/dev/null; then
        kill -TERM "$HARNESS_PID" 2>/dev/null
        wait "$HARNESS_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

python3 -B "$REPO/tests/integration/harness.py" serve --build-dir "$BUILD" --workdir "$WORK" \
    --providers p2 >"$WORK/info.json" 2>"$WORK/harness.log" &
HARNESS_PID=$!
for _ in $(seq 1 600); do
    [ -s "$WORK/info.json" ] && break
    if ! kill -0 "$HARNESS_PID" 2>/dev/null; then
        echo "attestd harness failed to start:"
        cat "$WORK/harness.log"
        echo "0 passed, 1 failed"
        exit 1
    fi
    sleep 0.1
done
if [ ! -s "$WORK/info.json" ]; then
    echo "attestd harness did not report ready within 60 s"
    cat "$WORK/harness.log"
    exit 1
fi
# 2b. A second attestd replaying a real SGX vector (production root), when the vectors exist.
VECTOR=sgx/dcap-qvl-sgx-v3
VECTORS_DIR=${ATTESTD_VECTORS:-$(cd "$REPO/.." && pwd)/shared/vectors}
VEC_PID=""
VEC_INFO=""
if [ -f "$VECTORS_DIR/$VECTOR/quote.bin" ]; then
    mkdir -p "$WORK/vec"
    ATTESTD_VECTORS="$VECTORS_DIR" python3 -B "$REPO/tests/integration/harness.py" serve \
        --build-dir "$BUILD" --workdir "$WORK/vec" --vector "$VECTOR" \
        >"$WORK/vec-info.json" 2>"$WORK/vec-harness.log" &
    VEC_PID=$!
    for _ in $(seq 1 600); do
        [ -s "$WORK/vec-info.json" ] && break
        kill -0 "$VEC_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -s "$WORK/vec-info.json" ]; then
        VEC_INFO="$WORK/vec-info.json"
    else
        echo "FAIL real-vector attestd did not start"
        cat "$WORK/vec-harness.log"
    fi
fi
CA=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ca"])' "$WORK/info.json")
if [ -n "$VEC_INFO" ]; then
    VEC_CA=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ca"])' "$VEC_INFO")
    cat "$CA" "$VEC_CA" >"$WORK/cas.pem"
    CA="$WORK/cas.pem"
fi
echo "attestd: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base"])' \
    "$WORK/info.json")"

# 3. The SDK test (trusting the daemon's certificate; never through a proxy).
(cd "$APP" && env NODE_EXTRA_CA_CERTS="$CA" NO_PROXY="localhost,127.0.0.1" \
    no_proxy="localhost,127.0.0.1" node sdk_test.mjs "$WORK/info.json" $VEC_INFO)
NODE_RC=$?
if [ -n "$VEC_PID" ]; then
    kill -TERM "$VEC_PID" 2>/dev/null
    wait "$VEC_PID" || { echo "FAIL real-vector attestd shutdown"; NODE_RC=1; }
fi

# 4. Graceful shutdown: the harness SIGTERMs attestd and exits with non-zero on a bad status.
kill -TERM "$HARNESS_PID"
wait "$HARNESS_PID"
HARNESS_RC=$?
HARNESS_PID=""
if [ "$HARNESS_RC" -ne 0 ]; then
    echo "FAIL attestd shutdown (harness exit $HARNESS_RC)"
    cat "$WORK/harness.log"
fi
[ "$NODE_RC" -eq 0 ] && [ "$HARNESS_RC" -eq 0 ]
