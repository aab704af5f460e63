#!/usr/bin/env bash
# How often stage1.concurrent-exact catches a real data race: the Go fixture with an unlocked
# `hits++` (tests/fixtures/submissions/go, -mistake racy-counter), built once, graded N times
# (default 10) by the release grader at stage 1. Prints each grading's verdict and the total.
# Usage: benches/race_detection.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r tests/fixtures/submissions/go/. "$work"
(cd "$work" && go build -o server .)
caught=0
for run in $(seq 1 "$runs"); do
  # Exit status 1 is the verdict being measured: the report file says which check failed.
  target/release/session-lab grade --stage 1 --sandbox none --format json \
    --output "$work/report.json" --dir "$work" -- ./server -mistake racy-counter '{port}' >/dev/null || true
  line=$(python3 -c 'import json,sys; c=[c for c in json.load(open(sys.argv[1]))["checks"] if c["id"]=="stage1.concurrent-exact"][0]; print(c["status"], c["message"] or "")' "$work/report.json")
  echo "run $run: $line"
  case "$line" in failed*) caught=$((caught + 1)) ;; esac
done
echo "caught in $caught of $runs gradings"
