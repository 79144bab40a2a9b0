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
// variable set in the project's settings): the Go program reads the global
// it is put in once and deletes it.
const keys = Deno.env.get("CRUMB_KEYS");
if (!keys) {
	// Without keys the handler would make a throwaway key: sessions would
	// die with this process and fail on every other.
	console.error("crumb edge: CRUMB_KEYS is not set (go run ./cmd/crumb keygen -env)");
	Deno.exit(1);
}

// maxBody is the most of a request body the handler reads: one byte more
// than app.go's maxNote, so that a longer note gets the handler's 413.
const maxBody = (16 << 10) + 1;

async function start() {
	globalThis.CRUMB_KEYS = keys;
	const go = new Go();
	const instance = await WebAssembly.instantiate(module, go.importObject);
	go.run(instance).then(() => {
		// main never returns; if the Go program dies, start it again.
		console.error("crumb edge: the Go program exited; it starts again on the next request");
		started = null;
	});
	if (typeof globalThis.crumbFetch !== "function") {
		throw new Error("crumb edge: the Go program did not register crumbFetch");
	}
}
let started = start();
await started;
const startMs = performance.now() - t0;

// readBody reads at most maxBody bytes of the request's body.
async function readBody(request) {
	if (!request.body) {
		return new Uint8Array(0);
	}
	const reader = request.body.getReader();
	const out = new Uint8Array(maxBody);
	let n = 0;
	while (n < maxBody) {
		const { done, value } = await reader.read();
		if (done) {
			break;
		}
		const take = Math.min(value.length, maxBody - n);
		out.set(value.subarray(0, take), n);
		n += take;
	}
	reader.cancel().catch(() => {});
	return out.subarray(0, n);
}

Deno.serve({
	hostname: "127.0.0.1",
	port: Number(Deno.env.get("PORT") ?? 8000),
	onListen({ hostname, port }) {
		console.log(`listening on http://${hostname}:${port}/ (wasm compile ${compileMs.toFixed(1)} ms, ready ${startMs.toFixed(1)} ms)`);
	},
}, async (request) => {
	started ??= start();
	await started;
	return globalThis.crumbFetch(request, await readBody(request));
});
