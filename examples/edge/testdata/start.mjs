// start.mjs times a GOOS=js WebAssembly program's start under Node:
//
//	node start.mjs program.wasm wasm_exec.js
//
// It prints "compile MS start MS": WebAssembly.compile plus instantiate,
// then go.run until main waits for calls (main blocks in select{}). size.sh
// runs it to show what each build costs at a cold start.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const [wasmPath, wasmExecPath] = process.argv.slice(2);
createRequire(import.meta.url)(wasmExecPath); // defines globalThis.Go
const bytes = await readFile(wasmPath);
const go = new Go();
let t = performance.now();
const module = await WebAssembly.compile(bytes);
const instance = await WebAssembly.instantiate(module, go.importObject);
const compileMs = performance.now() - t;
t = performance.now();
go.run(instance);
const startMs = performance.now() - t;
console.log(`compile ${compileMs.toFixed(1)} start ${startMs.toFixed(1)}`);
process.exit(0);
