#!/usr/bin/env bash
# Issue 17 finding 5 for `moqc subscribe --format fmp4` (docs/media.md): a
# hang publisher restarted before the relay noticed the old one was gone
# (SIGKILL: the relay holds its session until the idle timeout) replaces the
# broadcast. The fMP4 subscriber used to stop there; now it follows the
# broadcast to the new publisher in the same MP4 (one init segment, the new
# source's timestamps continuing the old ones), and exits 0 when the new
# publisher finishes: the output holds video from both publishers (more
# frames than one publisher sent), its timestamps increase, and ffmpeg reads
# it through a pipe and decodes it without an error. A replacement whose
# tracks differ (VP9 after H.264) cannot continue the MP4: the subscriber
# finishes it (still readable) and exits 1 saying why. Default relay flags.
. "$(dirname "$0")/lib.sh"
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { echo "skip: no ffmpeg/ffprobe"; exit 77; }
it_init
it_relay_start

GOP=30
FRAG=(-f mp4 -movflags cmaf+frag_keyframe+empty_moov+default_base_moof)
SRC=(-f lavfi -i "testsrc=size=320x240:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000")
vframes() {
  ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
    -of csv=p=0 "$1"
}
# video frames the subscriber received so far (its --frame-log)
vcount() {
  local n
  n=$(grep -c '^frame video0 ' "$1" 2>/dev/null)
  echo "${n:-0}"
}
monotonic() {
  ffprobe -v error -show_entries packet=stream_index,dts -of csv=p=0 "$1" |
    awk -F, '{ if (($1 in last) && $2 <= last[$1]) { bad = 1; print "stream " $1 ": dts " $2 " after " last[$1] }
              last[$1] = $2 } END { exit bad }'
}
ffmpeg -hide_banner -loglevel error "${SRC[@]}" -t 4 -c:v libx264 -g $GOP -bf 0 \
  -pix_fmt yuv420p -c:a aac "${FRAG[@]}" "$IT_TMP/h264.mp4" || it_fail "ffmpeg (h264 input)"
ffmpeg -hide_banner -loglevel error "${SRC[@]}" -t 2 -c:v libvpx-vp9 -deadline realtime -g $GOP \
  -pix_fmt yuv420p -c:a libopus "${FRAG[@]}" "$IT_TMP/vp9.mp4" || it_fail "ffmpeg (vp9 input)"
vin=$(vframes "$IT_TMP/h264.mp4")

# publisher 1 live (-re) from a FIFO, killed mid-way; publisher 2 publishes the whole file.
live_pub() { # NAME BROADCAST FILE
  mkfifo "$IT_TMP/$1.fifo" || it_fail "mkfifo"
  it_bg "$1-ff" ffmpeg -hide_banner -loglevel error -re -i "$3" -c copy "${FRAG[@]}" -y \
    "$IT_TMP/$1.fifo"
  # raw QUIC: over the WebSocket fallback (which a loaded machine can pick
  # for https://) a SIGKILL closes the TCP connection at once, and the relay
  # sees the publisher gone instead of replaced
  IT_STDIN=$IT_TMP/$1.fifo it_bg "$1" "${MOQC[@]}" publish --url "moqt://127.0.0.1:$RELAY_PORT/" \
    --broadcast "$2" --format fmp4
}

# ---- 1. the same tracks: followed in the same MP4 ----
it_bg sub "${MOQC[@]}" --log-level info subscribe --url "$(it_url)" --broadcast r.hang \
  --format fmp4 --wait 30s --frame-log "$IT_TMP/sub.frames"
sleep 0.3
live_pub p1 r.hang "$IT_TMP/h264.mp4"
i=0
until [ "$(vcount "$IT_TMP/sub.frames")" -ge 40 ]; do
  i=$((i + 1))
  [ "$i" -gt 600 ] && it_fail "publisher 1: 40 video frames not received in 30 s"
  sleep 0.05
done
kill -KILL "$(it_pid p1)" "$(it_pid p1-ff)" 2>/dev/null
n1=$(vcount "$IT_TMP/sub.frames")
it_log "publisher 1 killed after $n1 video frames received; publisher 2 starts"
live_pub p2 r.hang "$IT_TMP/h264.mp4"
it_wait p2 60 || it_fail "publisher 2 exited $?: $(cat "$IT_TMP/p2.err")"
it_wait sub 30
rc=$?
[ "$rc" = 0 ] || it_fail "subscriber exited $rc after publisher 2 finished (want 0): $(tail -3 "$IT_TMP/sub.err")"
grep -q "following its new source in the same MP4" "$IT_TMP/sub.err" ||
  it_fail "the subscriber never said it followed the broadcast: $(tail -3 "$IT_TMP/sub.err")"
out=$IT_TMP/sub.out
vo=$(vframes "$out")
[ -n "$vo" ] && [ "$vo" -ge $((n1 + vin - 2 * GOP)) ] ||
  it_fail "the MP4 has ${vo:-no} video frames: publisher 1 gave $n1, publisher 2 up to $vin"
[ "$(grep -aoU ftyp "$out" | wc -l)" = 1 ] || it_fail "more than one init segment in the MP4"
monotonic "$out" >"$IT_TMP/mono" || it_fail "timestamps not monotonic: $(head -3 "$IT_TMP/mono")"
# A player reads it from a pipe.
derr=$(ffmpeg -hide_banner -v error -f mp4 -i pipe:0 -f null - <"$out" 2>&1)
[ -z "$derr" ] || it_fail "ffmpeg cannot decode the followed MP4 from a pipe: $(head -3 <<<"$derr")"
it_log "followed: $vo video frames ($n1 from publisher 1), one init segment, decodes from a pipe"

# ---- 2. other tracks: the MP4 is finished, exit 1 with the reason ----
it_bg sub2 "${MOQC[@]}" --log-level info subscribe --url "$(it_url)" --broadcast v.hang \
  --format fmp4 --wait 30s --frame-log "$IT_TMP/sub2.frames"
sleep 0.3
live_pub q1 v.hang "$IT_TMP/h264.mp4"
i=0
until [ "$(vcount "$IT_TMP/sub2.frames")" -ge 40 ]; do
  i=$((i + 1))
  [ "$i" -gt 600 ] && it_fail "case 2: 40 video frames not received in 30 s"
  sleep 0.05
done
kill -KILL "$(it_pid q1)" "$(it_pid q1-ff)" 2>/dev/null
live_pub q2 v.hang "$IT_TMP/vp9.mp4"
it_wait sub2 30
rc=$?
[ "$rc" = 1 ] || it_fail "case 2: subscriber exited $rc (want 1): $(tail -3 "$IT_TMP/sub2.err")"
grep -q "replaced by a source whose track video0 has other codec parameters" "$IT_TMP/sub2.err" ||
  it_fail "case 2: no clear message: $(tail -3 "$IT_TMP/sub2.err")"
v2=$(vframes "$IT_TMP/sub2.out")
[ -n "$v2" ] && [ "$v2" -ge 30 ] || it_fail "case 2: the finished MP4 is not readable (${v2:-no} frames)"
it_wait q2 60 >/dev/null
it_log "other tracks: exit 1, the MP4 finished with $v2 video frames"
it_clients_clean
it_relay_stop
it_done
