#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu). Upload a zip of
# this folder with a `session-lab` binary built for Linux x86-64 beside it
# (`cargo build --release --all-features`, then copy target/release/session-lab here).
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip bubblewrap curl
install -m 0755 "$(dirname "$0")/session-lab" /usr/local/bin/session-lab
