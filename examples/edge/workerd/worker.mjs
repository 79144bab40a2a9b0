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

let started = null;

async function start(env) {
	// The key list, from a secret (wrangler secret put CRUMB_KEYS): the Go
	// program reads this global once and deletes it.
	globalThis.CRUMB_KEYS = env.CRUMB_KEYS ?? "";
	const go = new Go();
	const instance = await WebAssembly.instantiate(edge, go.importObject);
	go.run(instance); // runs main until it waits for calls
	if (typeof globalThis.crumbFetch !== "function") {
		throw new Error("crumb edge: the Go program did not register crumbFetch");
	}
}

export default {
	async fetch(request, env) {
		started ??= start(env);
		await started;
		const body = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
		return globalThis.crumbFetch(request, body);
	},
};
