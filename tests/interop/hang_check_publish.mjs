#!/usr/bin/env node
// Compares what the library's hang consumer received (`moqc subscribe --format fmp4
// --frame-log FRAMELOG`: the catalog as moqc_hang_catalog_consumer decoded it, and every legacy
// frame as moqc_hang_legacy_decode split it) with what <moq-publish>'s encoders produced
// (publish.mjs --record RECORD: each WebCodecs encoder's configuration and output chunks).
//   node hang_check_publish.mjs FRAMELOG RECORD [--min-video N]
// Catalog: every rendition's codec is the codec its encoder was configured with; video
// codedWidth/Height and audio sampleRate/numberOfChannels as configured (when present).
// Frames, per rendition: the received frames (group order, then index) are consecutive output
// chunks of one encoder: same timestamp (µs), size and SHA-256, in order, nothing missing or
// duplicated in between; a video group starts at a key chunk and only there.
// Prints one JSON line {ok, tracks, errors}; exit 0 ok, 1 mismatch.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: o, positionals } = parseArgs({ allowPositionals: true, options: { "min-video": { type: "string", default: "1" } } });
const [logFile, recFile] = positionals;
const errors = [];
const fail = (m) => errors.length < 20 && errors.push(m);
const rec = JSON.parse(readFileSync(recFile, "utf8"));
let catalog;
const frames = {};
for (const line of readFileSync(logFile, "utf8").split("\n")) {
	if (line.startsWith("catalog ")) catalog = JSON.parse(line.slice(8));
	else if (line.startsWith("frame ")) {
		const [, track, group, index, ts, size, sha256] = line.split(" ");
		(frames[track] ??= []).push({ group: Number(group), index: Number(index), ts: Number(ts), size: Number(size), sha256 });
	}
}
if (!catalog) fail("no catalog in the frame log");
const summary = {};
for (const kind of ["video", "audio"]) {
	for (const [name, r] of Object.entries(catalog?.[kind]?.renditions ?? {})) {
		const got = frames[name] ?? [];
		// The ordered reader delivers groups in sequence order, frames in index order.
		got.sort((a, b) => a.group - b.group || a.index - b.index);
		if (got.length === 0) {
			fail(`${name}: no frame received`);
			continue;
		}
		// Which encoder instance made these: the one that output the first received frame.
		// (Two encoders of the same source, e.g. a preview's, can output equal chunks: take the one
		// whose following chunks match the most frames.)
		const first = got[0];
		const cands = rec.chunks.filter((c) => c.kind === kind && c.ts === first.ts && c.sha256 === first.sha256);
		if (cands.length === 0) {
			fail(`${name}: no encoder chunk matches its first frame (ts ${first.ts})`);
			continue;
		}
		const seq = (cand) => {
			const chunks = rec.chunks.filter((c) => c.enc === cand.enc);
			const start = chunks.indexOf(cand);
			let n = 0;
			while (n < got.length && chunks[start + n]?.sha256 === got[n].sha256) n++;
			return { chunks, start, n };
		};
		const best = cands.map((c) => ({ c, ...seq(c) })).sort((x, y) => y.n - x.n)[0];
		const enc = rec.encoders[best.c.enc];
		const { chunks, start } = best;
		const cfg = enc.config ?? {};
		if (r.codec !== cfg.codec) fail(`${name}: catalog codec ${r.codec}, the encoder's ${cfg.codec}`);
		if (kind === "video") {
			if (r.codedWidth !== undefined && r.codedWidth !== cfg.width) fail(`${name}: codedWidth ${r.codedWidth}, the encoder's ${cfg.width}`);
			if (r.codedHeight !== undefined && r.codedHeight !== cfg.height) fail(`${name}: codedHeight ${r.codedHeight}, the encoder's ${cfg.height}`);
		} else {
			if (r.sampleRate !== cfg.sampleRate) fail(`${name}: sampleRate ${r.sampleRate}, the encoder's ${cfg.sampleRate}`);
			if (r.numberOfChannels !== cfg.numberOfChannels) fail(`${name}: numberOfChannels ${r.numberOfChannels}, the encoder's ${cfg.numberOfChannels}`);
		}
		let bad = 0;
		for (let i = 0; i < got.length && bad < 5; i++) {
			const g = got[i];
			const c = chunks[start + i];
			if (!c) {
				fail(`${name} frame ${i}: the encoder output no chunk there (it made ${chunks.length})`);
				bad++;
				continue;
			}
			const d = [];
			if (g.ts !== c.ts) d.push(`timestamp ${g.ts} != ${c.ts}`);
			if (g.size !== c.size) d.push(`size ${g.size} != ${c.size}`);
			if (g.sha256 !== c.sha256) d.push("payload sha256 differs");
			if (kind === "video" && (g.index === 0) !== c.key) d.push(`group index ${g.index} but chunk key=${c.key}`);
			if (d.length) {
				fail(`${name} frame ${i} (group ${g.group} index ${g.index}): ${d.join(", ")}`);
				bad++;
			}
		}
		summary[name] = { codec: r.codec, frames: got.length, groups: new Set(got.map((g) => g.group)).size, encoder: enc.id, from_chunk: start };
		if (kind === "video" && got.length < Number(o["min-video"])) fail(`${name}: ${got.length} frames, expected at least ${o["min-video"]}`);
	}
}
if (!Object.keys(summary).some((n) => catalog?.video?.renditions?.[n])) fail("no video rendition checked");
if (!Object.keys(summary).some((n) => catalog?.audio?.renditions?.[n])) fail("no audio rendition checked");
const r = { ok: errors.length === 0, tracks: summary, errors };
process.stdout.write(`${JSON.stringify(r)}\n`);
process.exit(r.ok ? 0 : 1);
