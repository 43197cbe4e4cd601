#!/usr/bin/env bash
# Thumbnails-only recording (renditionSelection NONE, 2 s interval) of a 1080p30 input with a 2 s
# GOP, against the ffmpeg CLI doing the same job on the same file and the same machine:
#   fps filter:      ffmpeg -i IN -vf fps=1/2 thumb%d.jpg
#   keyframes only:  ffmpeg -skip_frame nokey -i IN -fps_mode passthrough thumb%d.jpg
# Prints each wall time (median of RUNS), speed as x real time, and the ratio ffmpeg / ours.
#
# Usage: benches/compare_thumbnails.sh [INPUT] (default: the bundled 1080p sample looped to 60 s)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}

# RECORDER=path/to/ivs-recorder compares another build (e.g. the previous commit's) instead.
recorder=${RECORDER:-target/release/ivs-recorder}
[ -n "${RECORDER:-}" ] || cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

input=${1:-}
if [ -z "$input" ]; then
  # 60 s of 1080p30 H.264 (High, B-frames) + AAC with a keyframe exactly every 2 s, made once.
  # (Looping the 12 s sample with -c copy would shift every loop's keyframes by a few ms off the
  # 2 s boundaries, and frame-exact thumbnails would then need the end of each GOP decoded.)
  input=target/bench-media/1080p30-gop2s-60s.mp4
  if [ ! -f "$input" ]; then
    mkdir -p "$(dirname "$input")"
    ffmpeg -v error -y -f lavfi -i testsrc2=s=1920x1080:r=30:d=60 -f lavfi -i sine=frequency=440:sample_rate=48000:duration=60 \
      -c:v libx264 -preset veryfast -b:v 3M -maxrate 3M -bufsize 3M -g 60 -keyint_min 60 -sc_threshold 0 -pix_fmt yuv420p \
      -c:a aac -b:a 96k -movflags +faststart "$input"
  fi
fi
duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$input")
cat >"$work/config.json" <<'JSON'
{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},
 "renditionConfiguration":{"renditionSelection":"NONE"},
 "thumbnailConfiguration":{"targetIntervalSeconds":2}}
JSON

# median wall time in seconds of running "$@" RUNS times, each into a fresh output folder
median_seconds() {
  local times=()
  for _ in $(seq "$RUNS"); do
    rm -rf "$work/out" && mkdir -p "$work/out"
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p"
}

ours=$(median_seconds "$recorder" record "$input" --store "$work/out" --config "$work/config.json")
ours_count=$(find "$work/out" -name 'thumb*.jpg' | wc -l)
fps=$(median_seconds ffmpeg -y -i "$input" -vf fps=1/2 "$work/out/thumb%d.jpg")
fps_count=$(find "$work/out" -name 'thumb*.jpg' | wc -l)
nokey=$(median_seconds ffmpeg -y -skip_frame nokey -i "$input" -fps_mode passthrough "$work/out/thumb%d.jpg")
nokey_count=$(find "$work/out" -name 'thumb*.jpg' | wc -l)

row() { printf '%-44s %8.3f s %8.1fx real time %6d thumbnails\n' "$1" "$2" "$(echo "$duration / $2" | bc -l)" "$3"; }
echo "input: $input (${duration} s), median of $RUNS runs, $(nproc) cores"
row "ivs-recorder record (NONE, 2 s interval)" "$ours" "$ours_count"
row "ffmpeg -vf fps=1/2" "$fps" "$fps_count"
row "ffmpeg -skip_frame nokey" "$nokey" "$nokey_count"
printf 'ivs-recorder is %.1fx faster than ffmpeg -vf fps=1/2 and %.1fx faster than ffmpeg -skip_frame nokey\n' \
  "$(echo "$fps / $ours" | bc -l)" "$(echo "$nokey / $ours" | bc -l)"
