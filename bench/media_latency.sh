#!/usr/bin/env bash
# Publish-to-receive latency of hang video frames through moqc-relay (docs/media.md): ffmpeg
# encodes a live test pattern (-re, H.264 + AAC, no B-frames, 1 s GOP) into
# `moqc publish --format fmp4`; `moqc subscribe --format fmp4` writes the MP4 to /dev/null.
# Both log each video frame with --latency-log: the publisher when the frame is read from
# stdin (demuxed), the subscriber when it has the frame (before MP4 fragmenting). Frames are
# matched by timestamp; prints count, p50, p99 and max in ms.
# Second line, "fragments": the subscriber's stdout is read by a box parser that stamps each
# complete moof+mdat. The muxer closes a fragment when the next keyframe comes, so a fragment's
# latency runs from the publisher reading that next keyframe to the fragment reaching the pipe
# (the last fragment, closed by the end, is not counted). The relay hop plus muxing, or one GOP
# more if the subscriber holds a fragment back. The input's own fragments arrive a GOP at a time
# (ffmpeg's frag_keyframe), so the time from a fragment's last frame is about a GOP whatever
# moqc does.
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

cat >"$tmp/frag.py" <<'PY'
# stdin: fragmented MP4. stdout: "<first video dts> <last video dts> <timescale> <wall ns>"
# per fragment (video = track 1), stamped when its mdat is complete.
import struct, sys, time
def boxes(b, off, end):
    while off + 8 <= end:
        size, typ = struct.unpack(">I4s", b[off:off + 8])
        hdr = 8
        if size == 1: size, hdr = struct.unpack(">Q", b[off + 8:off + 16])[0], 16
        if size < hdr or off + size > end: return
        yield typ.decode("latin1"), off + hdr, off + size
        off += size
timescale, frag, buf = {}, None, b""
src = sys.stdin.buffer
while True:
    chunk = src.read1(65536)
    if not chunk: break
    buf += chunk
    while len(buf) >= 8:
        size, typ = struct.unpack(">I4s", buf[:8])
        if size == 1 and len(buf) >= 16: size = struct.unpack(">Q", buf[8:16])[0]
        if size < 8 or len(buf) < size: break
        box, buf = buf[:size], buf[size:]
        typ = typ.decode("latin1")
        if typ == "moov":
            for t, a, e in boxes(box, 8, size):
                if t != "trak": continue
                tid = ts = None
                for t2, a2, e2 in boxes(box, a, e):
                    if t2 == "tkhd": tid = struct.unpack(">I", box[a2 + (20 if box[a2] == 1 else 12):][:4])[0]
                    if t2 == "mdia":
                        for t3, a3, e3 in boxes(box, a2, e2):
                            if t3 == "mdhd": ts = struct.unpack(">I", box[a3 + (20 if box[a3] == 1 else 12):][:4])[0]
                timescale[tid] = ts
        elif typ == "moof":
            frag = None
            for t, a, e in boxes(box, 8, size):
                if t != "traf": continue
                tid = base = None; durs = []; ddur = 0
                for t2, a2, e2 in boxes(box, a, e):
                    fl = int.from_bytes(box[a2 + 1:a2 + 4], "big")
                    if t2 == "tfhd":
                        tid = struct.unpack(">I", box[a2 + 4:a2 + 8])[0]
                        o = a2 + 8 + (8 if fl & 1 else 0) + (4 if fl & 2 else 0)
                        if fl & 8: ddur = struct.unpack(">I", box[o:o + 4])[0]
                    elif t2 == "tfdt":
                        base = struct.unpack(">Q", box[a2 + 4:a2 + 12])[0] if box[a2] == 1 else struct.unpack(">I", box[a2 + 4:a2 + 8])[0]
                    elif t2 == "trun":
                        n = struct.unpack(">I", box[a2 + 4:a2 + 8])[0]
                        o = a2 + 8 + (4 if fl & 1 else 0) + (4 if fl & 4 else 0)
                        per = sum(4 for f in (0x100, 0x200, 0x400, 0x800) if fl & f)
                        for i in range(n):
                            durs.append(struct.unpack(">I", box[o:o + 4])[0] if fl & 0x100 else ddur)
                            o += per
                if tid == 1 and base is not None and durs: frag = (base, base + sum(durs[:-1]))
        elif typ == "mdat" and frag:
            print(frag[0], frag[1], timescale.get(1), time.clock_gettime_ns(time.CLOCK_REALTIME), flush=True)
            frag = None
PY
"$b/moqc" --tls-fingerprint "$fp" subscribe --url "$url" --broadcast lat.hang --format fmp4 \
  --wait 30s --latency-log "$tmp/sub.log" 2>"$tmp/sub.err" | python3 "$tmp/frag.py" >"$tmp/frag.log" &
pids+=($!)
sleep 0.5
ffmpeg -hide_banner -loglevel error -re -f lavfi -i "testsrc=size=$size:rate=30" \
  -f lavfi -i sine=frequency=440:sample_rate=48000 -t "$secs" -c:v libx264 -preset veryfast \
  -tune zerolatency -g 30 -bf 0 -pix_fmt yuv420p -c:a aac -f mp4 \
  -movflags cmaf+frag_keyframe+empty_moov+default_base_moof - |
  "$b/moqc" --tls-fingerprint "$fp" publish --url "$url" --broadcast lat.hang --format fmp4 \
    --latency-log "$tmp/pub.log" 2>"$tmp/pub.err"
sleep 1
python3 - "$tmp/pub.log" "$tmp/sub.log" "$size" "$tmp/frag.log" <<'PY'
import sys
pub = {}
for line in open(sys.argv[1]):
    ts, ns = line.split(); pub.setdefault(int(ts), int(ns))
sub = [tuple(map(int, l.split())) for l in open(sys.argv[2])]
lat = sorted((ns - pub[ts]) / 1e6 for ts, ns in sub if ts in pub)
if not lat: sys.exit("no frames matched")
q = lambda v, p: v[min(len(v) - 1, int(p * len(v)))]
print(f"video {sys.argv[3]}: {len(lat)} of {len(pub)} frames  p50 {q(lat, 0.5):.2f} ms  p99 {q(lat, 0.99):.2f} ms  max {lat[-1]:.2f} ms")
# Fragments: the output's timestamps start at the subscriber's first frame (a keyframe).
base = sub[0][0]
pts = sorted(pub)
frags = [tuple(map(int, l.split())) for l in open(sys.argv[4])]
fl = []
for (first, last, scale, ns), nxt in zip(frags, frags[1:]):
    want = base + nxt[0] * 1000000 // scale  # the keyframe that closed this fragment
    ts = min(pts, key=lambda t: abs(t - want))  # the muxer's timescale rounds
    if abs(ts - want) < 1000: fl.append((ns - pub[ts]) / 1e6)
fl.sort()
if fl: print(f"fragments: {len(fl)}  p50 {q(fl, 0.5):.2f} ms  p99 {q(fl, 0.99):.2f} ms  max {fl[-1]:.2f} ms (next keyframe read -> fragment on stdout)")
PY
