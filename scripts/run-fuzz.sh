#!/usr/bin/env bash
# Run every libFuzzer target in BUILD_DIR for SECONDS each, from a scratch copy of its
# seed corpus (the committed corpus is never modified). Any crash fails the run.
set -euo pipefail
build=$(cd "${1:?usage: run-fuzz.sh BUILD_DIR SECONDS}" && pwd)
secs=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for bin in "$build"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  target=${name#fuzz_}
  mkdir -p "$work/$target"
  if [ -d "$root/tests/fuzz/corpus/$target" ]; then
    cp -r "$root/tests/fuzz/corpus/$target/." "$work/$target/" 2>/dev/null || true
  fi
  dict=()
  [ -f "$root/tests/fuzz/$target.dict" ] && dict=(-dict="$root/tests/fuzz/$target.dict")
  echo "fuzz: $name for ${secs}s"
  if ! (cd "$work" && ASAN_OPTIONS=detect_leaks=1 "$bin" "${dict[@]}" -max_total_time="$secs" \
        -rss_limit_mb=2048 -print_final_stats=1 "$work/$target" >"$work/$name.log" 2>&1); then
    echo "fuzz: $name FAILED"; tail -n 60 "$work/$name.log"; status=1
  else
    grep -E "stat::number_of_executed_units" "$work/$name.log" | sed "s/^/fuzz: $name /" || true
  fi
done
exit $status
