// Bundles src/{lite,net}.js into dist/ with esbuild (called by install.sh).
//
// One source patch is applied while bundling (exact versions are pinned, and the build fails
// loudly if the text is not found): neither library exposes the hop list of a received
// ANNOUNCE in its public API, so the announce loop is patched to attach it to the entry
// ({ path, active, hops, origin }) that announced().next() returns. Nothing else changes.
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const version = (pkg) => JSON.parse(readFileSync(join(here, "node_modules", pkg, "package.json"), "utf8")).version;

const patches = [
	{
		// @moq/lite 0.2.2: lite-03 hops are a count (array of zeros), lite-04 the sender-stamped id list.
		file: /node_modules\/@moq\/lite\/lite\/subscriber\.js$/,
		from: "announced.append({ path, active: announce.active });",
		to: "announced.append({ path, active: announce.active, hops: announce.hops });",
		min: 1,
	},
	{
		// @moq/net 0.3.x: `hops` as received (lite-05: without the responder), `origin` = the
		// responder's id from ANNOUNCE_OK (lite-05+). typeof guards cover the lite-01/02 branch.
		file: /node_modules\/@moq\/net\/lite\/subscriber\.js$/,
		from: "announced.append({ path: suffix, active: true });",
		to: 'announced.append({ path: suffix, active: true, hops: typeof hops === "undefined" ? undefined : hops, origin: typeof responderOrigin === "undefined" ? undefined : responderOrigin });',
		min: 2,
	},
];

const hopPlugin = {
	name: "moqtest-hops",
	setup(build) {
		build.onLoad({ filter: /node_modules\/@moq\/(lite|net)\/lite\/subscriber\.js$/ }, (args) => {
			let text = readFileSync(args.path, "utf8");
			for (const p of patches) {
				if (!p.file.test(args.path)) continue;
				const n = text.split(p.from).length - 1;
				if (n < p.min) {
					return { errors: [{ text: `moqtest patch not applicable to ${args.path}: expected ${p.min}+ of ${JSON.stringify(p.from)}, found ${n}` }] };
				}
				text = text.split(p.from).join(p.to);
			}
			return { contents: text, loader: "js" };
		});
	},
};

mkdirSync(join(here, "dist"), { recursive: true });
const libs = { lite: "@moq/lite", net: "@moq/net" };
for (const [name, pkg] of Object.entries(libs)) {
	await esbuild.build({
		entryPoints: [join(here, "src", `${name}.js`)],
		outfile: join(here, "dist", `${name}.js`),
		bundle: true,
		format: "esm",
		platform: "browser",
		target: "chrome120",
		logLevel: "warning",
		legalComments: "none",
		define: { __MOQ_LIB_VERSION__: JSON.stringify(version(pkg)) },
		plugins: [hopPlugin],
	});
}
// <moq-watch> (@moq/watch) and <moq-publish> (@moq/publish), each with its own @moq/net: no patches.
for (const name of ["watch", "publish"]) {
	await esbuild.build({
		entryPoints: [join(here, "src", `${name}.js`)],
		outfile: join(here, "dist", `${name}.js`),
		bundle: true,
		format: "esm",
		platform: "browser",
		target: "chrome120",
		logLevel: "warning",
		legalComments: "none",
	});
}
// The @moq/hang consumer for Node (hang_consume.js): @moq/hang's extensionless imports need a bundler.
await esbuild.build({
	entryPoints: [join(here, "src", "hang_consume.js")],
	outfile: join(here, "dist", "hang_consume.mjs"),
	bundle: true,
	format: "esm",
	platform: "node",
	target: "node20",
	logLevel: "warning",
	legalComments: "none",
	banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
});
writeFileSync(join(here, "dist", "versions.json"), `${JSON.stringify({ lite: version("@moq/lite"), net: version("@moq/net"), watch: version("@moq/watch"), publish: version("@moq/publish"), hang: version("@moq/hang"), esbuild: esbuild.version, "playwright-core": version("playwright-core") }, null, 2)}\n`);
