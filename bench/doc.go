// Package bench measures crumb against the cost of its cipher and against
// the session libraries Go developers choose between, in one run, so that
// the figures are ratios on the same machine at the same moment.
//
// It is a module of its own: the peers it runs (gorilla/securecookie and
// gorilla/sessions, alexedwards/scs, golang-jwt, go-paseto) never become
// dependencies of crumb.
//
// Everything works on the reference session of the performance issue
// (user_id 123456, username, a CSRF token, a cart of three items, two
// preferences and a flash message), as a struct and as a map:
//
//   - BenchmarkRoundTrip: encode the session into a cookie value and
//     decode it back, for the floor (XChaCha20-Poly1305 and base64url
//     alone, buffers reused), crumb typed and map, and each peer;
//   - BenchmarkMiddleware: a request through crumb's Handler, scs's
//     LoadAndSave and gorilla/sessions, against the bare handler: no
//     cookie, a cookie never touched, one value read, one value changed;
//   - BenchmarkHostile: the same read with a cookie that must be rejected
//     (garbage, an unknown key, a wrong tag), varied on every request, and
//     a valid cookie of the same length;
//   - BenchmarkLoad: a loopback HTTP server under concurrent clients, with
//     and without the middleware: time per request and p99 latency.
//
// Each benchmark reports allocations and the cookie length. The tests of
// this package check that every codec returns the session it was given and
// that the load test sees no errors, so a figure never comes from a broken
// path. The script ./run runs everything with -count 6 and prints the
// Markdown table of medians and ratios that the README shows:
//
//	bench/run           # about 4 minutes on 2 cores
//	bench/run -short    # one quick pass, as CI runs it
package bench
