// window.moqtest for @moq/net 0.3.x (successor of @moq/lite).
// API notes (read from node_modules/@moq/net/*.d.ts):
//   - Connection.connect(url, { webtransport, websocket, transport, discovery, signal }).
//     webtransport.serverCertificateHashes accepts { algorithm?, value: bytes | hex string };
//     `protocols` replaces the offered list (spread over the defaults).
//   - new Broadcast.Producer(); producer.requested() yields a track.Request per wire SUBSCRIBE
//     (and, on lite-05, one more per TRACK info lookup); request.accept(info) -> track.Producer.
//   - conn.consume(path).track(name).subscribe() -> Subscriber; recvGroup(); readFrame() -> { payload, timestamp }.
//   - conn.announced(prefix).next() -> { path (RELATIVE to prefix), active }.
import * as Moq from "@moq/net";
import { createMockTransportPair } from "../node_modules/@moq/net/mock.js";
import { install } from "./common.js";

install({
	lib: "net",
	libVersion: __MOQ_LIB_VERSION__,
	Path: Moq.Path,
	connect(url, { webtransport, websocket, signal }) {
		return Moq.Connection.connect(url, { webtransport, websocket, signal });
	},
	version: (conn) => conn.version,
	transportOf: (conn) => conn.transport,
	publish(conn, path, trackName, { onRequest, onError }) {
		const broadcast = new Moq.Broadcast.Producer();
		conn.publish(Moq.Path.from(path), broadcast);
		(async () => {
			for (;;) {
				const req = await broadcast.requested();
				if (!req) break;
				if (req.name !== trackName) {
					onRequest(req.name, { reject: (err) => req.reject(err) });
					continue;
				}
				const track = req.accept({});
				// A lite-05 TRACK (info-only) lookup has no subscriber and is closed right after
				// accept(); only real subscriptions get frames and count as served.
				if (!track.used.peek()) continue;
				onRequest(req.name, {
					writeGroup(payloads, firstIndex) {
						const group = track.appendGroup();
						payloads.forEach((payload, k) => group.writeFrame({ payload, timestamp: Moq.Time.Timestamp.fromMillis(firstIndex + k) }));
						group.close();
					},
					finish: () => track.close(),
					reject: (err) => track.close(err),
				});
			}
		})().catch(onError);
		return { close: () => broadcast.close() };
	},
	subscribe(conn, path, trackName) {
		const broadcast = conn.consume(path);
		const sub = broadcast.track(trackName).subscribe({ priority: 0 });
		return {
			async recvGroup() {
				const group = await sub.recvGroup();
				if (!group) return undefined;
				return {
					sequence: group.sequence,
					async readFrame() {
						const frame = await group.readFrame();
						if (frame === undefined) return undefined;
						return { payload: frame.payload, timestampMs: frame.timestamp?.asMillis() };
					},
				};
			},
			close() {
				sub.close();
				broadcast.close();
			},
		};
	},
	announced(conn, prefix) {
		const a = conn.announced(prefix);
		return { next: () => a.next(), close: () => a.close() };
	},
	// @moq/net reports paths relative to the announced() prefix.
	fullPath: (prefix, path) => Moq.Path.join(Moq.Path.from(prefix), path),
	async selftestPair(protocol) {
		const { client, server } = createMockTransportPair(protocol);
		const url = new URL("https://mock.invalid/");
		const [c, s] = await Promise.all([Moq.Connection.connect(url, { transport: client }), Moq.Connection.accept(server, url)]);
		return { client: c, server: s };
	},
});
