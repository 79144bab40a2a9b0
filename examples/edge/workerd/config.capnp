# config.capnp runs worker.mjs in workerd, Cloudflare's Workers runtime:
#
#   CRUMB_KEYS="$(go run ./cmd/crumb keygen -env)" workerd serve config.capnp
#
# from a directory holding this file, worker.mjs, wasm_exec.js and edge.wasm
# (runtimes_test.go assembles one). The key list comes from the environment
# variable CRUMB_KEYS, as a Worker secret would on Cloudflare.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .edgeWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const edgeWorker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "wasm_exec.js", esModule = embed "wasm_exec.js"),
    (name = "edge.wasm", wasm = embed "edge.wasm"),
  ],
  bindings = [ (name = "CRUMB_KEYS", fromEnvironment = "CRUMB_KEYS") ],
  compatibilityDate = "2026-11-01",
);
