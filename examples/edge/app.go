// Command edge is a crumb session handler for WebAssembly edge runtimes,
// which have no net/http server: only request and response headers. It
// uses crumb's header-level API, [cookiesession.Manager.Load] (Cookie
// headers in) and [cookiesession.Manager.Commit] (Set-Cookie, Vary and
// Cache-Control added to the response headers), around a tiny application:
//
//	GET  /count   counts requests in the session: {"count":1}, {"count":2}, ...
//	              (with "user" once logged in)
//	POST /login   user=NAME (a form body): a new session ID (CycleKey) for NAME
//	POST /note    the body, kept in the session; a note too large for the
//	              cookie is refused with 413 and the session left as it was
//	POST /logout  ends the session: the response deletes the cookie
//
// It builds for two targets:
//
//   - GOOS=js GOARCH=wasm (main.go): a fetch-style handler for runtimes
//     with a JavaScript host (Cloudflare Workers, Deno, Node). It registers
//     globalThis.crumbFetch(request, body), which takes a Fetch API Request
//     and its body text (read by the host: await request.text()) and
//     returns a Response. workerd/worker.mjs runs it as a Cloudflare Worker,
//     deno/main.mjs under Deno.serve, testdata/run.mjs under Node.
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
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
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

// handle serves one request. cookieHeaders are the request's Cookie header
// fields (none if it had none), body its body. It returns the status, the response header
// fields (every Set-Cookie, Vary and Cache-Control among them) and the
// body.
func handle(sessions *cookiesession.Manager, method, path string, cookieHeaders []string, body string) (status int, headers http.Header, respBody string) {
	s := sessions.Load(context.Background(), cookieHeaders...)
	headers = http.Header{"Content-Type": {"application/json"}}
	status, respBody = route(s, method, path, body, headers)
	if err := sessions.Commit(s, status, headers); err != nil {
		// A session that should have been saved was not: the response
		// must not claim success. (route checks sizes before it answers,
		// so this is not a session too large.)
		status, respBody = http.StatusInternalServerError, `{"error":"session not saved"}`
	}
	return status, headers, respBody + "\n"
}

// maxNote bounds a note's length before it is tried in the session.
const maxNote = 16 << 10

// methods is each route's method.
var methods = map[string]string{"/count": http.MethodGet, "/login": http.MethodPost, "/note": http.MethodPost, "/logout": http.MethodPost}

// route runs the application on s and returns the status and body. It is
// the same whether the session comes from Manager.Handler (natively) or
// from Load and Commit (at the edge).
func route(s *cookiesession.Session, method, path, body string, headers http.Header) (int, string) {
	want, ok := methods[path]
	switch {
	case !ok:
		return http.StatusNotFound, `{"error":"not found"}`
	case method != want:
		headers.Set("Allow", want)
		return http.StatusMethodNotAllowed, `{"error":"method not allowed"}`
	}
	switch path {
	case "/count":
		n, _, err := cookiesession.Get[int](s, "count")
		if err != nil {
			return http.StatusInternalServerError, `{"error":"bad session data"}`
		}
		n++
		if err := s.Set("count", n); err != nil {
			return http.StatusInternalServerError, `{"error":"cannot store count"}`
		}
		user, _, _ := cookiesession.Get[string](s, "user")
		return http.StatusOK, jsonBody(map[string]any{"count": n, "user": user})
	case "/login":
		form, err := url.ParseQuery(body)
		user := form.Get("user")
		if err != nil || user == "" || len(user) > 64 {
			return http.StatusBadRequest, `{"error":"user=NAME, 1 to 64 bytes"}`
		}
		// A new session ID for the new privilege level, as Django's login.
		if err := errors.Join(s.CycleKey(), s.Set("user", user)); err != nil {
			return http.StatusInternalServerError, `{"error":"cannot log in"}`
		}
		return http.StatusOK, jsonBody(map[string]any{"user": user})
	case "/note":
		if len(body) > maxNote {
			return http.StatusRequestEntityTooLarge, `{"error":"note too long"}`
		}
		prev, had, err := cookiesession.Get[string](s, "note")
		if err != nil {
			return http.StatusInternalServerError, `{"error":"bad session data"}`
		}
		if err := s.Set("note", body); err != nil {
			return http.StatusInternalServerError, `{"error":"cannot store note"}`
		}
		// Check the cookie fits before answering: a session too large
		// is refused here, with the user told, and put back as it was,
		// so the response does not claim a save that Commit would refuse.
		if _, err := s.CookieSizes(); err != nil {
			var tooLarge *cookiesession.TooLargeError
			if had {
				_ = s.Set("note", prev)
			} else {
				s.Delete("note")
			}
			if errors.As(err, &tooLarge) {
				return http.StatusRequestEntityTooLarge, jsonBody(map[string]any{"error": "session too large", "size": tooLarge.Size, "limit": tooLarge.Limit})
			}
			return http.StatusInternalServerError, `{"error":"cannot store note"}`
		}
		return http.StatusOK, jsonBody(map[string]any{"note": len(body)})
	default: // "/logout"
		// Without a Config.Revoker the error is always nil, and the
		// session is flushed either way.
		_ = s.Flush()
		return http.StatusOK, `{"loggedOut":true}`
	}
}

// jsonBody encodes v without its zero values: {"count":1}, not
// {"count":1,"user":""}.
func jsonBody(v map[string]any) string {
	for k, x := range v {
		if x == "" {
			delete(v, k)
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}
