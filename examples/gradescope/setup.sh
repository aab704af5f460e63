#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu). Upload a zip of
# this folder with the `session-lab` and `session-lab-init` binaries built for Linux x86-64
# beside it (`cargo build --release --all-features`, then copy both from target/release/ here:
# the sandbox runs `session-lab-init` as its first process, found beside `session-lab`).
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip bubblewrap curl libfaketime
install -m 0755 "$(dirname "$0")/session-lab" "$(dirname "$0")/session-lab-init" /usr/local/bin/
