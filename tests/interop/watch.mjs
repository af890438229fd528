#!/usr/bin/env node
// <moq-watch> (@moq/watch) in headless Chromium against moqc-relay: opens a page with
//   <moq-watch url=URL name=BROADCAST><canvas></canvas></moq-watch>
// and checks that video frames are rendered: the canvas gets a size and its pixels change
// over time (screenshots of the element compared); writes the last screenshot to --screenshot.
// Audio: reports whether an AudioContext ran (best effort; headless autoplay is allowed by flag).
//   node watch.mjs --url http://127.0.0.1:PORT/anon --broadcast x.hang [--timeout 40] [--screenshot f.png]
// Prints one JSON line: {ok, width, height, changes, samples, audio?, error?}. Exit 0 ok, 1 fail.
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
		chromium: { type: "string", default: process.env.MOQC_CHROMIUM ?? "/usr/bin/chromium" },
		verbose: { type: "boolean", default: false },
	},
});
const deadline = Date.now() + Number(o.timeout) * 1000;
const out = (r) => process.stdout.write(`${JSON.stringify(r)}\n`);
const esc = (s) => s.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);

const html = `<!doctype html><meta charset="utf-8"><title>moqc watch</title>
<style>body{margin:0;background:#222} canvas{width:640px;height:360px;display:block}</style>
<moq-watch id="w" url="${esc(o.url)}" name="${esc(o.broadcast)}"><canvas id="c"></canvas></moq-watch>
<script>
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
		if (hashes.size >= 5) break;
	}
	const audio = await page.evaluate(() => window.__audio);
	if (o.screenshot && last) writeFileSync(o.screenshot, last);
	result = { ok: hashes.size >= 5, width: size.width, height: size.height, changes: hashes.size, samples, audio };
	if (!result.ok) result.error = `the canvas changed ${hashes.size} time(s) (size ${size.width}x${size.height})`;
} catch (e) {
	result = { ok: false, error: String(e?.message ?? e) };
} finally {
	await browser?.close().catch(() => {});
	server.close();
}
out(result);
process.exit(result.ok ? 0 : 1);
