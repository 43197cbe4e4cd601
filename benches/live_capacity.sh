#!/usr/bin/env bash
# Live capacity of `ivs-recorder serve` on this machine.
#
# For BASIC (transmux) and STANDARD (transcoded ladder) channels, publishes N copies of a
# 1080p30, 3.5 Mbps, 2 s GOP clip at once with `ffmpeg -re … -f flv rtmp://…` and measures, per
# stream, the delay from each keyframe arriving at the server to `latest_thumbnail/thumb.jpg`
# being stored for it (thumbnails every 2 s, so every keyframe makes one). A recorder that keeps
# up shows a flat delay; one that falls behind shows it growing through the stream.
#
# Usage: benches/live_capacity.sh [BASIC counts] [STANDARD counts] [seconds]
#   e.g. benches/live_capacity.sh "1 4 8 16" "1 2" 30
set -euo pipefail
cd "$(dirname "$0")/.."

basic_counts=${1:-"1 4 8 16"}
standard_counts=${2:-"1 2"}
seconds=${3:-30}

# RECORDER=path/to/ivs-recorder measures another build (e.g. the previous commit's) instead.
binary=${RECORDER:-target/release/ivs-recorder}
[ -n "${RECORDER:-}" ] || cargo build --release --quiet
work=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

input="$work/1080p30-3500k.mp4"
ffmpeg -hide_banner -loglevel error -stream_loop -1 -i sample-media/1080p30-gop2s.mp4 -t "$seconds" \
  -c:v libx264 -preset veryfast -b:v 3500k -maxrate 3500k -bufsize 3500k \
  -g 60 -keyint_min 60 -sc_threshold 0 -c:a aac -b:a 128k "$input"
echo "input: $(ffprobe -v error -show_entries format=duration,bit_rate -of csv=p=0 "$input") (s, bps)"

run() {
  local type=$1 count=$2
  local dir="$work/$type-$count"
  mkdir -p "$dir"
  {
    echo "["
    for n in $(seq 1 "$count"); do
      [ "$n" -gt 1 ] && echo ","
      echo "{\"name\":\"c$n\",\"type\":\"$type\",\"streamKey\":\"sk_$n\",\"recordingConfiguration\":{\"destinationConfiguration\":{\"s3\":{\"bucketName\":\"capacity\"}},\"thumbnailConfiguration\":{\"targetIntervalSeconds\":2,\"storage\":[\"LATEST\"]}}}"
    done
    echo "]"
  } > "$dir/channels.json"
  IVS_RECORDER_LOG=ivs_recorder=debug "$binary" serve --channels "$dir/channels.json" \
    --rtmp-listen 127.0.0.1:0 --store "$dir/store" --events "$dir/events.jsonl" \
    > "$dir/out.txt" 2> "$dir/server.log" &
  local server=$!
  local port=""
  for _ in $(seq 1 100); do
    port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$dir/out.txt" 2>/dev/null | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  local started=$(date +%s.%N)
  local publishers=()
  for n in $(seq 1 "$count"); do
    ffmpeg -hide_banner -loglevel error -nostdin -re -i "$input" -c copy -f flv \
      "rtmp://127.0.0.1:$port/app/sk_$n" &
    publishers+=($!)
  done
  for pid in "${publishers[@]}"; do wait "$pid" || true; done
  local published=$(date +%s.%N)
  # Wait for every recording to end (window 0), then stop the server.
  for _ in $(seq 1 600); do
    ended=$(grep -c '"Recording End"' "$dir/events.jsonl" 2>/dev/null || true)
    [ "${ended:-0}" -ge "$count" ] && break
    sleep 0.1
  done
  kill -INT "$server"; wait "$server" || true
  python3 - "$dir" "$type" "$count" "$started" "$published" "$seconds" <<'PY'
import json, re, statistics, sys
from datetime import datetime
dir, kind, count, started, published, seconds = sys.argv[1:7]
count, seconds = int(count), float(seconds)
wall = float(published) - float(started)
def when(line):
    return datetime.fromisoformat(line[:26] + "+00:00").timestamp()
channel_of = {}
for line in open(f"{dir}/events.jsonl"):
    event = json.loads(line)
    if event["detail"].get("event_name") == "Session Created":
        channel_of[event["detail"]["stream_id"]] = event["resources"][0].rsplit("/", 1)[1]
arrivals, stored = {}, {}
for line in open(f"{dir}/server.log"):
    m = re.search(r'keyframe arrived stream="?(st-\w+)', line)
    if m:
        arrivals.setdefault(channel_of.get(m.group(1), "?"), []).append(when(line))
    m = re.search(r'stored key=ivs/v1/\d+/(\w+)/.*latest_thumbnail/thumb\.jpg', line)
    if m:
        stored.setdefault(m.group(1), []).append(when(line))
delays, growth = [], []
for channel, keys in arrivals.items():
    thumbs = stored.get(channel, [])
    pairs = list(zip(keys, thumbs))
    d = [t - k for k, t in pairs]
    delays += d
    if len(d) >= 4:
        growth.append(statistics.mean(d[-3:]) - statistics.mean(d[:3]))
ended = sum(1 for line in open(f"{dir}/events.jsonl") if '"Recording End"' in line)
real_time = wall <= seconds * 1.05 + 1 and (max(growth) if growth else 0) < 1.0
print(f"{kind:8} x{count:<3} publish wall {wall:6.1f} s for {seconds:.0f} s of media; "
      f"recordings ended {ended}/{count}; keyframe->latest thumb delay "
      f"median {statistics.median(delays)*1000:6.0f} ms, max {max(delays)*1000:6.0f} ms, "
      f"growth {max(growth) if growth else 0:+.2f} s -> {'REAL TIME' if real_time else 'FALLS BEHIND'}")
PY
}

for count in $basic_counts; do [ "$count" -gt 0 ] && run BASIC "$count"; done
for count in $standard_counts; do [ "$count" -gt 0 ] && run STANDARD "$count"; done
