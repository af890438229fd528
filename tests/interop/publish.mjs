#!/usr/bin/env node
// <moq-publish> (@moq/publish) in headless Chromium with a fake camera and microphone
// (--use-fake-device-for-media-stream) publishing to moqc-relay for --seconds, then exits.
//   node publish.mjs --url http://127.0.0.1:PORT/anon --broadcast cam.hang [--seconds 15]
// Prints one JSON line {ok, error?}; exit 0 when the page ran without a page error.
import http from "node:http";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({
	options: {
		url: { type: "string" },
		broadcast: { type: "string" },
		seconds: { type: "string", default: "15" },
		chromium: { type: "string", default: process.env.MOQC_CHROMIUM ?? "/usr/bin/chromium" },
		verbose: { type: "boolean", default: false },
	},
});
const esc = (s) => s.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
const html = `<!doctype html><meta charset="utf-8"><title>moqc publish</title>
<moq-publish url="${esc(o.url)}" name="${esc(o.broadcast)}" source="camera"><video muted autoplay></video></moq-publish>
<script type="module" src="/publish.js"></script>`;
const bundle = readFileSync(join(here, "dist", "publish.js"));
const server = http.createServer((req, res) => {
	const js = req.url === "/publish.js";
	res.writeHead(200, { "content-type": js ? "text/javascript" : "text/html" });
	res.end(js ? bundle : html);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
let browser;
let result = { ok: true };
try {
	browser = await chromium.launch({
		executablePath: o.chromium,
		headless: true,
		args: ["--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"],
	});
	const ctx = await browser.newContext({ permissions: ["camera", "microphone"] });
	const page = await ctx.newPage();
	page.on("console", (m) => o.verbose && process.stderr.write(`[page] ${m.text()}\n`));
	page.on("pageerror", (e) => {
		process.stderr.write(`[page error] ${e.message}\n`);
		result = { ok: false, error: e.message };
	});
	await page.goto(`http://127.0.0.1:${server.address().port}/`);
	await page.waitForTimeout(Number(o.seconds) * 1000);
} catch (e) {
	result = { ok: false, error: String(e?.message ?? e) };
} finally {
	await browser?.close().catch(() => {});
	server.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(result.ok ? 0 : 1);
