package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
	"github.com/go-chi/chi/v5"
)

const cookieName = "__Host-sessionid"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testKeys(t *testing.T) *rotation.Keyring {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := rotation.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

type browser struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

// newBrowser starts the router, with extra routes added by extend (if any),
// and returns a client with a cookie jar.
func newBrowser(t *testing.T, clk *clock, extend func(*chi.Mux)) *browser {
	t.Helper()
	r, err := newRouter(testKeys(t), slog.New(slog.NewTextHandler(io.Discard, nil)), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if extend != nil {
		extend(r)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, srv: srv, c: &http.Client{Jar: jar, Transport: srv.Client().Transport}}
}

// do sends a request with the jar's cookies and returns the response, its
// body read.
func (b *browser) do(method, path string, header http.Header) (*http.Response, []byte) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, body
}

type visitReply struct {
	Page      string `json:"page"`
	Visits    int    `json:"visits"`
	RequestID string `json:"request_id"`
}

func (b *browser) visit(page string) visitReply {
	b.t.Helper()
	resp, body := b.do("GET", "/visits/"+page, nil)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET /visits/%s: status %d, body %s", page, resp.StatusCode, body)
	}
	var v visitReply
	if err := json.Unmarshal(body, &v); err != nil {
		b.t.Fatalf("GET /visits/%s: %v in %s", page, err, body)
	}
	return v
}

func (b *browser) list() Visits {
	b.t.Helper()
	resp, body := b.do("GET", "/visits", nil)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET /visits: status %d, body %s", resp.StatusCode, body)
	}
	var v Visits
	if err := json.Unmarshal(body, &v); err != nil {
		b.t.Fatalf("GET /visits: %v in %s", err, body)
	}
	return v
}

func (b *browser) sessionCookie() *http.Cookie {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

func TestVisitsCountPerPage(t *testing.T) {
	b := newBrowser(t, &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}, nil)
	if got := b.list(); len(got) != 0 {
		t.Fatalf("new visitor's visits = %v, want none", got)
	}
	if b.sessionCookie() != nil {
		t.Fatal("a request that stored nothing set a cookie")
	}

	for want := 1; want <= 3; want++ {
		if got := b.visit("home").Visits; got != want {
			t.Fatalf("home visit %d: count = %d", want, got)
		}
	}
	if got := b.visit("about").Visits; got != 1 {
		t.Errorf("about: count = %d, want 1 (counts are per page)", got)
	}
	if got := b.visit("home").Visits; got != 4 {
		t.Errorf("home after about: count = %d, want 4", got)
	}
	if got, want := b.list(), (Visits{"home": 4, "about": 1}); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("visits = %v, want %v", got, want)
	}

	resp, _ := b.do("DELETE", "/visits", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /visits: status %d", resp.StatusCode)
	}
	if got := b.visit("home").Visits; got != 1 {
		t.Errorf("home after reset: count = %d, want 1", got)
	}
}

func TestSessionHeaders(t *testing.T) {
	b := newBrowser(t, &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}, nil)
	resp, _ := b.do("GET", "/visits/home", nil)
	c, err := http.ParseSetCookie(resp.Header.Get("Set-Cookie"))
	if err != nil {
		t.Fatalf("GET /visits/home: Set-Cookie: %v", err)
	}
	if c.Name != cookieName || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie %s (Secure %v, HttpOnly %v, SameSite %v) lacks crumb's defaults", c.Name, c.Secure, c.HttpOnly, c.SameSite)
	}
	if resp.Header.Get("Vary") != "Cookie" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Vary %q, Cache-Control %q: want Cookie, no-store", resp.Header.Get("Vary"), resp.Header.Get("Cache-Control"))
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q: the handler's own headers were lost", got)
	}
}

// TestChiStillWorks shows that chi's URL parameters and its middleware's
// context values reach handlers through the session middleware.
func TestChiStillWorks(t *testing.T) {
	b := newBrowser(t, &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}, nil)

	resp, body := b.do("GET", "/visits/release-notes", http.Header{"X-Request-Id": {"req-42"}})
	var v visitReply
	if err := json.Unmarshal(body, &v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	if v.Page != "release-notes" {
		t.Errorf("page = %q, want the URL parameter release-notes", v.Page)
	}
	if v.RequestID != "req-42" {
		t.Errorf("request_id = %q, want middleware.RequestID's req-42", v.RequestID)
	}
	if id := b.visit("home").RequestID; id == "" || id == "req-42" {
		t.Errorf("generated request_id = %q, want a fresh one", id)
	}
}

func TestChiResponsesSetNoCookie(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/nowhere", http.StatusNotFound},
		{"GET", "/visits/Not_A_Page", http.StatusNotFound}, // fails the {page} pattern
		{"POST", "/visits/home", http.StatusMethodNotAllowed},
		{"PUT", "/visits", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
			b := newBrowser(t, clk, nil)

			// Without a session, and with one. (A session due for renewal,
			// RenewAfter after its last save, would be re-sealed here as on
			// any response below 500: activity is activity.)
			for _, visitor := range []string{"new", "returning"} {
				if visitor == "returning" {
					b.visit("home")
					clk.advance(5 * time.Minute)
				}
				resp, body := b.do(tc.method, tc.path, nil)
				if resp.StatusCode != tc.status {
					t.Fatalf("%s visitor: status %d, want %d (%s)", visitor, resp.StatusCode, tc.status, body)
				}
				if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
					t.Errorf("%s visitor: chi's %d set %d cookies", visitor, tc.status, len(sc))
				}
			}
			if got := b.visit("home").Visits; got != 2 {
				t.Errorf("count after chi's own responses = %d, want 2", got)
			}
		})
	}
}

// TestPanicSavesNothing shows the middleware order at work: Recoverer
// answers 500, and the session changed before the panic is not saved.
func TestPanicSavesNothing(t *testing.T) {
	b := newBrowser(t, &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}, func(r *chi.Mux) {
		r.Get("/boom", func(w http.ResponseWriter, r *http.Request) {
			if err := session(r).Set("visits", Visits{"home": 100}); err != nil {
				t.Error(err)
			}
			panic("boom")
		})
	})
	b.visit("home")
	resp, _ := b.do("GET", "/boom", nil)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("GET /boom: status %d, want Recoverer's 500", resp.StatusCode)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("a panicking handler's session was saved (%d Set-Cookie)", len(sc))
	}
	if got := b.visit("home").Visits; got != 2 {
		t.Errorf("home count = %d, want 2: the change before the panic leaked", got)
	}
}

func TestIdleTimeout(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	b := newBrowser(t, clk, nil)
	b.visit("home")
	clk.advance(29 * time.Minute)
	if got := b.visit("home").Visits; got != 2 {
		t.Fatalf("after 29 idle minutes: count = %d, want 2", got)
	}
	clk.advance(31 * time.Minute)
	if got := b.visit("home").Visits; got != 1 {
		t.Errorf("after 31 idle minutes: count = %d, want 1 (a fresh session)", got)
	}
}

func TestPageLimit(t *testing.T) {
	b := newBrowser(t, &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}, nil)
	for i := range maxPages {
		b.visit(fmt.Sprintf("p%d", i))
	}
	resp, _ := b.do("GET", "/visits/one-too-many", nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("page %d: status %d, want 422", maxPages+1, resp.StatusCode)
	}
	if got := b.visit("p0").Visits; got != 2 {
		t.Errorf("known page after the limit: count = %d, want 2", got)
	}
}

func TestLoadKeys(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	t.Setenv("CRUMB_KEYS", "")
	if _, err := loadKeys(logger); err != nil {
		t.Fatalf("no CRUMB_KEYS: %v", err)
	}
	if !strings.Contains(logs.String(), "throwaway key") {
		t.Errorf("throwaway key not announced: %s", logs.String())
	}

	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CRUMB_KEYS", "primary "+k.SecretText())
	logs.Reset()
	src, err := loadKeys(logger)
	if err != nil {
		t.Fatal(err)
	}
	if got := src.At(time.Now()).Primary(); !got.Equal(k) {
		t.Errorf("primary = %v, want %v", got, k)
	}
	if secret := strings.SplitN(k.SecretText(), "_", 3)[2]; strings.Contains(logs.String(), secret) {
		t.Error("the log contains the secret")
	}

	t.Setenv("CRUMB_KEYS", "primary not-a-key")
	if _, err := loadKeys(logger); err == nil {
		t.Error("a bad CRUMB_KEYS was accepted")
	}
}
