// wasi.mjs runs the wasip1 build of the edge handler under Node's WASI
// (preview1), for one request:
//
//	echo "Cookie: ..." | node --no-warnings wasi.mjs edge.wasm GET /count
//
// Standard input, output and error are the process's own. The module sees
// only the CRUMB_KEYS environment variable, if set, and exits with the
// module's exit code.
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";

const [wasmPath, ...args] = process.argv.slice(2);
if (!wasmPath) {
	console.error("usage: node wasi.mjs edge.wasm [METHOD PATH]");
	process.exit(2);
}
const env = {};
if (process.env.CRUMB_KEYS) {
	env.CRUMB_KEYS = process.env.CRUMB_KEYS;
}
const wasi = new WASI({ version: "preview1", args: ["edge", ...args], env, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
