// run.mjs runs the js/wasm build of the edge handler the way an edge
// runtime would, and checks its responses:
//
//	node run.mjs edge.wasm "$(go env GOROOT)/lib/wasm/wasm_exec.js"
//
// It leaves out Node's fs, so Go's wasm_exec.js uses its console-only
// stand-in, as on Cloudflare Workers or Deno Deploy, and passes Fetch API
// Request objects (Node's globals) to globalThis.crumbFetch. Keys come
// from the CRUMB_KEYS environment variable, handed over as the global the
// module reads; without it the module makes a throwaway key. A
// CRUMB_SEED_COOKIE ("name=value", sealed elsewhere) is sent once and the
// count it yields reported. The last line of standard output is a JSON
// summary; any failed expectation exits non-zero.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const [wasmPath, wasmExecPath] = process.argv.slice(2);
if (!wasmPath || !wasmExecPath) {
	console.error("usage: node run.mjs edge.wasm wasm_exec.js");
	process.exit(2);
}

const name = "__Host-sessionid";
const origin = "https://edge.example";

// Record what the module says on console.warn, still passing it on.
const warnings = [];
const warn = console.warn.bind(console);
console.warn = (...args) => {
	warnings.push(args.join(" "));
	warn(...args);
};

async function main() {
	// Node loads its Fetch API classes on first use; do that first, so
	// that the timings below are the module's own.
	let t = performance.now();
	await new Response(new Request(origin, { headers: new Headers({ cookie: "a=b" }) }).url).text();
	const fetchApiMs = performance.now() - t;

	const bytes = await readFile(wasmPath);
	createRequire(import.meta.url)(wasmExecPath); // defines globalThis.Go
	const go = new Go();

	t = performance.now();
	const module = await WebAssembly.compile(bytes);
	const instance = await WebAssembly.instantiate(module, go.importObject);
	const compileMs = performance.now() - t;

	if (process.env.CRUMB_KEYS) {
		globalThis.CRUMB_KEYS = process.env.CRUMB_KEYS;
	}
	t = performance.now();
	const exited = go.run(instance); // runs main until it waits for calls
	const startMs = performance.now() - t;
	exited.then(() => {
		console.error("the Go program exited");
		process.exit(1);
	});
	assert.equal(typeof globalThis.crumbFetch, "function", "crumbFetch is not registered");
	assert.equal(globalThis.CRUMB_KEYS, undefined, "CRUMB_KEYS is still readable after start-up");

	// send makes a request, passes it to the module and returns the
	// response with its body and Set-Cookie lines.
	const send = async (method, path, cookie) => {
		const headers = new Headers();
		if (cookie !== undefined) {
			headers.set("cookie", cookie);
		}
		const req = new Request(origin + path, { method, headers });
		const t = performance.now();
		const res = globalThis.crumbFetch(req);
		const ms = performance.now() - t;
		assert.ok(res instanceof Response, `${method} ${path}: not a Response`);
		const text = await res.text();
		return { status: res.status, body: text ? JSON.parse(text) : null, setCookie: res.headers.getSetCookie(), headers: res.headers, ms };
	};
	// sessionCookie checks that res sets exactly one session cookie, with
	// crumb's secure defaults, and returns it as a Cookie header pair.
	const sessionCookie = (res, what) => {
		assert.equal(res.setCookie.length, 1, `${what}: Set-Cookie lines: ${res.setCookie.length}`);
		const line = res.setCookie[0];
		const attrs = line.split("; ");
		assert.ok(attrs[0].startsWith(name + "=") && attrs[0].length > name.length + 1, `${what}: no ${name} value`);
		for (const want of ["Path=/", "HttpOnly", "Secure", "SameSite=Lax"]) {
			assert.ok(attrs.includes(want), `${what}: Set-Cookie lacks ${want}`);
		}
		assert.ok(!attrs.some((a) => a.startsWith("Domain=")), `${what}: a __Host- cookie has a Domain`);
		const maxAge = attrs.find((a) => a.startsWith("Max-Age="));
		assert.ok(maxAge && Number(maxAge.slice(8)) > 0, `${what}: Max-Age ${maxAge}`);
		checkCacheHeaders(res, what);
		return attrs[0];
	};
	const checkCacheHeaders = (res, what) => {
		assert.match(res.headers.get("vary") ?? "", /\bCookie\b/i, `${what}: Vary lacks Cookie`);
		assert.match(res.headers.get("cache-control") ?? "", /\bno-store\b/, `${what}: Cache-Control lacks no-store`);
	};

	const summary = { counts: {}, firstSetCookieAttrs: [] };

	// 1. A first visit: count 1 and a new cookie.
	let res = await send("GET", "/count");
	summary.firstRequestMs = res.ms;
	assert.equal(res.status, 200);
	assert.deepEqual(res.body, { count: 1 });
	const first = sessionCookie(res, "first request");
	summary.firstSetCookieAttrs = res.setCookie[0].split("; ").slice(1).map((a) => a.split("=")[0]);
	summary.counts.first = res.body.count;

	// 2. The cookie comes back: count 2, re-sealed.
	res = await send("GET", "/count", first);
	summary.secondRequestMs = res.ms;
	assert.equal(res.status, 200);
	assert.deepEqual(res.body, { count: 2 });
	const second = sessionCookie(res, "second request");
	assert.notEqual(second, first, "the count changed but the cookie did not");
	summary.counts.second = res.body.count;
	summary.cookie = second; // the Go test opens it natively

	// 3. Tampering anywhere (version, key ID, nonce, ciphertext, tag) gives
	// a fresh session, never an error.
	const value = second.slice(name.length + 1);
	summary.counts.tampered = [];
	for (const i of [0, 4, 12, value.length >> 1, value.length - 2, value.length - 1]) {
		const flipped = value.slice(0, i) + (value[i] === "A" ? "B" : "A") + value.slice(i + 1);
		res = await send("GET", "/count", `${name}=${flipped}`);
		assert.equal(res.status, 200, `tampered at ${i}: status ${res.status}`);
		assert.deepEqual(res.body, { count: 1 }, `tampered at ${i}`);
		sessionCookie(res, `tampered at ${i}`);
		summary.counts.tampered.push(res.body.count);
	}
	for (const junk of [`${name}=garbage`, `${name}=`, "other=1", `${name}=${value}x`]) {
		res = await send("GET", "/count", junk);
		assert.equal(res.status, 200, `cookie ${junk.slice(0, 24)}: status ${res.status}`);
		assert.deepEqual(res.body, { count: 1 }, `cookie ${junk.slice(0, 24)}`);
	}

	// 4. Other cookies in the same header do not get in the way.
	res = await send("GET", "/count", `theme=dark; ${second}; lang=en`);
	assert.deepEqual(res.body, { count: 3 });

	// 5. Logout deletes the cookie with matching attributes.
	res = await send("POST", "/logout", second);
	assert.equal(res.status, 200);
	assert.deepEqual(res.body, { loggedOut: true });
	assert.equal(res.setCookie.length, 1, "logout: Set-Cookie lines");
	const del = res.setCookie[0].split("; ");
	assert.equal(del[0], name + "=", "logout: the deletion cookie has a value");
	for (const want of ["Path=/", "Max-Age=0", "HttpOnly", "Secure", "SameSite=Lax"]) {
		assert.ok(del.includes(want), `logout: deletion cookie lacks ${want}`);
	}
	checkCacheHeaders(res, "logout");
	summary.logoutSetCookieAttrs = del.slice(1).map((a) => a.split("=")[0] + (a.startsWith("Max-Age") ? "=" + a.slice(8) : ""));

	// 6. A response that touches no session sets no cookie.
	res = await send("POST", "/logout");
	assert.equal(res.status, 200);
	assert.equal(res.setCookie.length, 0, "logout without a session set a cookie");
	res = await send("GET", "/nowhere");
	assert.equal(res.status, 404);
	res = await send("POST", "/count");
	assert.equal(res.status, 405);
	assert.equal(res.setCookie.length, 0, "405 set a cookie");

	// 7. A non-Request argument is a 500, and the instance lives on.
	res = globalThis.crumbFetch(42);
	assert.equal(res.status, 500);
	res = await send("GET", "/count");
	assert.deepEqual(res.body, { count: 1 });

	// 8. A cookie sealed elsewhere, by Go's own cookiesession.
	if (process.env.CRUMB_SEED_COOKIE) {
		res = await send("GET", "/count", process.env.CRUMB_SEED_COOKIE);
		assert.equal(res.status, 200);
		summary.counts.seeded = res.body.count;
	}

	// 9. Steady state: the median of 51 more requests on one session.
	let cookie = second;
	const times = [];
	for (let i = 0; i < 51; i++) {
		res = await send("GET", "/count", cookie);
		times.push(res.ms);
		cookie = sessionCookie(res, "steady state");
	}
	assert.deepEqual(res.body, { count: 2 + 51 });
	summary.steadyRequestMs = times.sort((a, b) => a - b)[times.length >> 1];

	summary.warnedThrowaway = warnings.some((w) => w.includes("throwaway key"));
	summary.fetchApiMs = fetchApiMs;
	summary.compileMs = compileMs;
	summary.startMs = startMs;
	summary.wasmBytes = bytes.length;
	summary.ok = true;
	console.log(JSON.stringify(summary));
}

main().then(
	() => process.exit(0),
	(err) => {
		console.error(err?.stack ?? String(err));
		process.exit(1);
	},
);
