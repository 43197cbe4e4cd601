#!/usr/bin/env bash
# The full STANDARD ladder and the BASIC transmux against the ffmpeg CLI doing the same work in
# one process: same x264 preset and bitrates, a split+scale filter graph, the HLS muxer (10 s
# segments at keyframes), AAC at 64/48 kbps for 360p/160p, audio copied above; `-c copy` for BASIC.
# Prints both wall times (median of RUNS, the two run alternately), speed as x real time, and the
# ratio ffmpeg / ours.
#
# Usage: benches/compare_ladder.sh [INPUT...] (default: the bundled 1080p and 720p samples)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}

# RECORDER=path/to/ivs-recorder compares another build (e.g. the previous commit's) instead.
recorder=${RECORDER:-target/release/ivs-recorder}
[ -n "${RECORDER:-}" ] || cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inputs=("$@")
[ ${#inputs[@]} -gt 0 ] || inputs=(sample-media/1080p30-gop2s.mp4 sample-media/720p30-gop2s.mp4)

# Seconds one run of "$@" takes (output in $work/out, emptied first).
seconds_of() {
  rm -rf "$work/out" && mkdir -p "$work/out"
  local start end
  start=$(date +%s.%N)
  "$@" >"$work/last.log" 2>&1 || { echo "failed: $*" >&2; tail -5 "$work/last.log" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

# "ours theirs": the median seconds of the commands `ours` and `theirs` (shell functions), run
# alternately RUNS times each, so that a machine whose speed drifts slows both alike.
paired_medians() {
  local ours=() theirs=()
  for _ in $(seq "$RUNS"); do
    ours+=("$(seconds_of "$1")")
    theirs+=("$(seconds_of "$2")")
  done
  local middle=$(((RUNS + 1) / 2))
  echo "$(printf '%s\n' "${ours[@]}" | sort -g | sed -n "${middle}p")" \
    "$(printf '%s\n' "${theirs[@]}" | sort -g | sed -n "${middle}p")"
}

# One HLS output per rung: scaled video at the rung's bitrate, audio copied or AAC-encoded.
hls_out() { # name bitrate_kbps audio_args...
  local name=$1 kbps=$2
  shift 2
  echo -map "[$name]" -map 0:a -c:v libx264 -preset veryfast -profile:v main -b:v "${kbps}k" \
    -force_key_frames source -x264-params scenecut=0 "$@" \
    -f hls -hls_time 10 -hls_playlist_type event -hls_segment_filename "$work/out/$name/%d.ts" "$work/out/$name/playlist.m3u8"
}

echo "median of $RUNS runs, $(nproc) cores, x264 preset veryfast"
printf '%-24s %-34s %9s %12s\n' input job "wall s" "x real time"
for input in "${inputs[@]}"; do
  duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$input")
  height=$(ffprobe -v error -select_streams v:0 -show_entries stream=height -of csv=p=0 "$input")
  ours_ladder() { "$recorder" record "$input" --store "$work/out" --channel-type STANDARD; }
  if [ "$height" -gt 720 ]; then
    graph="[0:v]split=4[s1][s2][s3][s4];[s1]scale=1280:720[v720];[s2]scale=852:480[v480];[s3]scale=640:360[v360];[s4]scale=284:160[v160]"
    passthrough=(-map 0:v -map 0:a -c copy -f hls -hls_time 10 -hls_segment_filename "$work/out/src/%d.ts" "$work/out/src/playlist.m3u8")
  else
    graph="[0:v]split=4[s1][s2][s3][s4];[s1]scale=1280:720[v720];[s2]scale=852:480[v480];[s3]scale=640:360[v360];[s4]scale=284:160[v160]"
    passthrough=()
  fi
  # shellcheck disable=SC2046
  ffmpeg_ladder() {
    mkdir -p "$work/out/src" "$work/out/v720" "$work/out/v480" "$work/out/v360" "$work/out/v160"
    ffmpeg -y -i "$input" -filter_complex "$graph" \
      "${passthrough[@]}" \
      $(hls_out v720 2400 -c:a copy) $(hls_out v480 1400 -c:a copy) \
      $(hls_out v360 630 -c:a aac -b:a 64k) $(hls_out v160 230 -c:a aac -b:a 48k)
  }
  read -r ours theirs < <(paired_medians ours_ladder ffmpeg_ladder)
  printf '%-24s %-34s %9.3f %12.1f\n' "$(basename "$input")" "ivs-recorder STANDARD ladder" "$ours" "$(echo "$duration / $ours" | bc -l)"
  printf '%-24s %-34s %9.3f %12.1f\n' "" "ffmpeg CLI ladder" "$theirs" "$(echo "$duration / $theirs" | bc -l)"
  printf '%-24s %-34s %9.2fx\n' "" "ratio ffmpeg / ivs-recorder" "$(echo "$theirs / $ours" | bc -l)"

  config=$work/basic.json
  echo '{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"thumbnailConfiguration":{"recordingMode":"DISABLED"}}' >"$config"
  ours_copy() { "$recorder" record "$input" --store "$work/out" --channel-type BASIC --config "$config"; }
  ffmpeg_copy() {
    ffmpeg -y -i "$input" -c copy -f hls -hls_time 10 -hls_segment_filename "$work/out/%d.ts" "$work/out/playlist.m3u8"
  }
  read -r ours theirs < <(paired_medians ours_copy ffmpeg_copy)
  printf '%-24s %-34s %9.3f %12.1f\n' "" "ivs-recorder BASIC transmux" "$ours" "$(echo "$duration / $ours" | bc -l)"
  printf '%-24s %-34s %9.3f %12.1f\n' "" "ffmpeg -c copy -f hls" "$theirs" "$(echo "$duration / $theirs" | bc -l)"
  printf '%-24s %-34s %9.2fx\n' "" "ratio ffmpeg / ivs-recorder" "$(echo "$theirs / $ours" | bc -l)"
done
