// moqc browser demo, watch mode (/watch.html): plays a hang broadcast (audio + video) with
// <moq-watch> from @moq/watch. Bundled by serve.mjs. ?url=…&name=… fill in the form;
// ?autostart=1 starts at once. Publish one with
//   ffmpeg … -f mp4 -movflags cmaf+frag_keyframe+empty_moov+default_base_moof - |
//     moqc publish --url http://localhost:4443/anon --broadcast demo.hang --format fmp4
import "@moq/watch/element";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
for (const k of ["url", "name"]) if (params.has(k)) $(k).value = params.get(k);

function start(ev) {
	ev?.preventDefault();
	const old = document.querySelector("moq-watch");
	old?.remove();
	const w = document.createElement("moq-watch");
	w.setAttribute("url", $("url").value);
	w.setAttribute("name", $("name").value);
	w.appendChild(document.createElement("canvas"));
	$("player").appendChild(w);
	$("status").textContent = `watching ${$("name").value}`;
}
$("form").addEventListener("submit", start);
if (params.get("autostart") === "1") start();
