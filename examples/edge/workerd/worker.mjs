// worker.mjs runs the edge handler as a Cloudflare Worker (an ES module
// Worker), in workerd locally or on Cloudflare. Beside it, as modules of
// the Worker: edge.wasm (GOOS=js GOARCH=wasm go build, see ../size.sh) and
// wasm_exec.js, copied from "$(go env GOROOT)/lib/wasm/wasm_exec.js" of the
// Go that built edge.wasm (the two must match). docs/EDGE.md has the
// deployment steps; config.capnp runs it in workerd.
//
// Workers require WebAssembly to be imported as a module (no compiling of
// bytes at run time), and forbid random numbers outside a request, which Go
// needs from its first instruction: the Go program starts on the first
// request, from the compiled module, and serves every later one.
import "./wasm_exec.js"; // defines globalThis.Go
import edge from "./edge.wasm"; // a WebAssembly.Module

// maxBody is the most of a request body the handler reads: one byte more
// than app.go's maxNote, so that a longer note gets the handler's 413.
const maxBody = (16 << 10) + 1;

let started = null;

async function start(env) {
	// The key list, from a secret (wrangler secret put CRUMB_KEYS): the Go
	// program reads this global once and deletes it.
	globalThis.CRUMB_KEYS = env.CRUMB_KEYS;
	const go = new Go();
	const instance = await WebAssembly.instantiate(edge, go.importObject);
	go.run(instance).then(() => {
		// main never returns; if the Go program dies, start it again.
		console.error("crumb edge: the Go program exited; it starts again on the next request");
		started = null;
	});
	if (typeof globalThis.crumbFetch !== "function") {
		throw new Error("crumb edge: the Go program did not register crumbFetch");
	}
}

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

export default {
	async fetch(request, env) {
		if (new URL(request.url).pathname === "/-/ready") {
			// Answers without starting Go: how long workerd and the
			// module's compile take, apart from the Go program's start.
			return new Response("ready\n");
		}
		if (!env.CRUMB_KEYS) {
			// A deployed Worker without keys would make a throwaway key per
			// isolate: sessions would die with it and fail on every other.
			console.error("crumb edge: the CRUMB_KEYS secret is not set (wrangler secret put CRUMB_KEYS)");
			return Response.json({ error: "not configured" }, { status: 500 });
		}
		started ??= start(env);
		await started;
		return globalThis.crumbFetch(request, await readBody(request));
	},
};
