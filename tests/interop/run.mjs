#!/usr/bin/env node
// moqc interop driver: runs ONE scenario with a moq-dev JS client (@moq/lite or @moq/net)
// inside headless Chromium (driven over CDP by playwright-core) and prints ONE JSON line on
// stdout. Everything else (progress events, browser console with --verbose) goes to stderr.
//
//   node run.mjs --lib net --url https://localhost:4443/anon --fingerprint <hex> \
//                --mode subscribe --broadcast b --track t --count 3 --timeout 20
//
// Exit codes: 0 ok, 1 scenario failed (or an --expect-* check did not hold), 2 global timeout,
// 3 usage error, 4 harness error (bundles missing, Chromium failed to start).
// Chromium, the page server and the temporary profile are always cleaned up: Chromium runs in
// its own process group under coreutils `timeout`, so it dies even if this process is SIGKILLed.
// See docs/interop.md for the full contract.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const started = Date.now();

const USAGE = `usage: node run.mjs --mode MODE [options]
modes: launch | connect | publish | subscribe | announced | pubsub | wt-echo | selftest | page
  --lib lite|net            JS library (default net; wt-echo needs none)
  --url URL                 https://host:port/path (or http:// for the /certificate.sha256 bootstrap)
  --fingerprint HEX         SHA-256 of the server's DER certificate (colons allowed)
  --sub-url URL             pubsub: the subscriber connects here instead of --url (another relay)
  --sub-fingerprint HEX     pubsub: the certificate hash for --sub-url (default --fingerprint)
  --protocols A,B           WebTransport protocols to offer, in order (replaces the library default)
  --version V[,V]           shorthand: lite-03|lite-04|lite-05|lite-06 (=> --protocols moq-lite-0N,...)
  --transport T             webtransport (default) | websocket | race
  --broadcast B --track T   names (track default "t")
  --frames "a,b,c"          frames to publish (--frames-json '["a,b"]' for commas)
  --gen N:SIZE              publish N generated SIZE-byte frames (pair with --summary)
  --encoding E              utf8 (default) | base64 | hex, for --frames and subscribe output
  --group-frames K          frames per group (default: all frames in one group)
  --finish-track            close the track after writing the frames
  --count N                 subscribe: frames to read (0 = until the track ends);
                            announced: entries to collect (0 = all until timeout)
  --prefix P                announced: prefix (default "")
  --no-wait-announce        subscribe: do not wait for the broadcast's announcement first
  --summary                 subscribe: report {len, sha256} per frame instead of payloads
  --requests N              publish: succeed after N subscriptions were served (default 1;
                            0 = just hold for --hold seconds)
  --hold SEC                publish: seconds to stay connected when --requests 0
  --linger MS               publish: keep the session after the last serve (default 1000)
  --ready-file PATH         publish: write a JSON file once connected and published
                            (page: repeatable, paired with --ready-selector)
  --page-url URL            page: open this page (no bundle served, no window.moqtest)
  --ready-selector CSS      page: wait until CSS matches, then write the paired --ready-file
                            (repeatable: pairs are awaited in order)
  --lines-selector CSS      page: the received lines = textContent of the matching elements;
                            waits for --count (default: --expect-frames length) of them
  --fail-selector CSS       page: fail at once (with its text) when CSS matches
  --expect-text REGEX       page: fail unless the page text matches (repeatable)
  --screenshot PATH         page: save a PNG of the page at the end (also on failure)
  --wt-message S --wt-size N --wt-streams K --wt-checks bidi,uni,datagram   (wt-echo)
  --expect-frames "a,b,c"   fail unless the received frames are exactly these
  --expect-gen N:SIZE       fail unless the --summary digests match --gen N:SIZE
  --expect-protocol P       fail unless the WebTransport protocol is P ("" = none)
  --expect-version V        fail unless the library reports version V (e.g. moq-lite-04)
  --expect-error REGEX      invert: succeed only if the scenario FAILS with a matching error
  --timeout SEC             hard limit for the whole run (default 20)
  --chromium PATH           browser (default $MOQC_CHROMIUM or /usr/bin/chromium)
  --chromium-arg ARG        extra Chromium flag (repeatable)
  --verbose                 echo the browser console to stderr`;

// ---------------------------------------------------------------------------------------------
// Output helpers: exactly one JSON line on stdout, ever.
// ---------------------------------------------------------------------------------------------
let printed = false;
let netError; // last "net::ERR_..." Chromium printed for a failed WebTransport handshake
const logTail = [];
function log(line) {
	logTail.push(line);
	if (logTail.length > 40) logTail.shift();
	if (opts?.verbose) process.stderr.write(`${line}\n`);
}
function event(obj) {
	process.stderr.write(`${JSON.stringify({ event: obj.event, t: Date.now() - started, ...obj }, jsonSafe)}\n`);
}
// Hop / origin ids may be BigInt in @moq/net: print them as numbers when exact, else strings.
function jsonSafe(_key, value) {
	if (typeof value !== "bigint") return value;
	return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}
function emit(result) {
	if (printed) return;
	printed = true;
	process.stdout.write(`${JSON.stringify(result, jsonSafe)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------
let opts;
function usage(msg) {
	emit({ ok: false, error: `usage: ${msg}` });
	process.stderr.write(`${USAGE}\n`);
	process.exit(3);
}

try {
	const { values } = parseArgs({
		options: {
			mode: { type: "string" },
			lib: { type: "string", default: "net" },
			url: { type: "string" },
			fingerprint: { type: "string" },
			"sub-url": { type: "string" },
			"sub-fingerprint": { type: "string" },
			protocols: { type: "string" },
			version: { type: "string" },
			transport: { type: "string", default: "webtransport" },
			broadcast: { type: "string" },
			track: { type: "string", default: "t" },
			frames: { type: "string" },
			"frames-json": { type: "string" },
			gen: { type: "string" },
			encoding: { type: "string", default: "utf8" },
			"group-frames": { type: "string" },
			"finish-track": { type: "boolean", default: false },
			count: { type: "string" },
			prefix: { type: "string", default: "" },
			"no-wait-announce": { type: "boolean", default: false },
			summary: { type: "boolean", default: false },
			requests: { type: "string", default: "1" },
			hold: { type: "string", default: "0" },
			linger: { type: "string", default: "1000" },
			"ready-file": { type: "string", multiple: true, default: [] },
			"page-url": { type: "string" },
			"ready-selector": { type: "string", multiple: true, default: [] },
			"lines-selector": { type: "string" },
			"fail-selector": { type: "string" },
			"expect-text": { type: "string", multiple: true, default: [] },
			screenshot: { type: "string" },
			"wt-message": { type: "string", default: "moqc-wt-echo" },
			"wt-size": { type: "string", default: "0" },
			"wt-streams": { type: "string", default: "1" },
			"wt-checks": { type: "string", default: "bidi,uni,datagram" },
			"expect-frames": { type: "string" },
			"expect-gen": { type: "string" },
			"expect-protocol": { type: "string" },
			"expect-version": { type: "string" },
			"expect-error": { type: "string" },
			timeout: { type: "string", default: "20" },
			chromium: { type: "string", default: process.env.MOQC_CHROMIUM || "/usr/bin/chromium" },
			"chromium-arg": { type: "string", multiple: true, default: [] },
			verbose: { type: "boolean", default: false },
			help: { type: "boolean", default: false },
		},
		strict: true,
		allowPositionals: false,
	});
	opts = values;
} catch (err) {
	usage(err.message);
}
if (opts.help) {
	process.stdout.write(`${USAGE}\n`);
	process.exit(0);
}

const MODES = ["launch", "connect", "publish", "subscribe", "announced", "pubsub", "wt-echo", "selftest", "page"];
if (!MODES.includes(opts.mode)) usage(`--mode must be one of ${MODES.join(", ")}`);
if (!["lite", "net"].includes(opts.lib)) usage("--lib must be lite or net");
if (!["webtransport", "websocket", "race"].includes(opts.transport)) usage("--transport must be webtransport, websocket or race");
if (!["utf8", "base64", "hex"].includes(opts.encoding)) usage("--encoding must be utf8, base64 or hex");
const needsUrl = !["launch", "selftest", "page"].includes(opts.mode);
if (needsUrl) {
	if (!opts.url) usage(`--url is required for --mode ${opts.mode}`);
	try {
		const u = new URL(opts.url);
		if (!["https:", "http:"].includes(u.protocol)) throw new Error("scheme must be https: or http:");
	} catch (err) {
		usage(`bad --url ${opts.url}: ${err.message}`);
	}
}
if (["publish", "subscribe", "pubsub"].includes(opts.mode) && !opts.broadcast) usage(`--broadcast is required for --mode ${opts.mode}`);
if (opts.mode === "page") {
	if (!/^https?:\/\//.test(opts["page-url"] ?? "")) usage("--mode page needs --page-url http(s)://...");
	if (opts["ready-selector"].length !== opts["ready-file"].length) usage("--ready-selector and --ready-file come in pairs");
}
const expectText = opts["expect-text"].map((re) => {
	try {
		return new RegExp(re);
	} catch (err) {
		usage(`--expect-text: ${err.message}`);
	}
});

function int(name, value, min = 0) {
	const n = Number(value);
	if (!Number.isInteger(n) || n < min) usage(`--${name} must be an integer >= ${min}`);
	return n;
}
function genSpec(name, value) {
	const m = /^(\d+):(\d+)$/.exec(value ?? "");
	if (!m) usage(`--${name} must look like COUNT:SIZE`);
	return { count: Number(m[1]), size: Number(m[2]) };
}
const timeoutSec = Number(opts.timeout);
if (!(timeoutSec > 0 && timeoutSec <= 3600)) usage("--timeout must be in (0, 3600] seconds");
const deadline = started + timeoutSec * 1000;
// Budget handed to one in-page operation: what is left, minus a margin for cleanup, so the
// page reports a precise error before the global timer fires.
const budget = () => Math.max(250, deadline - Date.now() - 1500);

let protocols;
if (opts.protocols !== undefined) protocols = opts.protocols.split(",").map((s) => s.trim()).filter(Boolean);
if (opts.version !== undefined) {
	if (protocols) usage("use either --protocols or --version");
	protocols = opts.version.split(",").map((v) => {
		const m = /^(?:moq-)?(?:lite-)?0?([3-6])(?:-wip)?$/.exec(v.trim());
		if (!m) usage(`--version ${v}: expected lite-03, lite-04, lite-05 (or lite-06 = moq-lite-06-wip)`);
		return m[1] === "6" ? "moq-lite-06-wip" : `moq-lite-0${m[1]}`;
	});
}
let frames;
if (opts["frames-json"] !== undefined) {
	try {
		frames = JSON.parse(opts["frames-json"]);
		if (!Array.isArray(frames) || !frames.every((f) => typeof f === "string")) throw new Error("not an array of strings");
	} catch (err) {
		usage(`--frames-json: ${err.message}`);
	}
} else if (opts.frames !== undefined) {
	frames = opts.frames === "" ? [] : opts.frames.split(",");
}
const gen = opts.gen !== undefined ? genSpec("gen", opts.gen) : undefined;
const expectGen = opts["expect-gen"] !== undefined ? genSpec("expect-gen", opts["expect-gen"]) : undefined;
const expectFrames = opts["expect-frames"] !== undefined ? (opts["expect-frames"] === "" ? [] : opts["expect-frames"].split(",")) : undefined;
// Frames to read: explicit --count, else as many as published / expected, else 0 (= until the track ends).
const count =
	opts.count !== undefined ? int("count", opts.count) : frames ? frames.length : gen ? gen.count : expectFrames ? expectFrames.length : expectGen ? expectGen.count : 0;
const groupFrames = opts["group-frames"] !== undefined ? int("group-frames", opts["group-frames"], 1) : 0;
const requests = int("requests", opts.requests);
const holdMs = Number(opts.hold) * 1000;
const lingerMs = int("linger", opts.linger);
if (["publish", "pubsub"].includes(opts.mode) && !frames && !gen) usage("--frames, --frames-json or --gen is required to publish");
if (expectGen && !opts.summary) usage("--expect-gen needs --summary");
let expectError;
if (opts["expect-error"] !== undefined) {
	try {
		expectError = new RegExp(opts["expect-error"]);
	} catch (err) {
		usage(`--expect-error: ${err.message}`);
	}
}

// ---------------------------------------------------------------------------------------------
// Resources and cleanup
// ---------------------------------------------------------------------------------------------
let server;
let chrome; // child process (timeout -> chromium), leader of its own process group
let chromeExited;
let browser; // playwright CDP connection
let profileDir;
let cleaning;

let chromeReaped = false;
function killChrome() {
	if (!chrome || chromeReaped) return;
	// The process group we created (detached => setsid): Chromium and all its helpers. Sent
	// even after the leader exited, to catch stragglers; ESRCH just means nothing is left.
	try {
		process.kill(-chrome.pid, "SIGKILL");
	} catch {
		// group already gone
	}
	if (chrome.exitCode === null && chrome.signalCode === null) {
		try {
			chrome.kill("SIGKILL");
		} catch {
			// already gone
		}
	}
}

async function cleanup(fast = false) {
	if (cleaning) return cleaning;
	cleaning = (async () => {
		// Graceful first (CDP Browser.close lets Chromium reap its own helpers), then SIGKILL
		// the process group if it is still around after a short grace period. After a timeout
		// or a signal (fast), go straight to SIGKILL.
		if (browser && !fast) {
			await Promise.race([
				(async () => {
					const cdp = await browser.newBrowserCDPSession();
					await cdp.send("Browser.close").catch(() => {});
				})().catch(() => {}),
				sleep(1500),
			]);
			await Promise.race([browser.close().catch(() => {}), sleep(500)]);
		}
		if (chromeExited) await Promise.race([chromeExited, sleep(browser && !fast ? 3000 : 0)]);
		killChrome();
		if (chromeExited) await Promise.race([chromeExited, sleep(2000)]);
		chromeReaped = true;
		if (server) {
			server.closeAllConnections?.();
			await Promise.race([new Promise((r) => server.close(r)), sleep(1000)]);
		}
		if (profileDir) rmSync(profileDir, { recursive: true, force: true, maxRetries: 3 });
	})();
	return cleaning;
}

// Last line of defence: synchronous kill on any exit path.
process.on("exit", () => {
	killChrome();
	if (profileDir) {
		try {
			rmSync(profileDir, { recursive: true, force: true });
		} catch {
			// best effort
		}
	}
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
	process.on(sig, () => void finish({ ok: false, mode: opts.mode, lib: opts.lib, error: `interrupted by ${sig}`, phase }, 130));
}

let phase = "start";
let exitCode; // the first finish() decides (the global timer may race the scenario)
async function finish(result, code) {
	if (exitCode === undefined) {
		exitCode = code;
		emit({ ...result, elapsedMs: Date.now() - started });
	}
	await cleanup(code !== 0 && code !== 1);
	process.exit(exitCode);
}

const globalTimer = setTimeout(() => {
	void finish({ ok: false, mode: opts.mode, lib: opts.lib, error: `timeout after ${timeoutSec}s during ${phase}`, phase, log: logTail.slice(-20) }, 2);
}, timeoutSec * 1000);

function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// Page server: serves the bundles and a tiny page from http://localhost:<random port>
// (a secure context, so WebTransport is available).
// ---------------------------------------------------------------------------------------------
async function startServer(lib) {
	const bundle = join(here, "dist", `${lib}.js`);
	if (!existsSync(bundle)) throw Object.assign(new Error(`missing ${bundle}: run tests/interop/install.sh`), { harness: true });
	const page = `<!doctype html><meta charset="utf-8"><title>moqc interop (${lib})</title><script type="module" src="/${lib}.js"></script>\n`;
	const body = readFileSync(bundle);
	const srv = http.createServer((req, res) => {
		const path = new URL(req.url, "http://x").pathname;
		if (path === "/favicon.ico") {
			res.writeHead(204);
			res.end();
		} else if (path === "/") {
			res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
			res.end(page);
		} else if (path === `/${lib}.js`) {
			res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" });
			res.end(body);
		} else {
			res.writeHead(404, { "content-type": "text/plain" });
			res.end("not found\n");
		}
	});
	// Chromium resolves `localhost` to ::1; fall back to 127.0.0.1 (also a secure context).
	for (const [host, origin] of [
		["::1", "localhost"],
		["127.0.0.1", "127.0.0.1"],
	]) {
		const ok = await new Promise((resolve) => {
			srv.once("error", () => resolve(false));
			srv.listen(0, host, () => resolve(true));
		});
		if (ok) {
			server = srv;
			return `http://${origin}:${srv.address().port}/`;
		}
	}
	throw Object.assign(new Error("cannot listen on ::1 or 127.0.0.1"), { harness: true });
}

// ---------------------------------------------------------------------------------------------
// Chromium: spawned by us (exact flags, own process group, bounded lifetime), driven over CDP.
// ---------------------------------------------------------------------------------------------
// Harmless Chromium stderr chatter in a container (no D-Bus, no GPU, ...), kept out of logs.
const CHROMIUM_NOISE = /unexpected operator|dbus|DevTools listening|Fontconfig|ALSA|gpu_init|viz_main|GetVSyncParameters|crashpad/i;
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// A run killed with SIGKILL cannot remove its profile (Chromium itself is still bounded by
// `timeout`). Remove such leftovers once they are older than any run can last.
function removeStaleProfiles() {
	try {
		for (const name of readdirSync(tmpdir())) {
			if (!name.startsWith("moqc-interop-profile-")) continue;
			const path = join(tmpdir(), name);
			if (Date.now() - statSync(path).mtimeMs > 2 * 3600 * 1000) rmSync(path, { recursive: true, force: true });
		}
	} catch {
		// best effort
	}
}

async function launchChromium() {
	if (!existsSync(opts.chromium)) throw Object.assign(new Error(`no browser at ${opts.chromium} (apt-get install chromium, or set MOQC_CHROMIUM)`), { harness: true });
	removeStaleProfiles();
	profileDir = mkdtempSync(join(tmpdir(), "moqc-interop-profile-"));
	const args = [...CHROMIUM_FLAGS, `--user-data-dir=${profileDir}`, "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", ...opts["chromium-arg"], "about:blank"];
	// `timeout` bounds Chromium's life even if this process dies without cleaning up.
	const life = String(Math.ceil(timeoutSec) + 30);
	const hasTimeout = spawnSync("timeout", ["--version"], { stdio: "ignore" }).status === 0;
	const [cmd, argv] = hasTimeout ? ["timeout", ["-k", "5", life, opts.chromium, ...args]] : [opts.chromium, args];
	chrome = spawn(cmd, argv, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
	chromeExited = new Promise((resolve) => chrome.once("exit", resolve));
	const endpoint = await new Promise((resolve, reject) => {
		let buf = "";
		const tail = () => buf.split("\n").filter((l) => l.trim() && !CHROMIUM_NOISE.test(l)).slice(-8).join("\n");
		const waitMs = Math.min(15000, budget());
		const timer = setTimeout(() => reject(Object.assign(new Error(`Chromium did not report a DevTools endpoint within ${waitMs} ms; stderr: ${tail()}`), { harness: true })), waitMs);
		chrome.stderr.setEncoding("utf8");
		let partial = "";
		chrome.stderr.on("data", (chunk) => {
			buf += chunk;
			if (buf.length > 65536) buf = buf.slice(-32768);
			const lines = (partial + chunk).split("\n");
			partial = lines.pop();
			for (const line of lines) if (line.trim() && !CHROMIUM_NOISE.test(line)) log(`[chromium] ${line}`);
			const m = /DevTools listening on (ws:\/\/\S+)/.exec(buf);
			if (m) {
				clearTimeout(timer);
				resolve(m[1]);
			}
		});
		chrome.once("error", (err) => {
			clearTimeout(timer);
			reject(Object.assign(new Error(`cannot start ${cmd}: ${err.message}`), { harness: true }));
		});
		chrome.once("exit", (code, sig) => {
			clearTimeout(timer);
			reject(Object.assign(new Error(`Chromium exited early (code ${code}, signal ${sig}); stderr: ${tail()}`), { harness: true }));
		});
	});
	const { chromium } = await import("playwright-core");
	browser = await chromium.connectOverCDP(endpoint, { timeout: Math.min(15000, budget()) });
	const context = browser.contexts()[0] ?? (await browser.newContext());
	const page = context.pages()[0] ?? (await context.newPage());
	page.on("console", (msg) => {
		const text = msg.text();
		// Chromium explains WebTransport failures only on the console (the exception just says
		// "Opening handshake failed."); keep the last net:: error to attach to the result.
		const m = /Failed to establish a connection to (\S+): (net::\S+.*)$/.exec(text);
		if (m) netError = m[2];
		log(`[console.${msg.type()}] ${text}`);
	});
	page.on("pageerror", (err) => log(`[pageerror] ${err.message}`));
	page.on("crash", () => log("[page crashed]"));
	return page;
}

// Call window.moqtest.<method>(...args) in the page; returns { ok, value } or { ok: false, error, result }.
async function call(page, method, ...args) {
	return page.evaluate(
		async ({ method, args }) => {
			try {
				return { ok: true, value: await globalThis.moqtest[method](...args) };
			} catch (err) {
				return { ok: false, error: globalThis.moqtest.describeError(err), result: err?.result };
			}
		},
		{ method, args },
	);
}

class ScenarioError extends Error {
	constructor(message, extra = {}) {
		super(message);
		this.extra = extra;
	}
}
async function must(page, method, ...args) {
	phase = method;
	const r = await call(page, method, ...args);
	if (!r.ok) throw new ScenarioError(r.error.message, { detail: r.error, ...(r.result ? { partial: r.result } : {}) });
	return r.value;
}

function writeReady(info, path = opts["ready-file"][0]) {
	if (!path) return;
	const tmp = `${path}.tmp${process.pid}`;
	writeFileSync(tmp, `${JSON.stringify(info)}\n`);
	renameSync(tmp, path);
}

// --mode page: poll an arbitrary page (e.g. demo/web) until `done(snapshot)` holds; fail at once
// when --fail-selector matches, and with the page's text on timeout.
async function pageSnapshot(page, selector) {
	return page.evaluate(
		({ selector, lines, fail }) => {
			const f = fail ? document.querySelector(fail) : null;
			return {
				failed: f ? f.textContent.trim() || `${fail} matched` : undefined,
				matched: selector ? document.querySelector(selector) !== null : false,
				lines: lines ? Array.from(document.querySelectorAll(lines), (e) => e.textContent) : [],
				text: (document.body?.innerText ?? "").slice(0, 4000),
			};
		},
		{ selector, lines: opts["lines-selector"], fail: opts["fail-selector"] },
	);
}
async function pageWait(page, what, selector, done) {
	phase = what;
	const until = Date.now() + budget();
	for (;;) {
		const snap = await pageSnapshot(page, selector);
		const partial = { frames: snap.lines, pageText: snap.text };
		if (snap.failed !== undefined) throw new ScenarioError(`page reports an error while waiting for ${what}: ${snap.failed}`, partial);
		if (done(snap)) return snap;
		if (Date.now() >= until) throw new ScenarioError(`timeout waiting for ${what}; page says: ${snap.text.replace(/\s+/g, " ").trim().slice(0, 300)}`, partial);
		await sleep(100);
	}
}
async function pageScenario(page) {
	try {
		for (const [i, selector] of opts["ready-selector"].entries()) {
			await pageWait(page, selector, selector, (s) => s.matched);
			writeReady({ selector, t: Date.now() - started }, opts["ready-file"][i]);
			event({ event: "ready", selector });
		}
		let snap = await pageSnapshot(page);
		if (opts["lines-selector"] && count > 0) {
			await pageWait(page, `${count} line(s) matching ${opts["lines-selector"]}`, undefined, (s) => s.lines.length >= count);
			// Settle, so duplicates or extra lines show up in the result too.
			await sleep(Math.min(500, budget()));
			snap = await pageWait(page, "settled lines", undefined, () => true);
		}
		return { ok: true, mode: "page", pageUrl: opts["page-url"], frames: snap.lines, pageText: snap.text };
	} finally {
		if (opts.screenshot) await page.screenshot({ path: opts.screenshot, fullPage: true, timeout: Math.min(5000, budget()) }).catch((err) => log(`screenshot failed: ${err.message}`));
	}
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------
function connectOpts(fingerprint = opts.fingerprint) {
	return { fingerprintHex: fingerprint, protocols, transport: opts.transport, timeoutMs: budget() };
}
function connInfo(c) {
	return { version: c.version, protocol: c.protocol, offered: c.offered, pinned: c.pinned, transport: c.transport, connectMs: c.connectMs };
}
function publishOpts(conn) {
	return { conn, encoding: opts.encoding, gen, groupFrames, finishTrack: opts["finish-track"] };
}
function subscribeOpts(conn) {
	return { conn, encoding: opts.encoding, waitAnnounce: !opts["no-wait-announce"], summary: opts.summary, timeoutMs: budget() };
}

async function scenario(page) {
	const base = { mode: opts.mode, lib: opts.lib };
	switch (opts.mode) {
		case "launch": {
			phase = "launch";
			const info = await page.evaluate(() => ({ userAgent: navigator.userAgent, webTransport: typeof WebTransport, secure: isSecureContext, lib: globalThis.moqtest.lib, libVersion: globalThis.moqtest.libVersion }));
			return { ok: info.webTransport === "function" && info.secure, ...base, ...info };
		}
		case "selftest": {
			const list = protocols ?? (opts.lib === "lite" ? ["moq-lite-03", "moq-lite-04"] : ["moq-lite-03", "moq-lite-04", "moq-lite-05"]);
			const runs = [];
			for (const protocol of list) {
				const r = await must(page, "selftest", { protocol, timeoutMs: Math.min(5000, budget()) });
				// The page's generator + digests must agree with ours (used by --expect-gen).
				if (JSON.stringify(r.gen.frames) !== JSON.stringify(genDigests(r.gen))) r.ok = false;
				r.gen = { count: r.gen.count, size: r.gen.size, ok: r.ok };
				runs.push(r);
			}
			return { ok: runs.every((r) => r.ok), ...base, runs };
		}
		case "wt-echo": {
			phase = "wt-echo";
			const r = await page.evaluate((a) => globalThis.moqtest.wtEcho(a.url, a.o), {
				url: opts.url,
				o: {
					fingerprintHex: opts.fingerprint,
					protocols: protocols ?? ["moq-lite-05", "moq-lite-04", "moq-lite-03", "moql"],
					message: opts["wt-message"],
					size: int("wt-size", opts["wt-size"]),
					streams: int("wt-streams", opts["wt-streams"], 1),
					checks: opts["wt-checks"].split(",").filter(Boolean),
					timeoutMs: budget(),
				},
			});
			return { ...r, mode: opts.mode };
		}
		case "connect": {
			const c = await must(page, "connect", opts.url, connectOpts());
			await must(page, "close", c.conn);
			return { ok: true, ...base, ...connInfo(c) };
		}
		case "publish": {
			const c = await must(page, "connect", opts.url, connectOpts());
			event({ event: "connected", ...connInfo(c) });
			const p = await must(page, "publish", opts.broadcast, opts.track, frames, publishOpts(c.conn));
			event({ event: "published", broadcast: opts.broadcast, track: opts.track, frames: p.frames });
			writeReady({ ...connInfo(c), broadcast: opts.broadcast, track: opts.track, pid: process.pid });
			let served = { served: 0, requests: [] };
			if (requests > 0) {
				served = await must(page, "served", p.pub, requests, { timeoutMs: budget(), lingerMs: Math.min(lingerMs, Math.max(0, budget() - 250)) });
			} else {
				phase = "hold";
				await sleep(Math.min(holdMs, budget()));
				served = await must(page, "served", p.pub, 0, { timeoutMs: 250 });
			}
			await must(page, "close", c.conn);
			return { ok: true, ...base, ...connInfo(c), served: served.served, requests: served.requests };
		}
		case "subscribe": {
			const c = await must(page, "connect", opts.url, connectOpts());
			event({ event: "connected", ...connInfo(c) });
			const s = await must(page, "subscribe", opts.broadcast, opts.track, count, subscribeOpts(c.conn));
			await must(page, "close", c.conn);
			return { ok: true, ...base, ...connInfo(c), ...s };
		}
		case "announced": {
			const c = await must(page, "connect", opts.url, connectOpts());
			event({ event: "connected", ...connInfo(c) });
			const a = await must(page, "announced", opts.prefix, count, { conn: c.conn, timeoutMs: budget() });
			await must(page, "close", c.conn);
			return { ok: true, ...base, ...connInfo(c), prefix: opts.prefix, ...a };
		}
		case "page":
			return pageScenario(page);
		case "pubsub": {
			const pc = await must(page, "connect", opts.url, connectOpts());
			const p = await must(page, "publish", opts.broadcast, opts.track, frames, publishOpts(pc.conn));
			const sc = await must(page, "connect", opts["sub-url"] ?? opts.url, connectOpts(opts["sub-fingerprint"] ?? opts.fingerprint));
			const s = await must(page, "subscribe", opts.broadcast, opts.track, count, subscribeOpts(sc.conn));
			const served = await must(page, "served", p.pub, 1, { timeoutMs: Math.min(2000, budget()) });
			await must(page, "close", sc.conn);
			await must(page, "close", pc.conn);
			return { ok: true, ...base, ...connInfo(sc), publisher: { ...connInfo(pc), served: served.served }, ...s };
		}
	}
	throw new Error(`unhandled mode ${opts.mode}`);
}

// Expected SHA-256 digests for --gen N:SIZE frames (same generator as src/common.js genFrame).
function genDigests(spec) {
	const out = [];
	for (let i = 0; i < spec.count; i++) {
		const b = Buffer.alloc(spec.size);
		for (let j = 0; j < spec.size; j++) b[j] = (i * 31 + j) & 0xff;
		for (let k = 0; k < 4 && k < spec.size; k++) b[k] = (i >>> (8 * (3 - k))) & 0xff;
		out.push({ len: spec.size, sha256: createHash("sha256").update(b).digest("hex") });
	}
	return out;
}

function checkExpectations(result) {
	const fails = [];
	if (expectFrames !== undefined) {
		const want = expectFrames;
		if (JSON.stringify(result.frames) !== JSON.stringify(want)) fails.push(`frames: expected ${JSON.stringify(want)}, got ${JSON.stringify(result.frames)}`);
	}
	if (expectGen) {
		const want = genDigests(expectGen);
		if (JSON.stringify(result.frames) !== JSON.stringify(want)) fails.push(`generated frames: expected ${want.length} matching digests, got ${JSON.stringify(result.frames)?.slice(0, 300)}`);
	}
	if (opts["expect-protocol"] !== undefined) {
		const got = result.protocol ?? "";
		if (got !== opts["expect-protocol"]) fails.push(`protocol: expected ${JSON.stringify(opts["expect-protocol"])}, got ${JSON.stringify(got)}`);
	}
	if (opts["expect-version"] !== undefined && result.version !== opts["expect-version"]) fails.push(`version: expected ${opts["expect-version"]}, got ${result.version}`);
	for (const re of expectText) if (!re.test(result.pageText ?? "")) fails.push(`page text does not match /${re.source}/: ${JSON.stringify((result.pageText ?? "").slice(0, 300))}`);
	return fails;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
(async () => {
	let result;
	let code;
	try {
		phase = "serve";
		const pageUrl = opts.mode === "page" ? opts["page-url"] : await startServer(opts.mode === "wt-echo" ? "net" : opts.lib);
		phase = "launch-chromium";
		const page = await launchChromium();
		phase = "load-page";
		await page.goto(pageUrl, { timeout: Math.min(15000, budget()) });
		if (opts.mode !== "page") await page.waitForFunction(() => globalThis.moqtest?.ready === true, null, { timeout: Math.min(15000, budget()) });
		event({ event: "page-ready", lib: opts.lib });
		result = await scenario(page);
		if (!result.ok && !result.error) result.error = "scenario reported failure";
		const fails = result.ok ? checkExpectations(result) : [];
		if (fails.length) result = { ...result, ok: false, error: `expectation failed: ${fails.join("; ")}` };
		code = result.ok ? 0 : 1;
	} catch (err) {
		const harness = err?.harness === true;
		result = { ok: false, mode: opts.mode, lib: opts.lib, error: err?.message ?? String(err), phase, ...(err?.extra ?? {}) };
		code = harness ? 4 : 1;
	}
	if (!result.ok) {
		if (netError) {
			result.netError = netError;
			if (/handshake failed/i.test(result.error ?? "") && !result.error.includes("net::")) result.error += ` (${netError})`;
		}
		result.log = logTail.slice(-20);
	}
	if (expectError && code !== 4) {
		// Negative test: the scenario must fail, with a matching message.
		if (result.ok) result = { ...result, ok: false, error: `expected failure matching /${expectError.source}/, but the scenario succeeded` };
		else if (expectError.test(result.error)) result = { ok: true, mode: opts.mode, lib: opts.lib, expectedError: result.error, phase: result.phase };
		else result = { ...result, error: `expected failure matching /${expectError.source}/, got: ${result.error}` };
		code = result.ok ? 0 : 1;
	}
	clearTimeout(globalTimer);
	await finish(result, code);
})();
