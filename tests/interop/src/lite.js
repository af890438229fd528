// window.moqtest for @moq/lite 0.2.2 (frozen predecessor of @moq/net).
// API notes (read from node_modules/@moq/lite/*.d.ts):
//   - Connection.connect(url, { webtransport: WebTransportOptions, websocket, transport }); no abort signal.
//     webtransport is spread over the defaults, so `protocols` replaces the offered list and
//     `serverCertificateHashes` must be DOM-shaped ({ algorithm: "sha-256", value: bytes }).
//   - new Broadcast(); broadcast.requested() yields { track, priority } per wire SUBSCRIBE.
//   - conn.consume(path).subscribe(name, priority) -> Track; recvGroup(); group.readFrame() -> Uint8Array.
//   - conn.announced(prefix).next() -> { path (FULL path: prefix joined with suffix), active }.
import * as Moq from "@moq/lite";
import { createMockTransportPair } from "../node_modules/@moq/lite/mock.js";
import { install } from "./common.js";

install({
	lib: "lite",
	libVersion: __MOQ_LIB_VERSION__,
	Path: Moq.Path,
	connect(url, { webtransport, websocket }) {
		return Moq.Connection.connect(url, { webtransport, websocket });
	},
	version: (conn) => conn.version,
	publish(conn, path, trackName, { onRequest, onError }) {
		const broadcast = new Moq.Broadcast();
		conn.publish(Moq.Path.from(path), broadcast);
		(async () => {
			for (;;) {
				const req = await broadcast.requested();
				if (!req) break;
				const track = req.track;
				onRequest(track.name, {
					writeGroup(payloads) {
						const group = track.appendGroup();
						for (const p of payloads) group.writeFrame(p);
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
		const track = broadcast.subscribe(trackName, 0);
		return {
			async recvGroup() {
				const group = await track.recvGroup();
				if (!group) return undefined;
				return {
					sequence: group.sequence,
					async readFrame() {
						const payload = await group.readFrame();
						return payload === undefined ? undefined : { payload };
					},
				};
			},
			close() {
				track.close();
				broadcast.close();
			},
		};
	},
	announced(conn, prefix) {
		const a = conn.announced(prefix);
		return { next: () => a.next(), close: () => a.close() };
	},
	// @moq/lite already reports full paths.
	fullPath: (_prefix, path) => path,
	async selftestPair(protocol) {
		const { client, server } = createMockTransportPair(protocol);
		const url = new URL("https://mock.invalid/");
		const [c, s] = await Promise.all([Moq.Connection.connect(url, { transport: client }), Moq.Connection.accept(server, url)]);
		return { client: c, server: s };
	},
});
