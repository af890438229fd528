#!/usr/bin/env bash
# Publish-to-receive latency of hang video frames through moqc-relay (docs/media.md): ffmpeg
# encodes a live test pattern (-re, H.264 + AAC, no B-frames, 1 s GOP) into
# `moqc publish --format fmp4`; `moqc subscribe --format fmp4` writes the MP4 to /dev/null.
# Both log each video frame with --latency-log: the publisher when the frame is read from
# stdin (demuxed), the subscriber when it has the frame (before MP4 fragmenting). Frames are
# matched by timestamp; prints count, p50, p99 and max in ms.
#   bench/media_latency.sh [SECONDS] [SIZE]      (default 20 s, 1280x720)
# Env: BUILD_DIR (default build/release).
set -euo pipefail
secs=${1:-20}
size=${2:-1280x720}
root=$(cd "$(dirname "$0")/.." && pwd)
b=${BUILD_DIR:-$root/build/release}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

"$b/moqc-relay" --bind 127.0.0.1:0 >"$tmp/relay.out" 2>"$tmp/relay.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^ready' "$tmp/relay.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^quic: .*:\([0-9]*\) .*/\1/p' "$tmp/relay.out")
fp=$(sed -n 's/^certificate sha256: \([0-9a-f]*\)$/\1/p' "$tmp/relay.out")
url=https://127.0.0.1:$port/bench

"$b/moqc" --tls-fingerprint "$fp" subscribe --url "$url" --broadcast lat.hang --format fmp4 \
  --wait 30s --latency-log "$tmp/sub.log" >/dev/null 2>"$tmp/sub.err" &
pids+=($!)
sleep 0.5
ffmpeg -hide_banner -loglevel error -re -f lavfi -i "testsrc=size=$size:rate=30" \
  -f lavfi -i sine=frequency=440:sample_rate=48000 -t "$secs" -c:v libx264 -preset veryfast \
  -tune zerolatency -g 30 -bf 0 -pix_fmt yuv420p -c:a aac -f mp4 \
  -movflags cmaf+frag_keyframe+empty_moov+default_base_moof - |
  "$b/moqc" --tls-fingerprint "$fp" publish --url "$url" --broadcast lat.hang --format fmp4 \
    --latency-log "$tmp/pub.log" 2>"$tmp/pub.err"
sleep 1
python3 - "$tmp/pub.log" "$tmp/sub.log" "$size" <<'PY'
import sys
pub = {}
for line in open(sys.argv[1]):
    ts, ns = line.split(); pub.setdefault(int(ts), int(ns))
lat = sorted((int(ns) - pub[int(ts)]) / 1e6 for ts, ns in (l.split() for l in open(sys.argv[2])) if int(ts) in pub)
if not lat: sys.exit("no frames matched")
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"video {sys.argv[3]}: {len(lat)} of {len(pub)} frames  p50 {q(0.5):.2f} ms  p99 {q(0.99):.2f} ms  max {lat[-1]:.2f} ms")
PY
