#!/usr/bin/env bash
# Generates the bundled sample clips with the ffmpeg CLI. Run from anywhere; writes next to itself.
#
# Every clip carries its frame index in the picture: a band across the top, one tenth of the
# height, split into 12 equal cells, most significant bit on the left; a white cell is a 1.
# Tests read it back from thumbnails and segments to know exactly which frame they show.
#
# Clips (H.264 High with B-frames + AAC stereo 48 kHz, 30 fps):
#   1080p30-gop2s.mp4   1920x1080, 12 s, keyframe every 2 s  (the main sample)
#   720p30-gop2s.mp4    1280x720,  12 s, keyframe every 2 s
#   480p30-gop10s.mp4    854x480,  22 s, keyframe every 10 s
set -euo pipefail
cd "$(dirname "$0")"

BITS=12

make_clip() {
  local name=$1 width=$2 height=$3 seconds=$4 gop_frames=$5 bitrate=$6
  local band=$((height / 10))
  # The barcode: a BITS x 1 picture whose pixel X is bit (BITS-1-X) of the frame number N,
  # scaled up without interpolation to a full-width band and laid over a moving test pattern.
  local barcode="color=c=black:s=${BITS}x1:r=30:d=${seconds},format=yuv444p,geq=lum='255*mod(floor(N/pow(2,${BITS}-1-X)),2)':cb=128:cr=128,scale=${width}x${band}:flags=neighbor"
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=s=${width}x${height}:r=30:d=${seconds}" \
    -f lavfi -i "${barcode}" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=${seconds}" \
    -filter_complex "[0:v][1:v]overlay=0:0:shortest=1,format=yuv420p[v]" \
    -map "[v]" -map 2:a \
    -c:v libx264 -preset medium -profile:v high -b:v "${bitrate}" -maxrate "${bitrate}" -bufsize "${bitrate}" \
    -g "${gop_frames}" -keyint_min "${gop_frames}" -sc_threshold 0 \
    -c:a aac -b:a 96k -ac 2 \
    -movflags +faststart \
    "${name}"
}

make_clip 1080p30-gop2s.mp4 1920 1080 12 60 2000k
make_clip 720p30-gop2s.mp4 1280 720 12 60 1000k
make_clip 480p30-gop10s.mp4 854 480 22 300 400k
ls -l ./*.mp4
