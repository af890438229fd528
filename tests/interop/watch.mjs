#!/usr/bin/env node
// <moq-watch> (@moq/watch) in headless Chromium against moqc-relay: opens a page with
//   <moq-watch url=URL name=BROADCAST><canvas></canvas></moq-watch>
// and checks that video frames are rendered: the canvas gets a size and its pixels change
// over time (screenshots of the element compared); writes the last screenshot to --screenshot.
// Audio: the page wraps WebCodecs' AudioDecoder before @moq/watch loads and counts what the
// element's decoder outputs: AudioData objects, sample frames, their RMS and the frequency of
// the tone (zero crossings of channel 0), so the test can check that audio was really decoded
// (not only that the catalog lists it). Also reports whether an AudioContext ran.
//   node watch.mjs --url http://127.0.0.1:PORT/anon --broadcast x.hang [--timeout 40]
//     [--screenshot f.png] [--audio-seconds S] [--catalog-format hangz] [--changes N]
// ok: the canvas changed N times (default 5). Waits (within --timeout) until S seconds of audio
// were decoded as well (default 0).
// Prints one JSON line: {ok, width, height, changes, samples, audio, decoded: {outputs, frames,
// seconds, rate, channels, rms, hz}, error?}. Exit 0 ok, 1 fail.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({
	options: {
		url: { type: "string" },
		broadcast: { type: "string" },
		timeout: { type: "string", default: "40" },
		screenshot: { type: "string" },
		"audio-seconds": { type: "string", default: "0" },
		changes: { type: "string", default: "5" },
		"catalog-format": { type: "string" },
		chromium: { type: "string", default: process.env.MOQC_CHROMIUM ?? "/usr/bin/chromium" },
		verbose: { type: "boolean", default: false },
	},
});
const deadline = Date.now() + Number(o.timeout) * 1000;
const out = (r) => process.stdout.write(`${JSON.stringify(r)}\n`);
const esc = (s) => s.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);

const html = `<!doctype html><meta charset="utf-8"><title>moqc watch</title>
<style>body{margin:0;background:#222} canvas{width:640px;height:360px;display:block}</style>
<moq-watch id="w" url="${esc(o.url)}" name="${esc(o.broadcast)}"${o["catalog-format"] ? ` catalog-format="${esc(o["catalog-format"])}"` : ""}><canvas id="c"></canvas></moq-watch>
<script>
  // What the element's AudioDecoder outputs: counted, and channel 0 measured (RMS, zero crossings).
  window.__dec = { outputs: 0, frames: 0, rate: 0, channels: 0, sumsq: 0, n: 0, crossings: 0, errors: 0 };
  const AD = window.AudioDecoder;
  window.AudioDecoder = class extends AD {
    constructor(init) {
      const output = init.output;
      super({ ...init, output: (data) => {
        const d = window.__dec;
        d.outputs++;
        d.frames += data.numberOfFrames;
        d.rate = data.sampleRate;
        d.channels = data.numberOfChannels;
        try {
          const x = new Float32Array(data.numberOfFrames);
          data.copyTo(x, { planeIndex: 0, format: "f32-planar" });
          for (let i = 0; i < x.length; i++) {
            d.sumsq += x[i] * x[i];
            if (i && x[i - 1] <= 0 && x[i] > 0) d.crossings++;
          }
          d.n += x.length;
        } catch (e) { d.errors++; }
        return output(data);
      } });
    }
  };

  // Count AudioContexts that start running (the audio path decodes into one).
  window.__audio = 0;
  const AC = window.AudioContext;
  window.AudioContext = class extends AC { constructor(...a) { super(...a); this.addEventListener("statechange", () => { if (this.state === "running") window.__audio++; }); if (this.state === "running") window.__audio++; } };
</script>
<script type="module" src="/watch.js"></script>`;
const bundle = readFileSync(join(here, "dist", "watch.js"));
const server = http.createServer((req, res) => {
	if (req.url === "/watch.js") {
		res.writeHead(200, { "content-type": "text/javascript" });
		res.end(bundle);
	} else {
		res.writeHead(200, { "content-type": "text/html" });
		res.end(html);
	}
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const pageUrl = `http://127.0.0.1:${server.address().port}/`;

let browser;
let result = { ok: false };
try {
	browser = await chromium.launch({
		executablePath: o.chromium,
		headless: true,
		args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--use-gl=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"],
	});
	const page = await browser.newPage({ viewport: { width: 800, height: 480 } });
	page.on("console", (m) => o.verbose && process.stderr.write(`[page] ${m.text()}\n`));
	page.on("pageerror", (e) => process.stderr.write(`[page error] ${e.message}\n`));
	await page.goto(pageUrl);
	const canvas = page.locator("#c");
	const audioSeconds = () => page.evaluate(() => (window.__dec.rate ? window.__dec.frames / window.__dec.rate : 0));
	const hashes = new Set();
	let samples = 0;
	let size = { width: 0, height: 0 };
	let last;
	// Sample the rendered canvas until it has changed several times (video frames are drawn).
	while (Date.now() < deadline) {
		await page.waitForTimeout(500);
		size = await page.evaluate(() => {
			const c = document.getElementById("c");
			return { width: c.width, height: c.height };
		});
		if (size.width <= 300 && size.height <= 150) continue; // default canvas size: nothing decoded yet
		last = await canvas.screenshot();
		hashes.add(createHash("sha256").update(last).digest("hex"));
		samples++;
		if (hashes.size >= Number(o.changes) && (await audioSeconds()) >= Number(o["audio-seconds"])) break;
	}
	const audio = await page.evaluate(() => window.__audio);
	const d = await page.evaluate(() => window.__dec);
	const decoded = {
		outputs: d.outputs,
		frames: d.frames,
		seconds: d.rate ? d.frames / d.rate : 0,
		rate: d.rate,
		channels: d.channels,
		rms: d.n ? Math.sqrt(d.sumsq / d.n) : 0,
		hz: d.n ? (d.crossings / d.n) * d.rate : 0,
		copy_errors: d.errors,
	};
	if (o.screenshot && last) writeFileSync(o.screenshot, last);
	result = { ok: hashes.size >= Number(o.changes), width: size.width, height: size.height, changes: hashes.size, samples, audio, decoded };
	if (!result.ok) result.error = `the canvas changed ${hashes.size} time(s) (size ${size.width}x${size.height})`;
} catch (e) {
	result = { ok: false, error: String(e?.message ?? e) };
} finally {
	await browser?.close().catch(() => {});
	server.close();
}
out(result);
process.exit(result.ok ? 0 : 1);
