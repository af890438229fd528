// Shared browser-side code for the moqc interop harness.
//
// Each bundle (dist/lite.js, dist/net.js) imports this module and calls install() with an
// adapter that hides the differences between @moq/lite 0.2.2 and @moq/net 0.3.x. The result
// is one uniform `window.moqtest` API that tests/interop/run.mjs drives through playwright.
// Every operation here has its own timeout: nothing may wait forever.

// ---------------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------------

export function hexToBytes(hex) {
	const clean = String(hex).replace(/[^0-9a-fA-F]/g, "");
	if (clean.length === 0 || clean.length % 2 !== 0) throw new Error(`bad hex: ${hex}`);
	const out = new Uint8Array(clean.length / 2);
	for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
	return out;
}

export function bytesToHex(bytes) {
	return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function bytesToBase64(bytes) {
	let s = "";
	for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	return btoa(s);
}

export function base64ToBytes(b64) {
	const s = atob(b64);
	const out = new Uint8Array(s.length);
	for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
	return out;
}

const utf8 = new TextEncoder();
const utf8dec = new TextDecoder("utf-8", { fatal: true });

export function encodeFrame(str, encoding) {
	if (encoding === "base64") return base64ToBytes(str);
	if (encoding === "hex") return str === "" ? new Uint8Array(0) : hexToBytes(str);
	return utf8.encode(str);
}

export function decodeFrame(bytes, encoding) {
	if (encoding === "base64") return bytesToBase64(bytes);
	if (encoding === "hex") return bytesToHex(bytes);
	try {
		return utf8dec.decode(bytes);
	} catch {
		// Not UTF-8: never lose data silently, mark it.
		return `base64:${bytesToBase64(bytes)}`;
	}
}

// Deterministic generated payloads (--gen N:SIZE). Frame i: 4-byte big-endian i, then
// byte j = (i * 31 + j) & 0xff. run.mjs computes the same digests to check them.
export function genFrame(i, size) {
	const out = new Uint8Array(size);
	for (let j = 0; j < size; j++) out[j] = (i * 31 + j) & 0xff;
	for (let k = 0; k < 4 && k < size; k++) out[k] = (i >>> (8 * (3 - k))) & 0xff;
	return out;
}

export async function sha256Hex(bytes) {
	return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

export function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

// Race a promise against a deadline; the error names what was being waited for.
export function withTimeout(promise, ms, what) {
	ms = Math.max(1, Math.round(ms));
	let timer;
	const deadline = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
	});
	return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// Turn anything thrown (AggregateError from Promise.any, WebTransportError, RemoteError, ...)
// into a plain JSON-able description.
export function describeError(err) {
	if (err === undefined || err === null) return { message: String(err) };
	if (typeof err !== "object") return { message: String(err) };
	const out = { name: err.name, message: err.message ?? String(err) };
	if (err.code !== undefined) out.code = typeof err.code === "bigint" ? Number(err.code) : err.code;
	if (err.source !== undefined) out.source = err.source; // WebTransportError
	if (err.streamErrorCode !== undefined && err.streamErrorCode !== null) out.streamErrorCode = err.streamErrorCode;
	if (err instanceof AggregateError || Array.isArray(err.errors)) {
		out.errors = (err.errors ?? []).map(describeError);
		const inner = out.errors.map((e) => e.message).filter(Boolean);
		if (inner.length) out.message = `${out.message}: ${inner.join("; ")}`;
	}
	if (err.cause !== undefined) out.cause = describeError(err.cause);
	return out;
}

// ---------------------------------------------------------------------------------------------
// WebTransport spy: records every session the library opens (protocols offered, negotiated
// protocol) without changing behaviour. Both libraries call `new WebTransport(...)` through the
// global at connect time, so wrapping the global is enough.
// ---------------------------------------------------------------------------------------------

const NativeWebTransport = globalThis.WebTransport;
export const opened = []; // { url, options, transport }

if (NativeWebTransport) {
	class SpyWebTransport extends NativeWebTransport {
		constructor(url, options) {
			super(url, options);
			const hashes = (options?.serverCertificateHashes ?? []).map((h) => ({
				algorithm: h.algorithm,
				value: h.value instanceof ArrayBuffer || ArrayBuffer.isView(h.value) ? bytesToHex(new Uint8Array(h.value.buffer ?? h.value, h.value.byteOffset ?? 0, h.value.byteLength)) : String(h.value),
			}));
			const entry = { url: String(url), protocols: options?.protocols, hashes, transport: this, ready: false, closed: false };
			this.ready.then(
				() => (entry.ready = true),
				() => {},
			);
			this.closed.then(
				() => (entry.closed = true),
				() => (entry.closed = true),
			);
			opened.push(entry);
		}
	}
	globalThis.WebTransport = SpyWebTransport;
}

// ---------------------------------------------------------------------------------------------
// Plain WebTransport echo check (no MoQ): the transport-layer contract with the C echo server.
//   bidi:     server echoes every byte of each client bidi stream back on that stream, then FIN.
//   uni:      for each client uni stream, server opens a uni stream carrying the same bytes + FIN.
//   datagram: server echoes every datagram.
// ---------------------------------------------------------------------------------------------

// Read a stream to FIN. Once `expect` bytes have arrived, wait at most `finGraceMs` for the FIN
// so a peer that sends the data but never finishes the stream is reported as such (fin: false)
// instead of as a timeout.
async function readAll(readable, limit, expect = Infinity, finGraceMs = 1000) {
	const reader = readable.getReader();
	const chunks = [];
	let total = 0;
	let fin = false;
	try {
		for (;;) {
			let next = reader.read();
			if (total >= expect) {
				const grace = sleep(finGraceMs).then(() => "grace");
				next = Promise.race([next, grace]);
			}
			const r = await next;
			if (r === "grace") {
				console.debug(`wt-echo: ${total} bytes but no FIN after ${finGraceMs} ms`);
				reader.cancel().catch(() => {});
				break;
			}
			const { value, done } = r;
			console.debug(`wt-echo: read ${done ? "FIN" : `${value.byteLength} bytes`}`);
			if (done) {
				fin = true;
				break;
			}
			chunks.push(value);
			total += value.byteLength;
			if (total > limit) throw new Error(`read more than ${limit} bytes`);
		}
	} finally {
		reader.releaseLock();
	}
	const out = new Uint8Array(total);
	let off = 0;
	for (const c of chunks) {
		out.set(c, off);
		off += c.byteLength;
	}
	return { bytes: out, fin };
}

async function writeAll(writable, bytes) {
	const writer = writable.getWriter();
	try {
		// Write in pieces so large payloads exercise flow control rather than one giant chunk.
		for (let off = 0; off < bytes.byteLength; off += 65536) {
			await writer.write(bytes.subarray(off, Math.min(off + 65536, bytes.byteLength)));
		}
		console.debug(`wt-echo: wrote ${bytes.byteLength} bytes, closing`);
		await writer.close();
		console.debug("wt-echo: write side closed");
	} finally {
		writer.releaseLock();
	}
}

function echoPayload(kind, index, message, size) {
	const head = utf8.encode(`${kind}#${index}:${message}`);
	if (!size || size <= head.byteLength) return head;
	const out = new Uint8Array(size);
	out.set(head);
	for (let j = head.byteLength; j < size; j++) out[j] = (j * 7 + index) & 0xff;
	return out;
}

function sameBytes(a, b) {
	if (a.byteLength !== b.byteLength) return false;
	for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
	return true;
}

function preview(bytes) {
	const text = decodeFrame(bytes.subarray(0, 64), "utf8");
	return bytes.byteLength > 64 ? `${text}... (${bytes.byteLength} bytes)` : text;
}

export async function wtEcho(url, opts = {}) {
	const timeoutMs = opts.timeoutMs ?? 10000;
	const checks = opts.checks ?? ["bidi", "uni", "datagram"];
	const streams = opts.streams ?? 1;
	const message = opts.message ?? "moqc-wt-echo";
	const size = opts.size ?? 0;
	const options = { allowPooling: false };
	if (opts.protocols) options.protocols = opts.protocols;
	if (opts.fingerprintHex) options.serverCertificateHashes = [{ algorithm: "sha-256", value: hexToBytes(opts.fingerprintHex) }];
	const result = { ok: false, url, offered: opts.protocols ?? [] };
	const started = performance.now();
	const wt = new WebTransport(url, options);
	wt.closed.catch(() => {});
	try {
		await withTimeout(wt.ready, timeoutMs, "WebTransport ready");
		result.connectMs = Math.round(performance.now() - started);
		result.protocol = wt.protocol ?? null;
		result.maxDatagramSize = wt.datagrams?.maxDatagramSize ?? null;

		const tasks = [];
		if (checks.includes("bidi")) {
			tasks.push(
				(async () => {
					const runs = [];
					for (let i = 0; i < streams; i++) {
						runs.push(
							(async () => {
								const payload = echoPayload("bidi", i, message, size);
								const bidi = await wt.createBidirectionalStream();
								const [, echoed] = await Promise.all([writeAll(bidi.writable, payload), readAll(bidi.readable, payload.byteLength * 2 + 1024, payload.byteLength)]);
								const dataOk = sameBytes(payload, echoed.bytes);
								return { ok: dataOk && echoed.fin, dataOk, fin: echoed.fin, sent: payload.byteLength, received: echoed.bytes.byteLength, echo: preview(echoed.bytes) };
							})(),
						);
					}
					const res = await withTimeout(Promise.all(runs), timeoutMs, "bidi echo");
					result.bidi = { ok: res.every((r) => r.ok), streams: res };
				})(),
			);
		}
		if (checks.includes("uni")) {
			tasks.push(
				(async () => {
					const payloads = [];
					for (let i = 0; i < streams; i++) payloads.push(echoPayload("uni", i, message, size));
					const minLen = Math.min(...payloads.map((p) => p.byteLength));
					const incoming = wt.incomingUnidirectionalStreams.getReader();
					const receive = (async () => {
						const got = [];
						while (got.length < streams) {
							const { value, done } = await incoming.read();
							if (done) throw new Error(`incoming uni streams ended after ${got.length}`);
							got.push(readAll(value, (size || 1024) * 2 + 1024, minLen));
						}
						return Promise.all(got);
					})();
					const send = Promise.all(payloads.map(async (p) => writeAll(await wt.createUnidirectionalStream(), p)));
					try {
						const [, echoed] = await withTimeout(Promise.all([send, receive]), timeoutMs, "uni echo");
						const unmatched = [...echoed];
						const res = payloads.map((p) => {
							const k = unmatched.findIndex((e) => sameBytes(p, e.bytes));
							const match = k >= 0 ? unmatched.splice(k, 1)[0] : undefined;
							return { ok: !!match && match.fin, dataOk: !!match, fin: match ? match.fin : null, sent: p.byteLength };
						});
						result.uni = { ok: res.every((r) => r.ok), streams: res, received: echoed.map((e) => preview(e.bytes)) };
					} finally {
						incoming.releaseLock();
					}
				})(),
			);
		}
		if (checks.includes("datagram")) {
			tasks.push(
				(async () => {
					const payload = utf8.encode(`dgram:${message}`.slice(0, 200));
					const writer = wt.datagrams.writable.getWriter();
					const reader = wt.datagrams.readable.getReader();
					let sent = 0;
					let stop = false;
					const sender = (async () => {
						// Datagrams are unreliable: resend every 100 ms until the echo arrives.
						while (!stop) {
							await writer.write(payload);
							sent++;
							await sleep(100);
						}
					})().catch((err) => console.debug(`wt-echo: datagram send failed: ${err?.message}`));
					try {
						const { value, done } = await withTimeout(reader.read(), timeoutMs, "datagram echo");
						if (done) throw new Error("datagram readable closed");
						result.datagram = { ok: sameBytes(payload, value), sent, received: preview(value) };
					} finally {
						stop = true;
						await sender;
						reader.releaseLock();
						writer.releaseLock();
					}
				})(),
			);
		}
		const settled = await Promise.allSettled(tasks);
		const failures = settled.filter((s) => s.status === "rejected").map((s) => describeError(s.reason));
		if (failures.length) result.errors = failures;
		result.ok = failures.length === 0 && checks.every((c) => result[c]?.ok);
		if (!result.ok && !result.error) {
			const bad = checks.filter((c) => !result[c]?.ok);
			const why = bad.map((c) => {
				const st = result[c]?.streams ?? [];
				if (st.some((x) => x.dataOk && !x.fin)) return `${c} (data echoed but no FIN)`;
				if (st.some((x) => !x.dataOk)) return `${c} (echo mismatch)`;
				return c;
			});
			result.error = `wt-echo failed: ${why.join(", ")}${failures.length ? ` (${failures.map((f) => f.message).join("; ")})` : ""}`;
		}
	} catch (err) {
		result.ok = false;
		result.error = describeError(err).message;
		result.detail = describeError(err);
	} finally {
		try {
			wt.close({ closeCode: 0, reason: "wt-echo done" });
		} catch {
			// already closed
		}
	}
	return result;
}

// ---------------------------------------------------------------------------------------------
// The moqtest API
// ---------------------------------------------------------------------------------------------

// adapter = {
//   lib, libVersion, Path,
//   connect(url, {webtransport, websocket, signal}) -> Established
//   version(conn) -> string
//   publish(conn, broadcastPath, trackName, { onRequest(name, writer), onError(err) }) -> { close() }
//       onRequest is called once per wire subscription; writer = { writeGroup(payloads, firstIndex), finish(), reject(err) }
//   subscribe(conn, broadcastPath, trackName) -> { recvGroup(), close() } groups: { sequence, readFrame() -> {payload, timestampMs?} }
//   announced(conn, prefix) -> { next(), close() }, entries { path, active, hops?, origin? }
//   fullPath(prefix, entryPath) -> full broadcast path
//   selftestPair(protocol) -> { client: Established, server: Established }
// }

export function install(adapter) {
	const conns = new Map(); // id -> { conn, info }
	const pubs = new Map(); // id -> publication state
	let nextConn = 1;
	let nextPub = 1;
	let lastConn;

	function getConn(id) {
		const key = id ?? lastConn;
		const entry = conns.get(key);
		if (!entry) throw new Error(`no connection ${key ?? "(none connected)"}`);
		return entry.conn;
	}

	function register(conn, info) {
		const id = nextConn++;
		conns.set(id, { conn, info });
		lastConn = id;
		conn.closed?.then?.(
			() => (info.closed = true),
			(e) => (info.closed = describeError(e).message),
		);
		return id;
	}

	async function connect(url, opts = {}) {
		const timeoutMs = opts.timeoutMs ?? 10000;
		const webtransport = {};
		if (opts.fingerprintHex) webtransport.serverCertificateHashes = [{ algorithm: "sha-256", value: hexToBytes(opts.fingerprintHex) }];
		if (opts.protocols && opts.protocols.length) webtransport.protocols = opts.protocols;
		const mode = opts.transport ?? "webtransport";
		const websocket = mode === "webtransport" ? { enabled: false } : { enabled: true, delay: mode === "websocket" ? 0 : undefined };
		const before = opened.length;
		// Forcing WebSocket: hide WebTransport from the library for the duration of connect().
		const saved = globalThis.WebTransport;
		if (mode === "websocket") globalThis.WebTransport = undefined;
		const abort = new AbortController();
		let conn;
		const started = performance.now();
		try {
			conn = await withTimeout(adapter.connect(new URL(url), { webtransport, websocket, signal: abort.signal }), timeoutMs, `connect ${url}`);
		} catch (err) {
			abort.abort(new Error("connect timed out"));
			// Close any half-open session so the browser does not keep retrying.
			for (const o of opened.slice(before)) {
				try {
					o.transport.close();
				} catch {
					// ignore
				}
			}
			throw err;
		} finally {
			if (mode === "websocket") globalThis.WebTransport = saved;
		}
		// The session the library kept (it may have opened only one; the last is the winner).
		const wt = opened.length > before ? opened[opened.length - 1] : undefined;
		const info = {
			url,
			lib: adapter.lib,
			libVersion: adapter.libVersion,
			version: adapter.version(conn),
			transport: adapter.transportOf?.(conn) ?? (wt && wt.ready && !wt.closed ? "webtransport" : "websocket"),
			protocol: wt ? (wt.transport.protocol ?? null) : null,
			offered: wt ? (wt.protocols ?? null) : null,
			pinned: wt ? wt.hashes.map((h) => h.value) : [],
			connectMs: Math.round(performance.now() - started),
		};
		const id = register(conn, info);
		return { conn: id, ...info };
	}

	// Publish `frames` on broadcast/track. Serving is on demand: every subscription request
	// for `track` gets all frames, written as groups of `groupFrames` frames (default: one
	// group holding every frame). Returns at once; await served() for completion.
	function publish(broadcast, track, frames, opts = {}) {
		const conn = getConn(opts.conn);
		const encoding = opts.encoding ?? "utf8";
		const payloads = opts.gen ? Array.from({ length: opts.gen.count }, (_, i) => genFrame(i, opts.gen.size)) : (frames ?? []).map((f) => encodeFrame(f, encoding));
		const groupFrames = Math.max(1, opts.groupFrames || payloads.length || 1);
		const id = nextPub++;
		const state = { id, broadcast, track, served: 0, requests: [], waiters: [], error: undefined };
		pubs.set(id, state);
		const notify = () => {
			for (const w of state.waiters.splice(0)) w();
		};
		state.handle = adapter.publish(conn, broadcast, track, {
			onRequest(name, writer) {
				const req = { track: name, at: Math.round(performance.now()) };
				state.requests.push(req);
				if (name !== track) {
					req.rejected = true;
					writer.reject(new Error(`unknown track ${name}`));
					notify();
					return;
				}
				let groups = 0;
				for (let i = 0; i < payloads.length; i += groupFrames) {
					writer.writeGroup(payloads.slice(i, i + groupFrames), i);
					groups++;
				}
				if (payloads.length === 0 && opts.emptyGroup) {
					writer.writeGroup([], 0);
					groups++;
				}
				req.groups = groups;
				if (opts.finishTrack) writer.finish();
				state.served++;
				notify();
			},
			onError(err) {
				state.error = describeError(err);
				notify();
			},
		});
		return { pub: id, frames: payloads.length, groupFrames };
	}

	// Wait until `n` subscription requests were served (then linger so data drains).
	async function served(pubId, n, opts = {}) {
		const state = pubs.get(pubId);
		if (!state) throw new Error(`no publication ${pubId}`);
		const timeoutMs = opts.timeoutMs ?? 10000;
		const wait = (async () => {
			while (state.served < n) {
				if (state.error) throw new Error(`publish failed: ${state.error.message}`);
				await new Promise((resolve) => state.waiters.push(resolve));
			}
		})();
		await withTimeout(wait, timeoutMs, `${n} subscription(s) to ${state.broadcast}/${state.track} (served ${state.served})`);
		if (opts.lingerMs) await sleep(opts.lingerMs);
		return { served: state.served, requests: state.requests };
	}

	function unpublish(pubId) {
		const state = pubs.get(pubId);
		if (!state) throw new Error(`no publication ${pubId}`);
		state.handle.close();
		pubs.delete(pubId);
		return { served: state.served };
	}

	// Wait until `broadcast` is announced active on `conn` (announced("") filtered by path).
	async function waitAnnounced(conn, broadcast, timeoutMs) {
		const want = adapter.Path.from(broadcast);
		const ann = adapter.announced(conn, adapter.Path.from(""));
		try {
			const deadline = performance.now() + timeoutMs;
			for (;;) {
				const left = deadline - performance.now();
				if (left <= 0) throw new Error(`timeout after ${Math.round(timeoutMs)} ms: announcement of ${broadcast}`);
				const entry = await withTimeout(ann.next(), left, `announcement of ${broadcast}`);
				if (!entry) throw new Error(`announce stream ended before ${broadcast} was announced`);
				if (adapter.fullPath("", entry.path) === want && entry.active) return;
			}
		} finally {
			ann.close();
		}
	}

	// Read `count` frames (0 = until the track ends) from broadcast/track.
	async function subscribe(broadcast, track, count, opts = {}) {
		const conn = getConn(opts.conn);
		const timeoutMs = opts.timeoutMs ?? 10000;
		const encoding = opts.encoding ?? "utf8";
		const started = performance.now();
		if (opts.waitAnnounce) await waitAnnounced(conn, broadcast, timeoutMs);
		const left = () => Math.max(1, timeoutMs - (performance.now() - started));
		const sub = adapter.subscribe(conn, adapter.Path.from(broadcast), track);
		const groups = []; // { sequence, frames: [{bytes, timestampMs}], done, error }
		let total = 0;
		let ended = false;
		let trackError;
		let wake;
		const changed = () => {
			const w = wake;
			wake = undefined;
			w?.();
		};
		const readGroup = async (g) => {
			const entry = { sequence: g.sequence, frames: [], done: false };
			groups.push(entry);
			try {
				for (;;) {
					const frame = await g.readFrame();
					if (!frame) break;
					entry.frames.push(frame);
					total++;
					changed();
				}
			} catch (err) {
				entry.error = describeError(err);
			}
			entry.done = true;
			changed();
		};
		const readTrack = (async () => {
			try {
				for (;;) {
					const g = await sub.recvGroup();
					if (!g) break;
					void readGroup(g);
				}
			} catch (err) {
				trackError = describeError(err);
			}
			ended = true;
			changed();
		})();
		const complete = () => (count > 0 && total >= count) || (ended && groups.every((g) => g.done));
		try {
			await withTimeout(
				(async () => {
					while (!complete()) await new Promise((resolve) => (wake = resolve));
				})(),
				left(),
				`${count > 0 ? count : "all"} frame(s) of ${broadcast}/${track} (got ${total})`,
			);
		} catch (err) {
			sub.close();
			const e = new Error(err.message);
			e.result = await summarize();
			throw e;
		}
		sub.close();
		const result = await summarize();
		if (count > 0 && total < count) {
			const e = new Error(`track ended after ${total} of ${count} frame(s)${trackError ? `: ${trackError.message}` : ""}`);
			e.result = result;
			throw e;
		}
		if (trackError && count === 0) {
			const e = new Error(`track failed: ${trackError.message}`);
			e.result = result;
			throw e;
		}
		return result;

		async function summarize() {
			const ordered = [...groups].sort((a, b) => a.sequence - b.sequence);
			const flat = [];
			for (const g of ordered) for (const f of g.frames) flat.push(f);
			const limited = count > 0 ? flat.slice(0, count) : flat;
			const out = {
				frames: opts.summary ? await Promise.all(limited.map(async (f) => ({ len: f.payload.byteLength, sha256: await sha256Hex(f.payload) }))) : limited.map((f) => decodeFrame(f.payload, encoding)),
				groups: groups.map((g) => ({ sequence: g.sequence, frames: g.frames.length, ...(g.error ? { error: g.error } : {}) })),
				ended,
				received: total,
			};
			const ts = limited.map((f) => f.timestampMs).filter((t) => t !== undefined);
			if (ts.length) out.timestampsMs = ts;
			if (trackError) out.trackError = trackError;
			return out;
		}
	}

	// Collect `n` announcement entries under `prefix` (n = 0: whatever arrives until timeout/end).
	async function announced(prefix, n, opts = {}) {
		const conn = getConn(opts.conn);
		const timeoutMs = opts.timeoutMs ?? 10000;
		const p = adapter.Path.from(prefix ?? "");
		const ann = adapter.announced(conn, p);
		const entries = [];
		const deadline = performance.now() + timeoutMs;
		let ended = false;
		try {
			while (n === 0 || entries.length < n) {
				const left = deadline - performance.now();
				if (left <= 0) break;
				let entry;
				try {
					entry = await withTimeout(ann.next(), left, "announcement");
				} catch (err) {
					if (/^timeout/.test(err.message)) break;
					const e = new Error(`announce stream failed: ${describeError(err).message}`);
					e.result = { entries, ended: true };
					throw e;
				}
				if (!entry) {
					ended = true;
					break;
				}
				const out = { path: entry.path, full: adapter.fullPath(p, entry.path), active: entry.active };
				if (entry.hops !== undefined) out.hops = entry.hops;
				if (entry.origin !== undefined) out.origin = entry.origin;
				entries.push(out);
			}
		} finally {
			ann.close();
		}
		if (n > 0 && entries.length < n) {
			const e = new Error(`${ended ? "announce stream ended" : `timeout after ${Math.round(timeoutMs)} ms`} with ${entries.length} of ${n} announcement(s)`);
			e.result = { entries, ended };
			throw e;
		}
		return { entries, ended };
	}

	async function close(id) {
		const key = id ?? lastConn;
		const entry = conns.get(key);
		if (!entry) return { closed: false };
		entry.conn.close();
		conns.delete(key);
		return { closed: true };
	}

	function info(id) {
		const entry = conns.get(id ?? lastConn);
		return entry ? entry.info : undefined;
	}

	// In-page loopback over the library's own mock transport pair: client publishes, server
	// subscribes and lists announcements. Checks this adapter without any network server.
	async function selftest(opts = {}) {
		const protocol = opts.protocol ?? "moq-lite-04";
		const timeoutMs = opts.timeoutMs ?? 5000;
		const { client, server } = await withTimeout(adapter.selftestPair(protocol), timeoutMs, `mock handshake ${protocol}`);
		const c = register(client, { url: "mock:", lib: adapter.lib, version: adapter.version(client), protocol });
		const s = register(server, { url: "mock:", lib: adapter.lib, version: adapter.version(server), protocol });
		try {
			const frames = ["alpha", "beta", "gamma", "delta"];
			const pub = publish("selftest/b", "t", frames, { conn: c, groupFrames: 2 });
			const ann = await announced("selftest", 1, { conn: s, timeoutMs });
			const got = await subscribe("selftest/b", "t", frames.length, { conn: s, timeoutMs, waitAnnounce: true });
			const srv = await served(pub.pub, 1, { timeoutMs });
			// Generated binary frames with digests (run.mjs checks them against its own generator).
			const gen = { count: opts.genCount ?? 3, size: opts.genSize ?? 5000 };
			publish("selftest/g", "t", null, { conn: c, gen, groupFrames: 1 });
			const genGot = await subscribe("selftest/g", "t", gen.count, { conn: s, timeoutMs, waitAnnounce: true, summary: true });
			const ok = JSON.stringify(got.frames) === JSON.stringify(frames) && ann.entries.length === 1 && ann.entries[0].full === "selftest/b";
			return { ok, protocol, version: adapter.version(client), frames: got.frames, groups: got.groups, announced: ann.entries, served: srv.served, gen: { ...gen, frames: genGot.frames } };
		} finally {
			await close(c);
			await close(s);
		}
	}

	globalThis.moqtest = {
		lib: adapter.lib,
		libVersion: adapter.libVersion,
		connect,
		publish,
		served,
		unpublish,
		subscribe,
		announced,
		close,
		info,
		wtEcho,
		selftest,
		opened,
		describeError,
		ready: true,
	};
}
