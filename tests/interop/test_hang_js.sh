#!/usr/bin/env bash
# The JS @moq/hang consumer (pinned in package.json) reads hang broadcasts that moqc publishes
# through moqc-relay, and what it reads matches the input (docs/media.md):
#   ffmpeg test pattern + tone -> a file -> `moqc publish --format fmp4 --wait-subscriber
#   --realtime` (paced as a live encoder: the JS consumer starts at the first group that
#   arrives and drops older ones, so a file published in one burst loses groups that race) ->
#   moqc-relay -> Node.js + @moq/net over WebSocket + @moq/hang (tests/interop/src/hang_consume.js,
#   bundled to dist/hang_consume.mjs).
# For H.264 with B-frames + AAC, and VP9 + Opus: catalog.json and catalog.json.z decode to the
# same catalog, whose fields (codec, description, codedWidth/Height, framerate, jitter,
# sampleRate, numberOfChannels, container) agree with ffprobe's view of the input; every frame
# (count, order, timestamp, keyframe flag, payload SHA-256 and size) agrees with ffprobe's
# packets (-show_data_hash). ffprobe is an independent reader of the very file moqc read.
. "$(dirname "$0")/lib.sh"
interop_require
. "$(dirname "$0")/../integration/lib.sh"
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { echo "skip: no ffmpeg/ffprobe"; exit 77; }
[ -f "$INTEROP_DIR/dist/hang_consume.mjs" ] || it_fail "no dist/hang_consume.mjs (tests/interop/install.sh)"
it_init
it_relay_start

FRAG=(-f mp4 -movflags cmaf+frag_keyframe+empty_moov+default_base_moof)
SRC=(-f lavfi -i "testsrc=size=320x240:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000")
ffmpeg -hide_banner -loglevel error "${SRC[@]}" -t 3 -c:v libx264 -g 30 -pix_fmt yuv420p \
  -c:a aac "${FRAG[@]}" "$IT_TMP/h264.mp4" || it_fail "ffmpeg (h264)"
ffmpeg -hide_banner -loglevel error "${SRC[@]}" -t 3 -c:v libvpx-vp9 -deadline realtime -g 30 \
  -pix_fmt yuv420p -c:a libopus "${FRAG[@]}" "$IT_TMP/vp9.mp4" || it_fail "ffmpeg (vp9)"

for name in h264 vp9; do
  in=$IT_TMP/$name.mp4
  ffprobe -v error -show_streams -show_packets -show_data_hash SHA256 -of json "$in" \
    >"$IT_TMP/$name.probe.json" || it_fail "ffprobe $name"
  IT_STDIN=$in it_bg "pub-$name" "${MOQC[@]}" publish --url "$(it_url)" --broadcast "$name.hang" \
    --format fmp4 --wait-subscriber=30s --realtime
  it_bg "js-$name" node --experimental-websocket "$INTEROP_DIR/dist/hang_consume.mjs" \
    --url "http://127.0.0.1:$HTTP_PORT/" --broadcast "$name.hang" \
    --probe "$IT_TMP/$name.probe.json" --out "$IT_TMP/$name.got.json" --timeout 60
  it_wait "js-$name" 90
  rc=$?
  res=$(grep '^{"ok"' "$IT_TMP/js-$name.out" | tail -1)
  it_log "$name: $res"
  [ "$rc" = 0 ] || it_fail "$name: the @moq/hang consumer disagrees with ffprobe (exit $rc): $res $(tail -3 "$IT_TMP/js-$name.err")"
  [ "$(interop_field "$res" ok)" = true ] || it_fail "$name: $res"
  it_wait "pub-$name" 30 || it_fail "$name: publisher exited $?: $(cat "$IT_TMP/pub-$name.err")"
done
# The B-frame input really has reordered frames (so the H.264 case covers them).
node -e '
  const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
  const ts = d.tracks.video0.map((f) => f.ts);
  process.exit(ts.some((t, i) => i && t < ts[i - 1]) ? 0 : 1);
' "$IT_TMP/h264.got.json" || it_fail "h264: no reordered frame reached the JS consumer"
it_relay_stop
echo "PASS test_hang_js"
