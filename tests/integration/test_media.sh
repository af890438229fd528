#!/usr/bin/env bash
# hang media end to end (docs/media.md): ffmpeg test pattern + tone ->
# `moqc publish --format fmp4` -> moqc-relay -> `moqc subscribe --format fmp4`
# -> ffprobe. For H.264 + AAC (ffmpeg piping live into moqc, -re), VP9 +
# Opus (a file, --wait-subscriber) and H.264 with B-frames + AAC (a file): the
# output has the same codecs and resolution, the video frame count is within
# one GOP of the input's, and the timestamps of every stream increase; with
# B-frames every frame's pts (decode order) matches the input's, dts increases
# and stays <= pts, and ffmpeg decodes the output without an error. Then bad input (truncated, garbage, no
# init segment, an unsupported codec, timestamps going backwards, a catalog
# that is not JSON): a clear message and exit 1 each, and the relay is
# unaffected (a lines publish/subscribe still works, it stops cleanly).
. "$(dirname "$0")/lib.sh"
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { echo "skip: no ffmpeg/ffprobe"; exit 77; }
it_init
"$MOQC_BIN" --help | grep -q -- '--format' || it_fail "moqc has no --format"
it_relay_start

GOP=30
FRAG=(-f mp4 -movflags cmaf+frag_keyframe+empty_moov+default_base_moof)
SRC=(-f lavfi -i "testsrc=size=320x240:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000")

# probe FILE -> "codec,width,height" lines per stream and the video frame count.
streams() { ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 "$1" | sort; }
vframes() {
  ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
    -of csv=p=0 "$1"
}
# Every stream's packet timestamps strictly increase: dts (in decode order; without B-frames
# the same as pts; with them, their pts are checked against the input's below).
monotonic() {
  ffprobe -v error -show_entries packet=stream_index,dts -of csv=p=0 "$1" |
    awk -F, '{ if (($1 in last) && $2 <= last[$1]) { bad = 1; print "stream " $1 ": dts " $2 " after " last[$1] }
              last[$1] = $2 } END { exit bad }'
}

check_output() { # NAME INPUT OUTPUT
  local name=$1 in=$2 out=$3
  [ -s "$out" ] || it_fail "$name: empty output"
  local si so vi vo
  si=$(streams "$in")
  so=$(streams "$out") || it_fail "$name: ffprobe cannot read the output"
  [ "$si" = "$so" ] || it_fail "$name: streams differ: input [$si] output [$so]"
  vi=$(vframes "$in")
  vo=$(vframes "$out")
  [ -n "$vo" ] && [ $((vi - vo)) -le $GOP ] && [ $((vo - vi)) -le 0 ] ||
    it_fail "$name: $vo video frames out of $vi in (allowed: one GOP of $GOP fewer)"
  monotonic "$out" >"$IT_TMP/$name.mono" || it_fail "$name: timestamps not monotonic: $(head -3 "$IT_TMP/$name.mono")"
  it_log "$name: [$(echo $so)], $vo of $vi video frames"
}

# ---- 1. H.264 + AAC, ffmpeg piping live (-re) ----
ffmpeg -hide_banner -loglevel error "${SRC[@]}" -t 4 -c:v libx264 -g $GOP -bf 0 \
  -pix_fmt yuv420p -c:a aac "${FRAG[@]}" "$IT_TMP/h264.mp4" || it_fail "ffmpeg (h264 input)"
it_bg sub1 "${MOQC[@]}" subscribe --url "$(it_url)" --broadcast live.hang --format fmp4 --wait 30s
sleep 0.3
mkfifo "$IT_TMP/live.fifo" || it_fail "mkfifo"
it_bg ffre ffmpeg -hide_banner -loglevel error -re -i "$IT_TMP/h264.mp4" -c copy "${FRAG[@]}" -y \
  "$IT_TMP/live.fifo"
IT_STDIN=$IT_TMP/live.fifo it_bg pub1 "${MOQC[@]}" publish --url "$(it_url)" --broadcast live.hang \
  --format fmp4
it_wait ffre 60 || it_fail "ffmpeg -re exited $?: $(cat "$IT_TMP/ffre.err")"
it_wait pub1 60 || it_fail "publisher 1 exited $?: $(cat "$IT_TMP/pub1.err")"
it_wait sub1 30 || it_fail "subscriber 1 exited $?: $(cat "$IT_TMP/sub1.err")"
cp "$IT_TMP/sub1.out" "$IT_TMP/h264-out.mp4"
check_output h264 "$IT_TMP/h264.mp4" "$IT_TMP/h264-out.mp4"

# ---- 2. VP9 + Opus, a file, --wait-subscriber ----
ffmpeg -hide_banner -loglevel error "${SRC[@]}" -t 4 -c:v libvpx-vp9 -deadline realtime -g $GOP \
  -pix_fmt yuv420p -c:a libopus "${FRAG[@]}" "$IT_TMP/vp9.mp4" || it_fail "ffmpeg (vp9 input)"
it_bg sub2 "${MOQC[@]}" subscribe --url "$(it_url)" --broadcast file.hang --format fmp4 --wait 30s
IT_STDIN=$IT_TMP/vp9.mp4 it_bg pub2 "${MOQC[@]}" publish --url "$(it_url)" --broadcast file.hang \
  --format fmp4 --wait-subscriber=20s
it_wait pub2 60 || it_fail "publisher 2 exited $?: $(cat "$IT_TMP/pub2.err")"
it_wait sub2 30 || it_fail "subscriber 2 exited $?: $(cat "$IT_TMP/sub2.err")"
cp "$IT_TMP/sub2.out" "$IT_TMP/vp9-out.mp4"
check_output vp9 "$IT_TMP/vp9.mp4" "$IT_TMP/vp9-out.mp4"

# ---- 3. H.264 with B-frames (x264's default -bf 3, b-pyramid), AAC, a file ----
# The legacy container carries presentation timestamps in decode order: the output must
# have every frame, the same presentation timestamps (relative to the first), a strictly
# increasing dts, the frames still reordered (pts out of decode order), and decode cleanly.
ffmpeg -hide_banner -loglevel error "${SRC[@]}" -t 4 -c:v libx264 -g $GOP -pix_fmt yuv420p \
  -c:a aac "${FRAG[@]}" "$IT_TMP/bframes.mp4" || it_fail "ffmpeg (b-frames input)"
# "pts dts" of the video packets in decode order, relative to the first pts, in ms.
vts() {
  ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,dts_time -of csv=p=0 "$1" |
    awk -F, 'NR == 1 { p0 = $1 } { printf "%d %d\n", ($1 - p0) * 1000 + 0.5, ($2 - p0) * 1000 + 0.5 }'
}
vts "$IT_TMP/bframes.mp4" >"$IT_TMP/bframes.in.ts"
awk 'NR > 1 && $1 < last { r = 1 } { last = $1 } END { exit !r }' "$IT_TMP/bframes.in.ts" ||
  it_fail "b-frames: the input has no reordered frames (x264 default changed?)"
it_bg sub3 "${MOQC[@]}" subscribe --url "$(it_url)" --broadcast bframes.hang --format fmp4 --wait 30s
IT_STDIN=$IT_TMP/bframes.mp4 it_bg pub3 "${MOQC[@]}" publish --url "$(it_url)" \
  --broadcast bframes.hang --format fmp4 --wait-subscriber=20s
it_wait pub3 60 || it_fail "publisher 3 exited $?: $(cat "$IT_TMP/pub3.err")"
it_wait sub3 30 || it_fail "subscriber 3 exited $?: $(cat "$IT_TMP/sub3.err")"
cp "$IT_TMP/sub3.out" "$IT_TMP/bframes-out.mp4"
check_output bframes "$IT_TMP/bframes.mp4" "$IT_TMP/bframes-out.mp4"
vts "$IT_TMP/bframes-out.mp4" >"$IT_TMP/bframes.out.ts"
[ "$(cut -d' ' -f1 "$IT_TMP/bframes.in.ts")" = "$(cut -d' ' -f1 "$IT_TMP/bframes.out.ts")" ] ||
  it_fail "b-frames: presentation timestamps differ (ms, decode order): $(diff "$IT_TMP/bframes.in.ts" "$IT_TMP/bframes.out.ts" | head -5)"
awk 'NR > 1 && $2 <= last { print "dts " $2 " after " last; bad = 1 } { last = $2 }
     $2 > $1 { print "dts " $2 " after pts " $1; bad = 1 } END { exit bad }' \
  "$IT_TMP/bframes.out.ts" >"$IT_TMP/bframes.dts" || it_fail "b-frames: $(head -3 "$IT_TMP/bframes.dts")"
derr=$(ffmpeg -hide_banner -v error -i "$IT_TMP/bframes-out.mp4" -f null - 2>&1)
[ -z "$derr" ] || it_fail "b-frames: the output does not decode cleanly: $(head -3 <<<"$derr")"
it_log "bframes: $(wc -l <"$IT_TMP/bframes.out.ts") frames, pts in decode order as the input's"
# Interrupted mid-group: the video frames kept for their decode timestamps are written too
# (every frame the library handed over, per --frame-log, is in the MP4).
it_bg sub4 "${MOQC[@]}" subscribe --url "$(it_url)" --broadcast bint.hang --format fmp4 --wait 30s \
  --frame-log "$IT_TMP/bint.frames"
mkfifo "$IT_TMP/bint.fifo" || it_fail "mkfifo"
# A fragment per frame (frames flow one by one, not a GOP at a time).
it_bg ffre4 ffmpeg -hide_banner -loglevel error -re -i "$IT_TMP/bframes.mp4" -c copy -f mp4 \
  -movflags cmaf+frag_every_frame+empty_moov+default_base_moof -y "$IT_TMP/bint.fifo"
IT_STDIN=$IT_TMP/bint.fifo it_bg pub4 "${MOQC[@]}" publish --url "$(it_url)" --broadcast bint.hang \
  --format fmp4
i=0 k=0
until [ "$k" -ge 40 ] && [ $((k % GOP)) != 0 ]; do # past the first group, mid-group
  i=$((i + 1))
  [ "$i" -gt 600 ] && it_fail "interrupt: $k video frames received in 30 s"
  sleep 0.05
  k=$(grep -c '^frame video0 ' "$IT_TMP/bint.frames")
done
kill -INT "$(it_pid sub4)"
it_wait sub4 20 >/dev/null
n_rx=$(grep -c '^frame video0 ' "$IT_TMP/bint.frames")
n_out=$(vframes "$IT_TMP/sub4.out")
[ -n "$n_out" ] && [ "$n_out" = "$n_rx" ] ||
  it_fail "interrupt (after $k frames): $n_out video frames written of $n_rx received"
it_log "interrupt: all $n_rx video frames received were written"
it_wait pub4 60 >/dev/null

# ---- 4. bad input ----
h=$IT_TMP/h264.mp4
head -c $(($(stat -c %s "$h") / 2)) "$h" >"$IT_TMP/bad-truncated.mp4"
head -c 20000 /dev/urandom >"$IT_TMP/bad-garbage.mp4"
moof=$(grep -obUaP 'moof' "$h" | head -1 | cut -d: -f1)
tail -c +$((moof - 3)) "$h" >"$IT_TMP/bad-noinit.mp4"
cat "$h" "$IT_TMP/bad-noinit.mp4" >"$IT_TMP/bad-backwards.mp4"
ffmpeg -hide_banner -loglevel error -t 1 -f lavfi -i testsrc=size=160x120:rate=30 -c:v mpeg4 \
  "${FRAG[@]}" "$IT_TMP/bad-codec.mp4" || it_fail "ffmpeg (mpeg4 input)"
bad_case() { # NAME PATTERN
  IT_STDIN=$IT_TMP/bad-$1.mp4 it_bg "bad-$1" "${MOQC[@]}" publish --url "$(it_url)" \
    --broadcast "bad-$1.hang" --format fmp4 --drain 1s
  it_wait "bad-$1" 30
  local rc=$?
  [ "$rc" = 1 ] || it_fail "bad input $1: exit $rc, expected 1: $(cat "$IT_TMP/bad-$1.err")"
  grep -qE "$2" "$IT_TMP/bad-$1.err" || it_fail "bad input $1: no clear message: $(cat "$IT_TMP/bad-$1.err")"
  it_log "bad input $1: $(grep '^moqc:' "$IT_TMP/bad-$1.err" | head -1)"
}
bad_case truncated 'truncated'
bad_case garbage 'not a fragmented MP4'
bad_case noinit 'not a fragmented MP4 with an init segment'
bad_case backwards 'timestamps go backwards'
bad_case codec "codec 'mpeg4' is not supported"

# A catalog that is not JSON: a lines publisher on track catalog.json.
it_fifo cat 7
IT_STDIN=$IT_TMP/cat.fifo it_bg badcat-pub "${MOQC[@]}" publish --url "$(it_url)" \
  --broadcast badcat.hang --track catalog.json --drain 1s
it_bg badcat-sub "${MOQC[@]}" subscribe --url "$(it_url)" --broadcast badcat.hang --format fmp4 --wait 20s
sleep 0.5
echo '{"video": {"renditions": ' >&7
it_wait badcat-sub 20
rc=$?
[ "$rc" = 1 ] || it_fail "bad catalog: subscriber exit $rc, expected 1"
grep -q "invalid catalog: not JSON" "$IT_TMP/badcat-sub.err" || it_fail "bad catalog: $(cat "$IT_TMP/badcat-sub.err")"
exec 7>&-
it_wait badcat-pub 20 >/dev/null

# ---- 5. the relay is unaffected ----
echo hello >"$IT_TMP/ok.txt"
IT_STDIN=$IT_TMP/ok.txt it_bg okpub "${MOQC[@]}" publish --url "$(it_url)" --broadcast ok --wait-subscriber=20s
it_bg oksub "${MOQC[@]}" subscribe --url "$(it_url)" --broadcast ok --count 1 --wait 20s
it_wait oksub 20 || it_fail "relay after bad input: subscriber exited $?"
it_wait okpub 20 >/dev/null
it_clients_clean
it_relay_stop
echo "PASS test_media"
