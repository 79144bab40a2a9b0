package cookiesession_test

// Tests of middleware.go: when Handler commits (first WriteHeader, Write,
// Flush, 101, Hijack, return), use of the session after that point,
// http.ResponseController, and FromContext with one or several Managers.
// Handlers run in httptest.NewRecorder where the writer's behaviour does
// not matter, and behind httptest.NewServer where it does. No test sleeps:
// steps are ordered with channels.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
)

func TestMiddlewareCommitPoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		write  func(w http.ResponseWriter)
		status int
	}{
		{"Write without WriteHeader", func(w http.ResponseWriter) { _, _ = io.WriteString(w, "body") }, 200},
		{"WriteHeader 201", func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) }, 201},
		{"Flusher", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }, 200},
		{"ResponseController Flush", func(w http.ResponseWriter) { _ = http.NewResponseController(w).Flush() }, 200},
		{"writes nothing", func(http.ResponseWriter) {}, 200},
		{"redirect", func(w http.ResponseWriter) { w.Header().Set("Location", "/next"); w.WriteHeader(http.StatusSeeOther) }, 303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newHarness(t, nil)
			resp := e.serveWith("", func(w http.ResponseWriter, r *http.Request) {
				if err := sessionOf(t, r).Set("n", 1); err != nil {
					t.Fatal(err)
				}
				tt.write(w)
			})
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			v, ok := responseCookie(e.m, resp)
			if !ok {
				t.Fatalf("no Set-Cookie; headers %v", resp.Header)
			}
			if n, ok := getInt(t, e.load(v), "n"); !ok || n != 1 {
				t.Errorf("saved session: n = %d, %v", n, ok)
			}
			if errs := e.errs.take(); len(errs) != 0 {
				t.Errorf("reported %v", errs)
			}
		})
	}
}

// TestMiddlewareStreaming: a handler that flushes before writing gets
// its cookie into the headers, and the flush reaches the client while the
// handler is still running.
func TestMiddlewareStreaming(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	release := make(chan struct{})
	done := make(chan struct{})
	ts := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		if err := sessionOf(t, r).Set("n", 1); err != nil {
			t.Error(err)
		}
		rc := http.NewResponseController(w)
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush before writing: %v", err)
		}
		_, _ = io.WriteString(w, "first\n")
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		<-release
		_, _ = io.WriteString(w, "second\n")
	})))
	defer ts.Close()
	var once bool
	finish := func() {
		if !once {
			once = true
			close(release)
		}
	}
	defer finish()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL, nil)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, ok := responseCookie(e.m, resp); !ok {
		t.Errorf("streamed response has no Set-Cookie; headers %v", resp.Header)
	}
	if resp.Header.Get("Vary") != "Cookie" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("streamed response: Vary %q, Cache-Control %q", resp.Header.Get("Vary"), resp.Header.Get("Cache-Control"))
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk = %q, %v", line, err)
	}
	select {
	case <-done:
		t.Fatal("handler finished before the client read the first chunk")
	default:
	}
	finish()
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "second\n" {
		t.Errorf("rest = %q, %v", rest, err)
	}
}

// TestMiddlewareEarlyHints: a 103 response goes out without the session
// cookie; the final response carries it.
func TestMiddlewareEarlyHints(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	ts := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sessionOf(t, r).Set("n", 1); err != nil {
			t.Error(err)
		}
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = io.WriteString(w, "ok")
	})))
	defer ts.Close()

	var hints []textproto.MIMEHeader
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			if code == http.StatusEarlyHints {
				hints = append(hints, h)
			}
			return nil
		},
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL, nil)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(hints) != 1 {
		t.Fatalf("got %d 103 responses, want 1", len(hints))
	}
	if hints[0].Get("Link") == "" || len(hints[0].Values("Set-Cookie")) != 0 {
		t.Errorf("103 headers %v: want Link and no Set-Cookie", hints[0])
	}
	if resp.StatusCode != 200 {
		t.Errorf("final status %d", resp.StatusCode)
	}
	if _, ok := responseCookie(e.m, resp); !ok {
		t.Errorf("final response has no Set-Cookie; headers %v", resp.Header)
	}
}

// TestMiddlewareResponseController: deadlines and full duplex reach the
// server's writer through Unwrap.
func TestMiddlewareResponseController(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	ts := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		if err := rc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetReadDeadline: %v", err)
		}
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex: %v", err)
		}
		if err := sessionOf(t, r).Set("n", 1); err != nil {
			t.Error(err)
		}
		_, _ = io.WriteString(w, "ok")
	})))
	defer ts.Close()
	resp, err := ts.Client().Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := responseCookie(e.m, resp); !ok {
		t.Errorf("no Set-Cookie; headers %v", resp.Header)
	}

	// A writer that cannot flush: the session still commits, and
	// ResponseController reports ErrNotSupported.
	r := httptest.NewRequest("GET", "/", nil)
	w := &plainWriter{h: http.Header{}}
	e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = sessionOf(t, r).Set("n", 1)
		if err := http.NewResponseController(w).Flush(); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Flush on a writer without Flush = %v, want ErrNotSupported", err)
		}
	})).ServeHTTP(w, r)
	if w.h.Get("Set-Cookie") == "" {
		t.Errorf("no Set-Cookie through a writer without Flush")
	}
}

// plainWriter is a ResponseWriter with no optional methods.
type plainWriter struct {
	h      http.Header
	status int
}

func (w *plainWriter) Header() http.Header { return w.h }

func (w *plainWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *plainWriter) WriteHeader(status int) { w.status = status }

func TestMiddlewareLateUse(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	resp := e.serveWith("", func(w http.ResponseWriter, r *http.Request) {
		s := sessionOf(t, r)
		_ = s.Set("a", 1)
		_, _ = io.WriteString(w, "body")
		_ = s.Set("b", 2) // too late: the headers are gone
	})
	v, ok := responseCookie(e.m, resp)
	if !ok {
		t.Fatal("no Set-Cookie")
	}
	s := e.load(v)
	if !s.Has("a") || s.Has("b") {
		t.Errorf("saved keys %q, want only the change made before the first Write", s.Keys())
	}
	errs := e.errs.take()
	if len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrLate) {
		t.Errorf("reported %v, want ErrLateChange", errs)
	}

	// Reading the request's session after the first Write personalises a
	// response that went out without Vary: Cookie: a shared cache could
	// serve it to others. It is reported (the Flask CVE-2023-30861 class).
	resp = e.serveWith(v, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "body")
		getInt(t, sessionOf(t, r), "a")
	})
	if errs := e.errs.take(); len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrLate) {
		t.Errorf("a read after the first Write reported %v, want ErrLateAccess", errs)
	}
	if resp.Header.Get("Vary") != "" {
		t.Errorf("Vary = %q: the session was not read before the headers went out", resp.Header.Get("Vary"))
	}
	// Not when the request carried no session: there is nothing personal
	// to read. Nor when the session was read first, which varied the
	// response.
	e.serveWith("", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "body")
		getInt(t, sessionOf(t, r), "a")
	})
	e.serveWith(v, func(w http.ResponseWriter, r *http.Request) {
		getInt(t, sessionOf(t, r), "a")
		_, _ = io.WriteString(w, "body")
		getInt(t, sessionOf(t, r), "a")
	})
	if errs := e.errs.take(); len(errs) != 0 {
		t.Errorf("reads with nothing to leak reported %v", errs)
	}
}

func TestMiddlewareFromContextOutsideHandler(t *testing.T) {
	t.Parallel()
	if s, ok := cookiesession.FromContext(context.Background()); s != nil || ok {
		t.Errorf("FromContext(Background) = %v, %v; want nil, false", s, ok)
	}
	r := httptest.NewRequest("GET", "/", nil)
	if _, ok := cookiesession.FromContext(r.Context()); ok {
		t.Errorf("a bare request has a session")
	}
}

// TestMiddlewareAbortHandler: http.ErrAbortHandler passes through the
// middleware to net/http, which aborts the response quietly; the server
// keeps serving.
func TestMiddlewareAbortHandler(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	ts := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionOf(t, r)
		_ = s.Set("n", 1)
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		_, _ = io.WriteString(w, "ok")
	})))
	defer ts.Close()
	if resp, err := ts.Client().Get(ts.URL + "/abort"); err == nil {
		resp.Body.Close()
		t.Errorf("aborted request got a response: %v", resp.Status)
	}
	resp, err := ts.Client().Get(ts.URL + "/")
	if err != nil {
		t.Fatalf("server stopped serving after an abort: %v", err)
	}
	resp.Body.Close()
	if _, ok := responseCookie(e.m, resp); !ok {
		t.Errorf("no Set-Cookie after an earlier abort")
	}
}

// TestMiddlewareSwitchingProtocols: a 101 response is the last one on its
// connection, so the session is committed with it: a Set, Flush or
// CycleKey before an upgrade reaches the browser. (103 Early Hints, which
// a final response follows, does not commit: see TestSecMiddlewareEarlyHints.)
func TestMiddlewareSwitchingProtocols(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	v := e.saveWith(setter(t, "n", 1))
	for _, tt := range []struct {
		name   string
		change func(*cookiesession.Session)
		want   func(c *http.Cookie) bool
	}{
		{"Set", func(s *cookiesession.Session) { _ = s.Set("n", 2) }, func(c *http.Cookie) bool { return c.Value != "" }},
		{"Flush", func(s *cookiesession.Session) { _ = s.Flush() }, func(c *http.Cookie) bool { return c.Value == "" && c.MaxAge < 0 }},
		{"CycleKey", func(s *cookiesession.Session) { _ = s.CycleKey() }, func(c *http.Cookie) bool { return c.Value != "" && c.Value != v }},
	} {
		r := httptest.NewRequest("GET", "https://example.com/ws", nil)
		r.Header.Set("Cookie", cookieHeader(e.m, v))
		w := httptest.NewRecorder()
		e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tt.change(sessionOf(t, r))
			w.Header().Set("Upgrade", "websocket")
			w.WriteHeader(http.StatusSwitchingProtocols)
		})).ServeHTTP(w, r)
		resp := w.Result()
		cookies := checkSetCookies(t, e.m, resp.Header)
		if resp.StatusCode != http.StatusSwitchingProtocols || len(cookies) != 1 || !tt.want(cookies[0]) {
			t.Errorf("%s before 101: status %d, Set-Cookie %q", tt.name, resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
	}
	if errs := e.errs.take(); len(errs) != 0 {
		t.Errorf("reported %v", errs)
	}
}

// TestMiddlewareHijack: a handler that hijacks the connection (as
// WebSocket libraries do, to write their own 101) commits the session
// first; a change that needed a Set-Cookie is lost with the response the
// hijacker writes, and that is reported rather than silent.
func TestMiddlewareHijack(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	v := e.saveWith(setter(t, "n", 1))
	for _, tt := range []struct {
		name   string
		change func(*cookiesession.Session)
		want   error
	}{
		{"read only", func(s *cookiesession.Session) { getInt(t, s, "n") }, nil},
		{"changed", func(s *cookiesession.Session) { _ = s.Set("n", 2) }, cookiesession.ErrLate},
		{"flushed", func(s *cookiesession.Session) { _ = s.Flush() }, cookiesession.ErrLate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hijacked := make(chan error, 1)
			srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tt.change(sessionOf(t, r))
				conn, rw, err := http.NewResponseController(w).Hijack()
				hijacked <- err
				if err != nil {
					return
				}
				defer conn.Close()
				_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
				_ = rw.Flush()
			})))
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.Header.Set("Cookie", cookieHeader(e.m, v))
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "test")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if err := <-hijacked; err != nil {
				t.Fatalf("Hijack through the middleware: %v", err)
			}
			errs := e.errs.take()
			switch {
			case tt.want == nil && len(errs) != 0:
				t.Errorf("reported %v, want nothing", errs)
			case tt.want != nil && (len(errs) != 1 || !errors.Is(errs[0], tt.want)):
				t.Errorf("reported %v, want %v", errs, tt.want)
			}
		})
	}
}

// TestMiddlewareTwoManagers: two Managers (two cookies) in one chain; each
// handler reaches each session through its Manager, and both cookies are
// saved.
func TestMiddlewareTwoManagers(t *testing.T) {
	t.Parallel()
	outer := newHarness(t, func(c *cookiesession.Config) { c.Name = "outer" })
	inner := newHarness(t, func(c *cookiesession.Config) { c.Name = "inner" })
	h := outer.m.Handler(inner.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		so, ok1 := outer.m.FromContext(r.Context())
		si, ok2 := inner.m.FromContext(r.Context())
		innermost, ok3 := cookiesession.FromContext(r.Context())
		if !ok1 || !ok2 || !ok3 || so == si || innermost != si {
			t.Errorf("FromContext: outer %v %v, inner %v %v, innermost %v %v", so, ok1, si, ok2, innermost, ok3)
			return
		}
		_ = so.Set("which", "outer")
		_ = si.Set("which", "inner")
	})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/", nil))
	got := map[string]bool{}
	for _, c := range w.Result().Cookies() {
		got[c.Name] = c.Value != ""
	}
	if !got[outer.m.Name()] || !got[inner.m.Name()] || len(got) != 2 {
		t.Errorf("cookies set: %v, want both sessions", got)
	}
	if _, ok := outer.m.FromContext(context.Background()); ok {
		t.Error("Manager.FromContext found a session in an empty context")
	}
	other := newHarness(t, nil)
	outer.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := other.m.FromContext(r.Context()); ok || s != nil {
			t.Errorf("a Manager found another Manager's session: %v", s)
		}
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

// redactKey keys a value layered over a request's context.
type redactKey struct{}

// TestMiddlewareContextRedacted: printing the request's context, or the
// ResponseWriter, in a handler (with fmt, log or log/slog, in any
// position) shows neither the
// session cookie nor any other cookie of the request, before and after the
// session is used, with and without chunk cookies (whose reading keeps the
// request's Cookie header).
func TestMiddlewareContextRedacted(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	v := h.seed(map[string]any{"k": "v"})
	const other = "other-cookie-value-that-must-not-print"
	type holder struct{ ctx context.Context }
	var outputs []string
	type writerHolder struct{ w http.ResponseWriter }
	var w http.ResponseWriter
	print := func(ctx context.Context) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			for _, x := range []any{ctx, holder{ctx}, &holder{ctx}, []context.Context{ctx}, w, writerHolder{w}} {
				outputs = append(outputs, fmt.Sprintf(verb, x))
			}
		}
		var buf bytes.Buffer
		log.New(&buf, "", 0).Print(ctx, holder{ctx})
		for _, handler := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
			slog.New(handler).Info("request", "ctx", ctx, "held", holder{ctx})
		}
		outputs = append(outputs, buf.String())
	}
	view := func(rw http.ResponseWriter, r *http.Request) {
		w = rw
		print(r.Context())
		s, _ := cookiesession.FromContext(r.Context())
		_ = s.Len()
		print(r.Context())
		print(context.WithValue(r.Context(), redactKey{}, 1))
	}
	h.serve(view, v)
	req := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	req.Header.Add("Cookie", h.header(v)+"; "+h.m.Name()+".1=x; other="+other)
	h.do(req, view)
	for _, out := range outputs {
		for _, f := range []string{v, v[len(v)-24:], other} {
			if strings.Contains(out, f) {
				t.Fatalf("printed context %q shows %q", out, f)
			}
		}
	}
	if got := fmt.Sprint(outputs[0]); !strings.Contains(got, "cookiesession") {
		t.Errorf("printed context %q does not say it carries a session", got)
	}
}
