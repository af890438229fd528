// Node.js 20 (no WebTransport) over WebSocket: @moq/net publishes and subscribes through
// moqc-relay. Usage: node --experimental-websocket node_ws.mjs URL VERSION N
// Node 20 lacks Promise.withResolvers (@moq/net uses it): polyfill before the import.
Promise.withResolvers ??= function () {
	let resolve, reject;
	const promise = new Promise((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
};
// Node 20 lacks the ES2025 Set methods (@moq/net's IETF publisher uses difference).
Set.prototype.difference ??= function (other) {
	const out = new Set();
	for (const v of this) if (!other.has(v)) out.add(v);
	return out;
};
const Moq = await import("@moq/net");

const [url, , nStr] = process.argv.slice(2);
let version = "";
const N = Number(nStr ?? 50);
const frames = Array.from({ length: N }, (_, i) => {
	const len = i % 7 === 3 ? 0 : i % 11 === 5 ? 20000 : 1 + ((i * 37) % 300);
	const b = new Uint8Array(len);
	for (let k = 0; k < len; k++) b[k] = (i * 31 + k * 7) & 0xff;
	return b;
});
const opts = {
	webtransport: { enabled: false },
	websocket: { enabled: true, delay: 0 },
};
const withTimeout = (p, ms, what) =>
	Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms))]);

async function connect() {
	const u = new URL(url);
	const c = await withTimeout(Moq.Connection.connect(u, opts), 5000, "connect");
	return c;
}

const sub = await connect();
const pub = await connect();
console.log(`sub version=${sub.version} pub version=${pub.version}`);
version = sub.version;
const bpath = `node-${process.pid}`;
const broadcast = new Moq.Broadcast.Producer();
pub.publish(Moq.Path.from(bpath), broadcast);
(async () => {
	for (;;) {
		const req = await broadcast.requested();
		if (!req) break;
		const track = req.accept({});
		if (!track.used.peek()) continue;
		// The relay serves a new subscriber from the latest group on: give its
		// downstream subscription time to exist before the first group.
		await new Promise((r) => setTimeout(r, 300));
		for (let g = 0; g * 10 < N; g++) {
			if (g) await new Promise((r) => setTimeout(r, 20));
			const group = track.appendGroup();
			for (let i = g * 10; i < Math.min(N, g * 10 + 10); i++)
				group.writeFrame({ payload: frames[i], timestamp: Moq.Time.Timestamp.fromMillis(i) });
			group.close();
		}
		track.close();
	}
})();
// Wait until the relay announces the broadcast to the subscriber's session.
const ann = sub.announced(Moq.Path.from(""));
for (;;) {
	const a = await withTimeout(ann.next(), 5000, "announce");
	if (a && a.active && String(a.path) === bpath) break;
}
const consumer = sub.consume(Moq.Path.from(bpath));
const track = consumer.track("data").subscribe({ priority: 0 });
let got = 0;
const seen = new Set();
// lite-05 ends the track with SUBSCRIBE_END; on lite-03/04 the end is the subscribe
// stream's FIN, which @moq/qmux 0.3.3 only surfaces on a pending read (its receive
// streams are pull-based with highWaterMark 0), so stop at N frames there.
while (got < N || version === "moq-lite-05") {
	const group = await withTimeout(track.recvGroup(), 10000, "group");
	if (!group) break;
	if (process.env.DEBUG) console.log(`group ${group.sequence}`);
	let k = 0;
	for (;;) {
		const f = await group.readFrame();
		if (f === undefined) break;
		const i = Number(group.sequence) * 10 + k++;
		const want = frames[i];
		if (!want || seen.has(i) || Buffer.compare(Buffer.from(f.payload), Buffer.from(want)) !== 0) {
			console.log(`FAIL: frame ${i} (group ${group.sequence}) differs: len ${f.payload.length} vs ${want?.length}`);
			process.exit(1);
		}
		seen.add(i);
		got++;
	}
}
if (got !== N) {
	console.log(`FAIL: got ${got} of ${N} frames`);
	process.exit(1);
}
console.log(`ok: ${got} frames over websocket (${sub.version})`);
sub.close();
pub.close();
process.exit(0);
