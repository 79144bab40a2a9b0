// Command edge is a crumb session handler for WebAssembly edge runtimes,
// which have no net/http server: only request and response headers. It
// uses crumb's header-level API, [cookiesession.Manager.Load] (Cookie
// headers in) and [cookiesession.Manager.Commit] (Set-Cookie, Vary and
// Cache-Control added to the response headers), around a tiny application:
//
//	GET  /count   counts requests in the session: {"count":1}, {"count":2}, ...
//	POST /logout  ends the session: the response deletes the cookie
//
// It builds for two targets:
//
//   - GOOS=js GOARCH=wasm (main.go): a fetch-style handler for runtimes
//     with a JavaScript host (Cloudflare Workers, Deno, Node). It registers
//     globalThis.crumbFetch(request), which takes a Fetch API Request and
//     returns a Response. testdata/run.mjs shows the glue and is the test.
//   - GOOS=wasip1 GOARCH=wasm (main_wasip1.go): a WASI command that reads a
//     Cookie header line from standard input and writes a CGI-style
//     response, with every Set-Cookie line, to standard output.
//
// Keys come from CRUMB_KEYS, in the key list format of package rotation:
// a global string set by the host before the module starts (js), or an
// environment variable (wasip1). Without it the handler makes a throwaway
// key, says so, and sessions end when the instance does.
//
// Cold start: building the Manager parses the keys (two HKDF-SHA256 calls
// per key, no key stretching) and validates the Config; a request seals or
// opens one XChaCha20-Poly1305 value. Nothing else runs at start-up.
//
//	./size.sh   # sizes of the WebAssembly binaries, raw and gzip-compressed
package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// keysVar names the key list, as a JS global (js) or an environment
// variable (wasip1).
const keysVar = "CRUMB_KEYS"

// throwawayWarning is what the handler says when it has no keys.
const throwawayWarning = "crumb edge: " + keysVar + " is not set: using a throwaway key, so sessions end when this instance stops"

// loadKeys parses the key list text, or makes a throwaway key when text is
// blank and returns a warning to show the operator. Its errors never quote
// the text.
func loadKeys(text string) (keys rotation.Source, warning string, err error) {
	if strings.TrimSpace(text) == "" {
		k, err := crypto.GenerateKey()
		if err != nil {
			return nil, "", err
		}
		kr, err := rotation.NewKeyring(k)
		return kr, throwawayWarning, err
	}
	kr, err := rotation.ParseKeys(keysVar, text)
	return kr, "", err
}

// newManager returns the session manager: crumb's defaults, a
// "__Host-sessionid" cookie that is Secure, HttpOnly and SameSite=Lax.
func newManager(keys rotation.Source) (*cookiesession.Manager, error) {
	return cookiesession.New(cookiesession.Config{Keys: keys})
}

// handle serves one request. cookieHeader is the request's Cookie header
// ("" if none). It returns the status, the response header fields (every
// Set-Cookie, Vary and Cache-Control among them) and the body.
func handle(sessions *cookiesession.Manager, method, path, cookieHeader string) (status int, headers http.Header, body string) {
	var cookies []string
	if cookieHeader != "" {
		cookies = append(cookies, cookieHeader)
	}
	s := sessions.Load(context.Background(), cookies...)
	headers = http.Header{"Content-Type": {"application/json"}}
	status, body = route(s, method, path, headers)
	if err := sessions.Commit(s, status, headers); err != nil {
		// A session that should have been saved was not (too large, say):
		// the response must not claim success.
		status, body = http.StatusInternalServerError, `{"error":"session not saved"}`
	}
	return status, headers, body + "\n"
}

// route runs the application on s and returns the status and body.
func route(s *cookiesession.Session, method, path string, headers http.Header) (int, string) {
	switch path {
	case "/count":
		if method != http.MethodGet {
			headers.Set("Allow", "GET")
			return http.StatusMethodNotAllowed, `{"error":"method not allowed"}`
		}
		n, _, err := cookiesession.Get[int](s, "count")
		if err != nil {
			return http.StatusInternalServerError, `{"error":"bad session data"}`
		}
		n++
		if err := s.Set("count", n); err != nil {
			return http.StatusInternalServerError, `{"error":"cannot store count"}`
		}
		return http.StatusOK, fmt.Sprintf(`{"count":%d}`, n)
	case "/logout":
		if method != http.MethodPost {
			headers.Set("Allow", "POST")
			return http.StatusMethodNotAllowed, `{"error":"method not allowed"}`
		}
		// Without a Config.Revoker the error is always nil, and the
		// session is flushed either way.
		_ = s.Flush()
		return http.StatusOK, `{"loggedOut":true}`
	default:
		return http.StatusNotFound, `{"error":"not found"}`
	}
}
