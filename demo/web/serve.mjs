#!/usr/bin/env node
// Serves the moqc browser demo on http://localhost:8080/ (a secure context, so WebTransport works).
//
//   node demo/web/serve.mjs [--port 8080] [--host ADDR]
//
// main.js is bundled in memory with esbuild against the @moq/net pinned in tests/interop
// (tests/interop/install.sh is run first if that is not installed yet; it needs the npm
// registry once). Nothing is written to the source tree. Prints the page URL on stdout, one
// line; everything else goes to stderr. Stops on SIGINT/SIGTERM.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const interop = join(here, "..", "..", "tests", "interop");
const modules = join(interop, "node_modules");

const USAGE = `usage: node demo/web/serve.mjs [--port N] [--host ADDR]
  --port N     TCP port (default 8080; 0 = any free port)
  --host ADDR  listen address (default: loopback, ::1 and 127.0.0.1). Browsers allow
               WebTransport only in secure contexts: http://localhost or https.`;

function die(msg, code = 1) {
	process.stderr.write(`serve.mjs: ${msg}\n`);
	process.exit(code);
}

let opts;
try {
	opts = parseArgs({
		options: { port: { type: "string", short: "p", default: "8080" }, host: { type: "string" }, help: { type: "boolean", short: "h" } },
	}).values;
} catch (err) {
	die(`${err.message}\n${USAGE}`, 2);
}
if (opts.help) {
	process.stdout.write(`${USAGE}\n`);
	process.exit(0);
}
const port = Number(opts.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) die(`bad --port ${opts.port}\n${USAGE}`, 2);

// 1. Dependencies: the interop harness pins @moq/net and esbuild; install them if missing.
if (!existsSync(join(modules, "@moq", "net", "package.json")) || !existsSync(join(modules, "@moq", "watch", "package.json")) || !existsSync(join(modules, "esbuild", "package.json"))) {
	process.stderr.write("serve.mjs: installing @moq/net + esbuild (tests/interop/install.sh)\n");
	const r = spawnSync(join(interop, "install.sh"), { stdio: ["ignore", "inherit", "inherit"] });
	if (r.status !== 0) die("tests/interop/install.sh failed (node/npm installed? npm registry reachable?)");
}

// 2. Bundle main.js in memory.
const require = createRequire(join(interop, "package.json"));
const esbuild = require("esbuild");
const netVersion = JSON.parse(readFileSync(join(modules, "@moq", "net", "package.json"), "utf8")).version;
let bundle;
try {
	const out = await esbuild.build({
		entryPoints: [join(here, "main.js")],
		bundle: true,
		write: false,
		format: "esm",
		platform: "browser",
		target: "chrome120",
		nodePaths: [modules],
		define: { __MOQ_NET_VERSION__: JSON.stringify(netVersion) },
		legalComments: "none",
		logLevel: "silent",
	});
	bundle = out.outputFiles[0].contents;
} catch (err) {
	die(`bundling main.js failed:\n${err.message}`);
}
// Watch mode (/watch.html): <moq-watch> from @moq/watch (its own @moq/net).
let watchBundle;
try {
	const out = await esbuild.build({
		entryPoints: [join(here, "watch.js")],
		bundle: true,
		write: false,
		format: "esm",
		platform: "browser",
		target: "chrome120",
		nodePaths: [modules],
		legalComments: "none",
		logLevel: "silent",
	});
	watchBundle = out.outputFiles[0].contents;
} catch (err) {
	die(`bundling watch.js failed:\n${err.message}`);
}

// 3. Serve index.html (read per request, so edits show on reload) and the bundle.
function handler(req, res) {
	const path = new URL(req.url, "http://x").pathname;
	const send = (code, type, body) => {
		res.writeHead(code, { "content-type": type, "cache-control": "no-store" });
		res.end(body);
	};
	if (req.method !== "GET" && req.method !== "HEAD") send(405, "text/plain", "method not allowed\n");
	else if (path === "/" || path === "/index.html") send(200, "text/html; charset=utf-8", readFileSync(join(here, "index.html")));
	else if (path === "/main.js") send(200, "text/javascript; charset=utf-8", bundle);
	else if (path === "/watch.html") send(200, "text/html; charset=utf-8", readFileSync(join(here, "watch.html")));
	else if (path === "/watch.js") send(200, "text/javascript; charset=utf-8", watchBundle);
	else if (path === "/favicon.ico") send(204, "text/plain", "");
	else send(404, "text/plain", "not found\n");
}

function listen(host, p) {
	return new Promise((resolve, reject) => {
		const srv = http.createServer(handler);
		srv.once("error", reject);
		srv.listen(p, host, () => resolve(srv));
	});
}

// Loopback on both families (browsers resolve localhost to ::1 or 127.0.0.1), same port.
const servers = [];
const hosts = opts.host ? [opts.host] : ["::1", "127.0.0.1"];
let bound = port;
let lastErr;
for (const host of hosts) {
	try {
		const srv = await listen(host, bound);
		bound = srv.address().port;
		servers.push(srv);
	} catch (err) {
		lastErr = err;
		process.stderr.write(`serve.mjs: cannot listen on ${host}:${bound}: ${err.message}\n`);
	}
}
if (servers.length === 0) die(`no listener (${lastErr?.message}); try --port 0 or another --port`);

const shown = opts.host && !["::1", "127.0.0.1", "localhost", "::", "0.0.0.0"].includes(opts.host) ? (opts.host.includes(":") ? `[${opts.host}]` : opts.host) : "localhost";
process.stdout.write(`http://${shown}:${bound}/\n`);
process.stderr.write(`serve.mjs: moqc demo page (@moq/net ${netVersion}) at http://${shown}:${bound}/ - add ?autostart=1 to subscribe at once; Ctrl-C stops\n`);

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
	process.on(sig, () => {
		for (const srv of servers) srv.close();
		for (const srv of servers) srv.closeAllConnections?.();
		process.exit(0);
	});
}
