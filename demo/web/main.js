// moqc browser demo: subscribe to one track of a broadcast on moqc-relay with @moq/net and
// print every frame as a line of text. Bundled by serve.mjs (esbuild); plain DOM, no framework.
//
// The flow is what any moq-lite subscriber does:
//   1. connect (an http:// URL makes @moq/net fetch /certificate.sha256 first and pin that
//      hash, which is how a browser accepts moqc-relay's self-signed certificate);
//   2. wait until the broadcast is announced (subscribing to a path nobody publishes is refused);
//   3. subscribe to the track and read groups; each group is a QUIC stream, so groups may arrive
//      out of order; lines are inserted in (group, frame) order.
// When the publisher goes away and comes back, the page subscribes again (a new section).
import * as Moq from "@moq/net";

const CONNECT_TIMEOUT_MS = 10000;
const MAX_LINES = 1000; // per subscription; older lines are dropped

const $ = (id) => document.getElementById(id);
const form = $("form");
const statusEl = $("status");
const versionEl = $("version");
const errorEl = $("error");
const framesEl = $("frames");
const decoder = new TextDecoder(); // replaces invalid UTF-8 instead of throwing
// moq-lite error codes (moq-dev's Error::to_code), for readable RESET_STREAM / close reasons.
const CODES = { 0: "Cancel", 3: "Timeout", 4: "Transport", 6: "Unauthorized", 13: "NotFound", 15: "ProtocolViolation", 17: "Unsupported", 24: "Dropped", 25: "Closed", 30: "Unroutable" };

let session; // the running subscription: { stop() }

function setStatus(state, text) {
	statusEl.dataset.state = state;
	statusEl.textContent = text;
}

function showError(err) {
	const message = describe(err);
	errorEl.textContent = message;
	errorEl.hidden = false;
	setStatus("error", "error (see below)");
	console.error(err);
}

// One readable line out of whatever was thrown, with a hint for the usual setup mistakes.
function describe(err) {
	let msg = err?.message || String(err);
	if (err instanceof AggregateError && err.errors?.length) msg = err.errors.map((e) => e?.message || String(e)).join("; ");
	if (err?.code !== undefined) msg += ` (code ${err.code}${CODES[Number(err.code)] ? ` ${CODES[Number(err.code)]}` : ""})`;
	const url = $("url").value;
	if (/Failed to fetch|NetworkError/i.test(msg)) msg += `\nIs moqc-relay running? For an http:// URL the page first fetches ${new URL("/certificate.sha256", url)} over TCP.`;
	else if (/handshake failed/i.test(msg)) msg += "\nThe WebTransport handshake was refused: relay not listening on that UDP port, or a certificate the browser does not accept.";
	return msg;
}

// Insert a line so that each subscription's list stays ordered by (group, frame).
function addLine(list, group, frame, text) {
	const li = document.createElement("li");
	li.className = "frame";
	li.dataset.group = group;
	li.dataset.frame = frame;
	const meta = document.createElement("span");
	meta.className = "meta";
	meta.textContent = `${group}.${frame}`;
	const body = document.createElement("span");
	body.className = "text";
	body.textContent = text; // textContent: a frame is text, never markup
	li.append(meta, body);
	let next = null;
	for (let el = list.lastElementChild; el; el = el.previousElementSibling) {
		const g = Number(el.dataset.group);
		const f = Number(el.dataset.frame);
		if (g < group || (g === group && f < frame)) break;
		next = el;
	}
	list.insertBefore(li, next);
	if (list.childElementCount > MAX_LINES) list.firstElementChild.remove();
}

function newSection(title) {
	const section = document.createElement("section");
	const h2 = document.createElement("h2");
	h2.textContent = `${title} — ${new Date().toLocaleTimeString()}`;
	const list = document.createElement("ol");
	section.append(h2, list);
	framesEl.prepend(section); // newest subscription on top
	return list;
}

// Subscribe to `track` of the announced broadcast `path`; returns a handle to close it.
function subscribe(conn, path, track, signal) {
	const broadcast = conn.consume(path);
	const sub = broadcast.track(track).subscribe({ priority: 0 });
	const list = newSection(`${path} / ${track}`);
	let closed = false;
	const live = () => !closed && !signal.aborted;
	const readGroup = async (group) => {
		for (let i = 0; ; i++) {
			const frame = await group.readFrame();
			if (!frame) return;
			addLine(list, group.sequence, i, decoder.decode(frame.payload));
		}
	};
	(async () => {
		setStatus("subscribing", `subscribing to ${path} / ${track}…`);
		await sub.info(); // resolves once the publisher's side accepted the track
		if (!live()) return;
		setStatus("subscribed", `subscribed to ${path} / ${track}`);
		for (;;) {
			const group = await sub.recvGroup();
			if (!group) break;
			readGroup(group).catch((err) => live() && showError(new Error(`group ${group.sequence}: ${describe(err)}`)));
		}
		if (live()) setStatus("waiting", `track ended; waiting for "${path}" to be announced again…`);
	})().catch((err) => {
		if (live()) showError(new Error(`track "${track}" of "${path}": ${describe(err)}`));
	});
	return {
		close() {
			closed = true;
			sub.close();
			broadcast.close();
		},
	};
}

async function run({ url, broadcast, track }, signal) {
	errorEl.hidden = true;
	versionEl.textContent = "–";
	setStatus("connecting", `connecting to ${url}…`);
	const conn = await Moq.Connection.connect(new URL(url), {
		// moqc-relay speaks WebTransport only: no WebSocket fallback, so errors stay clear.
		websocket: { enabled: false },
		signal: AbortSignal.any([signal, AbortSignal.timeout(CONNECT_TIMEOUT_MS)]),
	});
	const closed = conn.closed.then(
		() => undefined,
		(err) => err,
	);
	signal.addEventListener("abort", () => conn.close(), { once: true });
	versionEl.textContent = `${conn.version} over ${conn.transport}`;

	const path = Moq.Path.from(broadcast);
	const announced = conn.announced(Moq.Path.from(""));
	let current;
	setStatus("waiting", `connected; waiting for broadcast "${path}" to be announced…`);
	try {
		for (;;) {
			const entry = await Promise.race([announced.next(), closed.then((err) => ({ closed: err ?? true }))]);
			if (signal.aborted) return;
			if (!entry || entry.closed) {
				const why = entry?.closed instanceof Error ? `: ${describe(entry.closed)}` : "";
				throw new Error(`the relay closed the connection${why}`);
			}
			if (entry.path !== path) continue;
			current?.close();
			current = undefined;
			if (entry.active) current = subscribe(conn, path, track, signal);
			else setStatus("waiting", `broadcast "${path}" ended; waiting for it to come back…`);
		}
	} finally {
		current?.close();
		announced.close();
	}
}

// Subscribe (again): stops the running session first, so the button also applies form edits.
function start() {
	session?.stop();
	const params = { url: $("url").value.trim(), broadcast: $("broadcast").value.trim(), track: $("track").value.trim() };
	const abort = new AbortController();
	$("stop").disabled = false;
	const me = {
		stop() {
			abort.abort(new Error("stopped"));
			if (session === me) session = undefined;
			$("stop").disabled = true;
			setStatus("idle", "stopped");
		},
	};
	session = me;
	run(params, abort.signal)
		.catch((err) => {
			if (abort.signal.aborted && session !== me) return; // stopped by the user
			if (err?.name === "TimeoutError") err = new Error(`connect timed out after ${CONNECT_TIMEOUT_MS / 1000} s`);
			showError(err);
		})
		.finally(() => {
			if (session === me) {
				session = undefined;
				$("stop").disabled = true;
			}
		});
}

// Form defaults can be overridden from the query string: ?url=...&broadcast=...&track=...&autostart=1
const query = new URLSearchParams(location.search);
for (const name of ["url", "broadcast", "track"]) if (query.has(name)) $(name).value = query.get(name);
form.addEventListener("submit", (e) => {
	e.preventDefault();
	start();
});
$("stop").addEventListener("click", () => session?.stop());
$("lib").textContent = `@moq/net ${__MOQ_NET_VERSION__}`;
if (typeof WebTransport === "undefined") {
	showError(new Error("this browser has no WebTransport (needs Chromium/Chrome/Edge or Firefox, on http://localhost or https)"));
} else {
	setStatus("idle", "idle");
	if (query.get("autostart") === "1") start();
}
