#!/usr/bin/env bash
# <moq-watch> from @moq/watch (pinned in package.json) plays a hang broadcast published by moqc:
# ffmpeg (VP9 + Opus test pattern and tone, -re) -> `moqc publish --format fmp4` -> moqc-relay
# -> headless Chromium with <moq-watch url=http://127.0.0.1:PORT/anon name=watch.hang>
# (tests/interop/watch.mjs). Checks that the canvas takes the video's size and that its pixels
# change over time (video frames rendered), and that audio is decoded: the element's
# AudioDecoder (wrapped by the page) outputs at least 0.5 s of 48 kHz audio whose channel 0 is
# the 440 Hz tone (RMS and zero-crossing frequency), and an AudioContext runs. Then the same
# with <moq-watch catalog-format="hangz">: the element reads catalog.json.z (DEFLATE) instead.
# The last screenshot is kept as $MOQC_BUILD_DIR/watch.png (docs/media-watch.png is one).
. "$(dirname "$0")/lib.sh"
interop_require
. "$(dirname "$0")/../integration/lib.sh"
command -v ffmpeg >/dev/null || { echo "skip: no ffmpeg"; exit 77; }
it_init
it_relay_start

mkfifo "$IT_TMP/live.fifo" || it_fail "mkfifo"
it_bg ffmpeg ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc=size=320x240:rate=30 \
  -f lavfi -i sine=frequency=440:sample_rate=48000 -t 150 -c:v libvpx-vp9 -deadline realtime \
  -g 30 -pix_fmt yuv420p -c:a libopus -f mp4 \
  -movflags cmaf+frag_keyframe+empty_moov+default_base_moof -y "$IT_TMP/live.fifo"
IT_STDIN=$IT_TMP/live.fifo it_bg pub "${MOQC[@]}" publish --url "$(it_url anon)" \
  --broadcast watch.hang --format fmp4
sleep 1
shot=${MOQC_BUILD_DIR:-$IT_BUILD}/watch.png
res=$(node "$INTEROP_DIR/watch.mjs" --url "http://127.0.0.1:$HTTP_PORT/anon" --broadcast watch.hang \
  --timeout 60 --screenshot "$shot" --audio-seconds 0.5 2>"$IT_TMP/watch.err")
rc=$?
it_log "watch: $res"
[ "$rc" = 0 ] || it_fail "<moq-watch> did not render: $res $(tail -5 "$IT_TMP/watch.err")"
[ "$(interop_field "$res" width)" = 320 ] && [ "$(interop_field "$res" height)" = 240 ] ||
  it_fail "canvas size is not the video's 320x240: $res"
[ "$(interop_field "$res" audio)" -ge 1 ] || it_fail "no AudioContext ran: $res"
node -e '
  const d = JSON.parse(process.argv[1]).decoded;
  const bad = [];
  if (!(d.seconds >= 0.5)) bad.push(`${d.seconds} s of audio decoded, expected >= 0.5`);
  if (d.rate !== 48000) bad.push(`sample rate ${d.rate}`);
  if (!(d.rms > 0.05)) bad.push(`rms ${d.rms}: silence`);
  if (!(Math.abs(d.hz - 440) < 20)) bad.push(`tone at ${d.hz} Hz, expected 440`);
  if (bad.length) { console.log(bad.join("; ")); process.exit(1); }
' "$res" >"$IT_TMP/audio.check" || it_fail "audio not decoded: $(cat "$IT_TMP/audio.check"): $res"
it_log "audio decoded: $(interop_field "$res" decoded)"
# catalog.json.z: <moq-watch catalog-format="hangz"> plays from the compressed catalog.
resz=$(node "$INTEROP_DIR/watch.mjs" --url "http://127.0.0.1:$HTTP_PORT/anon" --broadcast watch.hang \
  --timeout 40 --catalog-format hangz --changes 2 2>"$IT_TMP/watchz.err")
rc=$?
it_log "watch hangz: $resz"
[ "$rc" = 0 ] && [ "$(interop_field "$resz" width)" = 320 ] ||
  it_fail "<moq-watch catalog-format=hangz> did not render: $resz $(tail -5 "$IT_TMP/watchz.err")"
kill "$(it_pid ffmpeg)" 2>/dev/null
it_wait pub 20 >/dev/null
it_relay_stop
echo "PASS test_watch"
