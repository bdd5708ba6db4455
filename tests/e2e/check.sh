# Sourced by the e2e scripts: check DESCRIPTION EXPECTED_RC ACTUAL_RC OUTPUT PATTERN... prints ok/FAIL and counts
# failures in $failures; every PATTERN (extended regex) must match the output.
failures=0
check() {
  local what="$1" want_rc="$2" rc="$3" output="$4"; shift 4
  if [ "$rc" -ne "$want_rc" ]; then
    echo "FAIL: $what: exit code $rc, expected $want_rc"; echo "$output" | sed 's/^/    /'; failures=$((failures + 1)); return
  fi
  for pattern in "$@"; do
    if ! grep -qE -- "$pattern" <<<"$output"; then
      echo "FAIL: $what: output lacks /$pattern/"; echo "$output" | sed 's/^/    /'; failures=$((failures + 1)); return
    fi
  done
  echo "ok: $what"
}
