#!/usr/bin/env bash
# <moq-publish> from @moq/publish (pinned in package.json) in headless Chromium with a fake
# camera and microphone (--use-fake-device-for-media-stream) publishes a hang broadcast through
# moqc-relay; `moqc subscribe --format fmp4 --count 60` records it and ffprobe reads the file:
# an H.264 (or other browser codec) video stream of the fake camera's size, an audio stream,
# 60 video frames, increasing timestamps. This exercises the browser's catalog (renditions
# added one after the other, H.264 with its parameter sets in band) and the library's hang
# consumer (moqc_hang_catalog_consumer) on a catalog written by the JS.
# Frame by frame: the page records every WebCodecs encoder chunk (publish.mjs --record) and
# moqc logs the catalog it decoded and every frame it received (--frame-log);
# hang_check_publish.mjs checks that each rendition's codec/size/rate is its encoder's
# configuration and that the received frames are consecutive chunks of that encoder (timestamp,
# size, SHA-256, a group per key chunk).
. "$(dirname "$0")/lib.sh"
interop_require
. "$(dirname "$0")/../integration/lib.sh"
command -v ffprobe >/dev/null || { echo "skip: no ffprobe"; exit 77; }
it_init
it_relay_start

it_bg sub "${MOQC[@]}" subscribe --url "$(it_url anon)" --broadcast cam.hang --format fmp4 \
  --wait 60s --count 60 --log-level info --frame-log "$IT_TMP/frames.log"
it_bg page node "$INTEROP_DIR/publish.mjs" --url "http://127.0.0.1:$HTTP_PORT/anon" \
  --broadcast cam.hang --seconds 20 --record "$IT_TMP/encoded.json"
it_wait sub 90 || it_fail "moqc subscribe exited $?: $(cat "$IT_TMP/sub.err")"
it_wait page 60 || it_fail "publish.mjs exited $?: $(cat "$IT_TMP/page.out" "$IT_TMP/page.err" | tail -5)"
res=$(node "$INTEROP_DIR/hang_check_publish.mjs" "$IT_TMP/frames.log" "$IT_TMP/encoded.json" --min-video 60)
rc=$?
it_log "frames: $res"
[ "$rc" = 0 ] || it_fail "what moqc received is not what the browser encoded: $res"
out=$IT_TMP/sub.out
streams=$(ffprobe -v error -show_entries stream=codec_type,codec_name,width,height -of csv=p=0 "$out") ||
  it_fail "ffprobe cannot read the recording"
it_log "recorded: $(echo $streams)"
echo "$streams" | grep -qE '^(h264|vp8|vp9|av1|hevc),video,[0-9]+,[0-9]+$' || it_fail "no video stream: $streams"
echo "$streams" | grep -qE '^(opus|aac),audio' || it_fail "no audio stream: $streams"
n=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$out")
[ "$n" = 60 ] || it_fail "$n video frames recorded, expected 60"
ffprobe -v error -show_entries packet=stream_index,pts -of csv=p=0 "$out" |
  awk -F, '{ if (($1 in l) && $2 <= l[$1]) exit 1; l[$1] = $2 }' || it_fail "timestamps not increasing"
it_relay_stop
echo "PASS test_browser_publish"
