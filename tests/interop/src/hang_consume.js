// The JS @moq/hang consumer reads a hang broadcast that moqc publishes, and what it reads is
// compared with the input file as ffprobe sees it (an independent reader of the same MP4).
//
// Bundled by build.mjs (esbuild, platform node: @moq/hang's imports need a bundler) to
// dist/hang_consume.mjs; run as
//   node --experimental-websocket dist/hang_consume.mjs --url http://127.0.0.1:PORT/ \
//     --broadcast x.hang --probe probe.json [--out got.json] [--timeout 60] [--idle 3]
//
// Node.js 20 has no WebTransport: @moq/net (0.3.x) connects over WebSocket (QMux). The catalog is
// read twice with @moq/json's snapshot consumer and @moq/hang's RootSchema (what <moq-watch> does):
// from catalog.json, and from catalog.json.z with compression on (<moq-watch catalog-format=hangz>);
// the two must be equal. Every rendition is read with @moq/hang's Container.Consumer and its
// Legacy.Format. probe.json is `ffprobe -show_streams -show_packets -show_data_hash SHA256 -of json`
// of the MP4 moqc read. Checked per stream:
//   catalog: codec string (profile/level from ffprobe; avc1's PPCCLL = the description's bytes
//     1..3), description = the stream's extradata (SHA-256; none for VP8/VP9/Opus),
//     codedWidth/codedHeight, framerate,
//     sampleRate, numberOfChannels, container kind legacy, jitter;
//   frames: the count, and per frame in order: timestamp (pts rescaled to µs as av_rescale_q does;
//     before 0 clamped to 0), the payload's SHA-256 and size; video keyframe flags (a group starts
//     at each keyframe, and only there).
// Prints one JSON line {ok, version, tracks: {name: frames}, errors: [...]}; exit 0 ok, 1 mismatch,
// 2 timeout / connection failure.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

import "./node_polyfill.js"; // first: Promise.withResolvers for Node 20
import * as Catalog from "@moq/hang/catalog";
import * as Container from "@moq/hang/container";
import * as Json from "@moq/json";
import * as Moq from "@moq/net";

const { values: o } = parseArgs({
	options: {
		url: { type: "string" },
		broadcast: { type: "string" },
		probe: { type: "string" },
		out: { type: "string" },
		timeout: { type: "string", default: "60" },
		idle: { type: "string", default: "3" },
	},
});
const deadline = Date.now() + Number(o.timeout) * 1000;
const errors = [];
const fail = (m) => errors.push(m);
const sha = (b) => createHash("sha256").update(b).digest("hex");
const left = () => Math.max(1, deadline - Date.now());
const timeout = (ms, what) => new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms));
const within = (p, ms, what) => Promise.race([p, timeout(ms, what)]);
const done = (code, extra = {}) => {
	const r = { ok: code === 0 && errors.length === 0, errors, ...extra };
	process.stdout.write(`${JSON.stringify(r)}\n`);
	process.exit(r.ok ? 0 : code || 1);
};

let conn;
try {
	conn = await within(
		Moq.Connection.connect(new URL(o.url), { webtransport: { enabled: false }, websocket: { enabled: true, delay: 0 } }),
		5000,
		"connect",
	);
} catch (e) {
	done(2, { error: String(e?.message ?? e) });
}
const path = Moq.Path.from(o.broadcast);
const ann = conn.announced(Moq.Path.from(""));
try {
	for (;;) {
		const a = await within(ann.next(), left(), "announce");
		if (!a) throw new Error("announcements ended");
		if (a.active && String(a.path) === String(path)) break;
	}
} catch (e) {
	done(2, { error: String(e?.message ?? e) });
}
const broadcast = conn.consume(path);

// ---- the catalog, plain and compressed --------------------------------------------------
async function readCatalog(name, compression) {
	const track = broadcast.track(name).subscribe({ priority: Catalog.PRIORITY.catalog });
	const c = new Json.Snapshot.Consumer(track, { schema: Catalog.RootSchema, compression });
	const value = await within(c.next(), left(), `catalog ${name}`);
	return { value, close: () => track.close() };
}
let cat, catZ;
try {
	[cat, catZ] = await Promise.all([readCatalog(Catalog.TRACK, false), readCatalog(Catalog.TRACK_COMPRESSED, true)]);
} catch (e) {
	done(2, { error: String(e?.message ?? e) });
}
const catalog = cat.value;
if (JSON.stringify(catZ.value) !== JSON.stringify(catalog))
	fail(`${Catalog.TRACK_COMPRESSED} differs from ${Catalog.TRACK}: ${JSON.stringify(catZ.value)}`);

// ---- every rendition through Container.Consumer + Legacy.Format -------------------------------
const renditions = [
	...Object.entries(catalog.video?.renditions ?? {}).map(([name, r]) => ({ name, kind: "video", r })),
	...Object.entries(catalog.audio?.renditions ?? {}).map(([name, r]) => ({ name, kind: "audio", r })),
];
const idleMs = Number(o.idle) * 1000;
async function readTrack({ name, kind }) {
	const track = broadcast.track(name).subscribe({ priority: kind === "audio" ? Catalog.PRIORITY.audio : Catalog.PRIORITY.video });
	// A latency target of an hour: nothing is skipped however fast moqc publishes the file.
	const consumer = new Container.Consumer(track, { format: new Container.Legacy.Format(), latency: 3_600_000 });
	const frames = [];
	let first = true;
	for (;;) {
		let next;
		try {
			// The track's end is not surfaced by next() (it waits for more): stop when idle.
			next = await within(consumer.next(), first ? left() : Math.min(idleMs, left()), name);
		} catch {
			break;
		}
		if (!next) break;
		if (!next.frame) continue; // the end of a group
		first = false;
		const f = next.frame;
		frames.push({ group: next.group, ts: Number(f.timestamp), key: f.keyframe, size: f.payload.byteLength, sha256: sha(f.payload) });
	}
	consumer.close();
	return [name, frames];
}
const got = Object.fromEntries(await Promise.all(renditions.map(readTrack)));
cat.close();
catZ.close();
if (o.out) writeFileSync(o.out, JSON.stringify({ catalog, tracks: got }, null, 1));

// ---- compare with ffprobe ---------------------------------------------------------------------
const probe = JSON.parse(readFileSync(o.probe, "utf8"));
const AVC_PROFILES = { Baseline: 66, "Constrained Baseline": 66, Main: 77, High: 100 };
const AAC_OBJECT = { LC: 2, HE: 5, "HE-AACv2": 29 };
// av_rescale_q(pts, tb, 1/1000000) with AV_ROUND_NEAR_INF, clamped at 0 like moqc publish.
function micros(pts, tb) {
	const [num, den] = tb.split("/").map(BigInt);
	const x = BigInt(pts) * 1000000n * num;
	if (x <= 0n) return 0;
	return Number((x + den / 2n) / den);
}
const hex = (s) => Buffer.from(s, "hex");
const streams = probe.streams.filter((s) => s.codec_type === "video" || s.codec_type === "audio");
const counters = { video: 0, audio: 0 };
const summary = {};
for (const s of streams) {
	const kind = s.codec_type;
	const name = `${kind}${counters[kind]++}`;
	const r = catalog[kind]?.renditions?.[name];
	if (!r) {
		fail(`${name}: not in the catalog`);
		continue;
	}
	const where = `${name} (${s.codec_name})`;
	const eq = (field, have, want) => have !== want && fail(`${where}: ${field} ${JSON.stringify(have)}, ffprobe says ${JSON.stringify(want)}`);
	eq("container.kind", r.container?.kind, "legacy");
	const desc = r.description !== undefined ? hex(r.description) : undefined;
	// A description for H.264/H.265/AV1/AAC (avcC, hvcC, av1C, AudioSpecificConfig: the MP4's
	// extradata); none for VP8/VP9/Opus (WebCodecs needs none; hang omits it, <moq-watch>
	// ignores one for Opus).
	if (["h264", "hevc", "av1", "aac"].includes(s.codec_name))
		eq("description sha256", desc && `SHA256:${sha(desc)}`, s.extradata_hash);
	else eq("description", r.description, undefined);
	if (kind === "video") {
		eq("codedWidth", r.codedWidth, s.width);
		eq("codedHeight", r.codedHeight, s.height);
		const [fn, fd] = s.avg_frame_rate.split("/").map(Number);
		eq("framerate", r.framerate, fn / fd);
		// A frame interval, times the reorder depth with B-frames (has_b_frames).
		eq("jitter", r.jitter, Math.ceil((1000 * (1 + (s.has_b_frames ?? 0))) / (fn / fd) - 0.001));
		if (s.codec_name === "h264") {
			const want = `avc1.${AVC_PROFILES[s.profile]?.toString(16).padStart(2, "0")}`;
			eq("codec profile", r.codec.slice(0, 7), want);
			eq("codec PPCCLL", r.codec.slice(5), desc?.subarray(1, 4).toString("hex"));
			eq("codec level", Number.parseInt(r.codec.slice(9, 11), 16), s.level);
		} else if (s.codec_name === "vp9") eq("codec", r.codec.slice(0, 5), "vp09.");
	} else {
		eq("sampleRate", r.sampleRate, Number(s.sample_rate));
		eq("numberOfChannels", r.numberOfChannels, s.channels);
		if (s.codec_name === "aac") eq("codec", r.codec, `mp4a.40.${AAC_OBJECT[s.profile]}`);
		else if (s.codec_name === "opus") eq("codec", r.codec, "opus");
	}
	// Frames: every packet of the stream, in file (decode) order.
	let want = probe.packets.filter((p) => p.stream_index === s.index);
	if (kind === "video") want = want.slice(Math.max(0, want.findIndex((p) => p.flags.startsWith("K")))); // moqc starts at a keyframe
	const have = got[name] ?? [];
	summary[name] = { frames: have.length, packets: want.length, keyframes: have.filter((f) => f.key).length, groups: new Set(have.map((f) => f.group)).size };
	if (have.length !== want.length) fail(`${where}: ${have.length} frames, the input has ${want.length} packets`);
	let shown = 0;
	for (let i = 0; i < Math.min(have.length, want.length) && shown < 5; i++) {
		const h = have[i];
		const w = want[i];
		const bad = [];
		if (h.ts !== micros(w.pts, s.time_base)) bad.push(`timestamp ${h.ts} != ${micros(w.pts, s.time_base)}`);
		if (`SHA256:${h.sha256}` !== w.data_hash) bad.push(`payload sha256 differs (size ${h.size} vs ${w.size})`);
		if (h.size !== Number(w.size)) bad.push(`size ${h.size} != ${w.size}`);
		if (kind === "video" && h.key !== w.flags.startsWith("K")) bad.push(`keyframe ${h.key} != ffprobe flags ${w.flags}`);
		if (bad.length) {
			fail(`${where} frame ${i}: ${bad.join(", ")}`);
			shown++;
		}
	}
}
for (const name of Object.keys(got)) if (!(name in summary)) fail(`${name}: in the catalog, not in the input`);
done(errors.length ? 1 : 0, { version: conn.version, tracks: summary });
