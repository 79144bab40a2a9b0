// main.mjs serves the edge handler with Deno.serve, locally or on Deno
// Deploy. Beside it: edge.wasm (GOOS=js GOARCH=wasm go build, see
// ../size.sh) and wasm_exec.js, copied from
// "$(go env GOROOT)/lib/wasm/wasm_exec.js" of the Go that built edge.wasm.
//
//   CRUMB_KEYS="$(go run ./cmd/crumb keygen -env)" \
//     deno run --allow-read=. --allow-env=CRUMB_KEYS,PORT --allow-net main.mjs
//
// PORT (default 8000; 0 picks a free one) sets the port; the first line of
// standard output says where it listens, and how long the start took.
import "./wasm_exec.js"; // defines globalThis.Go

const t0 = performance.now();
const bytes = await Deno.readFile(new URL("./edge.wasm", import.meta.url));
const module = await WebAssembly.compile(bytes);
const compileMs = performance.now() - t0;

// The key list, from the environment (on Deno Deploy, an environment
// variable set in the project's settings): the Go program reads this global
// once and deletes it.
globalThis.CRUMB_KEYS = Deno.env.get("CRUMB_KEYS") ?? "";
const go = new Go();
const instance = await WebAssembly.instantiate(module, go.importObject);
go.run(instance); // runs main until it waits for calls
if (typeof globalThis.crumbFetch !== "function") {
	throw new Error("crumb edge: the Go program did not register crumbFetch");
}
const startMs = performance.now() - t0;

Deno.serve({
	hostname: "127.0.0.1",
	port: Number(Deno.env.get("PORT") ?? 8000),
	onListen({ hostname, port }) {
		console.log(`listening on http://${hostname}:${port}/ (wasm compile ${compileMs.toFixed(1)} ms, ready ${startMs.toFixed(1)} ms)`);
	},
}, async (request) => {
	const body = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
	return globalThis.crumbFetch(request, body);
});
