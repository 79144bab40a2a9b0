package bench

// Middleware paths: one request through crumb's Handler, scs's LoadAndSave
// and gorilla/sessions, against the bare handler. gorilla/sessions has no
// middleware: a handler that does not call it costs nothing, so only its
// read and modify paths are measured.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/crumbhq/crumb/cookiesession"
	"github.com/gorilla/sessions"
)

// A route is a handler and the request it serves, with what the response
// must say.
type route struct {
	name    string
	handler http.Handler
	req     *http.Request
	// body is the response body the handler must write.
	body string
	// fresh serves each request with a copy of req: gorilla/sessions
	// caches the sessions it decoded in the request it is given.
	fresh bool
}

// request returns the request to serve.
func (rt *route) request() *http.Request {
	if !rt.fresh {
		return rt.req
	}
	r := new(http.Request)
	*r = *rt.req
	return r
}

// bare writes the response every route writes when it does not read the
// session.
func bare(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

// newRequest returns a GET request carrying cookie (none if "").
func newRequest(cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// crumbCookie returns a Cookie header line holding the reference session,
// as a map, sealed by m.
func crumbCookie(tb testing.TB, m *cookiesession.Manager) string {
	tb.Helper()
	s := m.Load(background)
	for k, v := range refMap() {
		if err := s.Set(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	h := http.Header{}
	if err := m.Commit(s, http.StatusOK, h); err != nil {
		tb.Fatal(err)
	}
	v, _, _ := strings.Cut(h.Get("Set-Cookie"), ";")
	return v
}

// setCookies returns the Cookie header line that a browser would send
// back after resp.
func setCookies(resp *http.Response) string {
	var parts []string
	for _, c := range resp.Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// routes returns every middleware path.
func routes(tb testing.TB) []route {
	tb.Helper()
	var rs []route
	rs = append(rs, route{name: "bare", handler: http.HandlerFunc(bare), req: newRequest(""), body: "ok"})

	// crumb, the reference session as a map.
	m, _ := newManager(tb)
	cookie := crumbCookie(tb, m)
	read := func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		name, _, _ := cookiesession.Get[string](s, "username")
		io.WriteString(w, name)
	}
	modify := func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		if err := s.Set("flash", "Saved again!"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	}
	rs = append(rs,
		route{"crumb/nocookie", m.Handler(http.HandlerFunc(bare)), newRequest(""), "ok", false},
		route{"crumb/untouched", m.Handler(http.HandlerFunc(bare)), newRequest(cookie), "ok", false},
		route{"crumb/read", m.Handler(http.HandlerFunc(read)), newRequest(cookie), ref.Username, false},
		route{"crumb/modify", m.Handler(http.HandlerFunc(modify)), newRequest(cookie), "ok", false},
	)

	// scs v2 with its default in-memory store: the cookie holds a token.
	sm := scs.New()
	login := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range refMap() {
			sm.Put(r.Context(), k, v)
		}
	}))
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, newRequest(""))
	scsCookie := setCookies(rec.Result())
	if scsCookie == "" {
		tb.Fatal("scs set no cookie")
	}
	rs = append(rs,
		route{"scs/nocookie", sm.LoadAndSave(http.HandlerFunc(bare)), newRequest(""), "ok", false},
		route{"scs/untouched", sm.LoadAndSave(http.HandlerFunc(bare)), newRequest(scsCookie), "ok", false},
		route{"scs/read", sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, sm.GetString(r.Context(), "username"))
		})), newRequest(scsCookie), ref.Username, false},
		route{"scs/modify", sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sm.Put(r.Context(), "flash", "Saved again!")
			io.WriteString(w, "ok")
		})), newRequest(scsCookie), "ok", false},
	)

	// gorilla/sessions' CookieStore (securecookie, gob), as its README
	// uses it.
	store := sessions.NewCookieStore(secret(tb, 32), secret(tb, 32))
	rec = httptest.NewRecorder()
	{
		r := newRequest("")
		s, _ := store.Get(r, "session")
		for k, v := range refMap() {
			s.Values[k] = v
		}
		if err := s.Save(r, rec); err != nil {
			tb.Fatal(err)
		}
	}
	gorillaCookie := setCookies(rec.Result())
	rs = append(rs,
		route{"gorilla/read", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "session")
			name, _ := s.Values["username"].(string)
			io.WriteString(w, name)
		}), newRequest(gorillaCookie), ref.Username, true},
		route{"gorilla/modify", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "session")
			s.Values["flash"] = "Saved again!"
			if err := s.Save(r, w); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "ok")
		}), newRequest(gorillaCookie), "ok", true},
	)
	return rs
}

// bodyWriter is a writer that keeps the body, for the test.
type bodyWriter struct {
	writer
	body strings.Builder
}

func (w *bodyWriter) Write(b []byte) (int, error) {
	w.writer.Write(b)
	return w.body.Write(b)
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	for _, rt := range routes(t) {
		t.Run(rt.name, func(t *testing.T) {
			w := &bodyWriter{writer: *newWriter()}
			rt.handler.ServeHTTP(w, rt.request())
			if w.status != http.StatusOK || w.body.String() != rt.body {
				t.Fatalf("status %d, body %q; want 200, %q", w.status, w.body.String(), rt.body)
			}
			cookies := len(w.h["Set-Cookie"])
			wantCookie := strings.HasSuffix(rt.name, "/modify")
			if (cookies > 0) != wantCookie {
				t.Errorf("%d Set-Cookie fields; want one only when the session changes: %q", cookies, w.h["Set-Cookie"])
			}
		})
	}
}

func BenchmarkMiddleware(b *testing.B) {
	for _, rt := range routes(b) {
		b.Run(rt.name, func(b *testing.B) {
			w := newWriter()
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				rt.handler.ServeHTTP(w, rt.request())
			}
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
			b.ReportMetric(float64(len(rt.req.Header.Get("Cookie"))), "cookie-bytes")
		})
	}
}
