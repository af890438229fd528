#!/usr/bin/env bash
# <moq-watch> from @moq/watch (pinned in package.json) plays a hang broadcast published by moqc:
# ffmpeg (VP9 + Opus test pattern and tone, -re) -> `moqc publish --format fmp4` -> moqc-relay
# -> headless Chromium with <moq-watch url=http://127.0.0.1:PORT/anon name=watch.hang>
# (tests/interop/watch.mjs). Checks that the canvas takes the video's size and that its pixels
# change over time (video frames rendered), and that an AudioContext runs (the audio path).
# The last screenshot is kept as $MOQC_BUILD_DIR/watch.png (docs/media-watch.png is one).
. "$(dirname "$0")/lib.sh"
interop_require
. "$(dirname "$0")/../integration/lib.sh"
command -v ffmpeg >/dev/null || { echo "skip: no ffmpeg"; exit 77; }
it_init
it_relay_start

mkfifo "$IT_TMP/live.fifo" || it_fail "mkfifo"
it_bg ffmpeg ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc=size=320x240:rate=30 \
  -f lavfi -i sine=frequency=440:sample_rate=48000 -t 60 -c:v libvpx-vp9 -deadline realtime \
  -g 30 -pix_fmt yuv420p -c:a libopus -f mp4 \
  -movflags cmaf+frag_keyframe+empty_moov+default_base_moof -y "$IT_TMP/live.fifo"
IT_STDIN=$IT_TMP/live.fifo it_bg pub "${MOQC[@]}" publish --url "$(it_url anon)" \
  --broadcast watch.hang --format fmp4
sleep 1
shot=${MOQC_BUILD_DIR:-$IT_BUILD}/watch.png
res=$(node "$INTEROP_DIR/watch.mjs" --url "http://127.0.0.1:$HTTP_PORT/anon" --broadcast watch.hang \
  --timeout 60 --screenshot "$shot" 2>"$IT_TMP/watch.err")
rc=$?
it_log "watch: $res"
[ "$rc" = 0 ] || it_fail "<moq-watch> did not render: $res $(tail -5 "$IT_TMP/watch.err")"
[ "$(interop_field "$res" width)" = 320 ] && [ "$(interop_field "$res" height)" = 240 ] ||
  it_fail "canvas size is not the video's 320x240: $res"
[ "$(interop_field "$res" audio)" -ge 1 ] || it_fail "no AudioContext ran: $res"
kill "$(it_pid ffmpeg)" 2>/dev/null
it_wait pub 20 >/dev/null
it_relay_stop
echo "PASS test_watch"
