#!/usr/bin/env bash
# Run each test suite in its own pytest process and print one summary at the end.
# ROADBED_TEST_TIER=default runs only the default tier (no PostgreSQL/Redis/RabbitMQ).
set -uo pipefail
cd "$(dirname "$0")/.."
UV=$(command -v uv || echo "$HOME/.local/bin/uv")

marker=()
[[ "${ROADBED_TEST_TIER:-all}" == "default" ]] && marker=(-m "not services")

passed=0 failed=0 skipped=0 errors=0 status=0
for suite in "$@"; do
  [[ -d "$suite" ]] || continue
  echo "=== $suite"
  log=$(mktemp)
  "$UV" run --frozen pytest "$suite" "${marker[@]}" -q -p no:cacheprovider 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  # Exit 5 means "no tests collected": a suite that collects nothing is a failure here.
  if [[ $rc -ne 0 ]]; then status=1; echo "!!! $suite: pytest exited $rc"; fi
  line=$(grep -E '^[=]* ?[0-9]+ (passed|failed|skipped|error)' "$log" | tail -n 1)
  for kind in passed failed skipped; do
    n=$(grep -oE "[0-9]+ $kind" <<<"$line" | grep -oE '^[0-9]+' || true)
    declare "$kind=$(( ${!kind} + ${n:-0} ))"
  done
  n=$(grep -oE "[0-9]+ errors?" <<<"$line" | grep -oE '^[0-9]+' || true)
  errors=$(( errors + ${n:-0} ))
  rm -f "$log"
done
echo
echo "roadbed: $passed passed, $((failed + errors)) failed, $skipped skipped"
exit $status
