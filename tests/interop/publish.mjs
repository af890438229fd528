#!/usr/bin/env node
// <moq-publish> (@moq/publish) in headless Chromium with a fake camera and microphone
// (--use-fake-device-for-media-stream) publishing to moqc-relay for --seconds, then exits.
//   node publish.mjs --url http://127.0.0.1:PORT/anon --broadcast cam.hang [--seconds 15]
//     [--record FILE]
// --record: the page wraps WebCodecs' VideoEncoder and AudioEncoder (before @moq/publish loads)
// and FILE gets what each encoder instance was configured with and every chunk it output
// ({enc, kind, ts, key, size, sha256}): what <moq-publish> writes into its legacy frames.
// Prints one JSON line {ok, error?}; exit 0 when the page ran without a page error.
import http from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
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
		record: { type: "string" },
		chromium: { type: "string", default: process.env.MOQC_CHROMIUM ?? "/usr/bin/chromium" },
		verbose: { type: "boolean", default: false },
	},
});
const esc = (s) => s.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
const html = `<!doctype html><meta charset="utf-8"><title>moqc publish</title>
<moq-publish url="${esc(o.url)}" name="${esc(o.broadcast)}" source="camera"><video muted autoplay></video></moq-publish>
<script>
  // Record every encoder's configuration and output chunks (--record).
  window.__enc = [];
  window.__chunks = [];
  window.__digests = [];
  const hex = (d) => Array.from(new Uint8Array(d), (x) => x.toString(16).padStart(2, "0")).join("");
  const wrap = (Base, kind) => class extends Base {
    constructor(init) {
      const id = window.__enc.length;
      window.__enc.push({ id, kind, config: null });
      const output = init.output;
      super({ ...init, output: (chunk, meta) => {
        if (window.__chunks.length < 20000) {
          const b = new Uint8Array(chunk.byteLength);
          chunk.copyTo(b);
          const rec = { enc: id, kind, ts: chunk.timestamp, key: chunk.type === "key", size: chunk.byteLength };
          window.__chunks.push(rec);
          window.__digests.push(crypto.subtle.digest("SHA-256", b).then((d) => { rec.sha256 = hex(d); }));
        }
        return output(chunk, meta);
      } });
      this.__id = id;
    }
    configure(config) {
      const { codec, width, height, sampleRate, numberOfChannels, bitrate, framerate } = config;
      window.__enc[this.__id].config = { codec, width, height, sampleRate, numberOfChannels, bitrate, framerate };
      return super.configure(config);
    }
  };
  window.VideoEncoder = wrap(window.VideoEncoder, "video");
  window.AudioEncoder = wrap(window.AudioEncoder, "audio");
</script>
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
	if (o.record) {
		const rec = await page.evaluate(async () => {
			await Promise.all(window.__digests);
			return { encoders: window.__enc, chunks: window.__chunks };
		});
		writeFileSync(o.record, JSON.stringify(rec));
	}
} catch (e) {
	result = { ok: false, error: String(e?.message ?? e) };
} finally {
	await browser?.close().catch(() => {});
	server.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(result.ok ? 0 : 1);
