package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
	"github.com/gin-gonic/gin"
)

// TestMain sets Gin's globals once, before any test runs: release mode,
// and no stack trace from gin.Recovery for the /panic route.
func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	gin.DefaultErrorWriter = io.Discard
	os.Exit(m.Run())
}

// browser is a client with a cookie jar against the example app.
type browser struct {
	t   *testing.T
	url string
	c   *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := rotation.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newApp(keys, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, url: srv.URL, c: &http.Client{Jar: jar, Transport: srv.Client().Transport}}
}

// do sends a request and returns the status and whether the response set
// a cookie.
func (b *browser) do(method, path string) (status int, setCookie bool) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.url+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, len(resp.Header.Values("Set-Cookie")) > 0
}

// visits reads the counter, which also adds one.
func (b *browser) visits() int {
	b.t.Helper()
	resp, err := b.c.Get(b.url + "/visits")
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Visits int }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		b.t.Fatal(err)
	}
	return v.Visits
}

// TestErrorPathSavesNothing: a handler that changed the session and then
// failed through Gin's own path (AbortWithStatus, AbortWithError, a status
// with no body, a panic caught by gin.Recovery) answers 5xx with no
// Set-Cookie, and its change is lost; a 4xx saves it.
func TestErrorPathSavesNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path   string
		status int
		saved  bool
	}{
		{"/fail", http.StatusInternalServerError, false},
		{"/fail-error", http.StatusServiceUnavailable, false},
		{"/fail-status", http.StatusInternalServerError, false},
		{"/panic", http.StatusInternalServerError, false},
		{"/bad", http.StatusBadRequest, true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			b := newBrowser(t)
			if n := b.visits(); n != 1 {
				t.Fatalf("first visit: %d", n)
			}
			status, setCookie := b.do(http.MethodPost, tc.path)
			if status != tc.status || setCookie != tc.saved {
				t.Fatalf("POST %s: status %d, Set-Cookie %v; want %d, %v", tc.path, status, setCookie, tc.status, tc.saved)
			}
			want := 2
			if tc.saved {
				want = 3
			}
			if n := b.visits(); n != want {
				t.Errorf("after POST %s the counter reads %d, want %d", tc.path, n, want)
			}
		})
	}
}

// TestSessionsSaves: the ordinary path counts visits across requests.
func TestSessionsSaves(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for want := 1; want <= 3; want++ {
		if n := b.visits(); n != want {
			t.Fatalf("visit %d: counter %d", want, n)
		}
	}
	if status, _ := b.do(http.MethodGet, "/nowhere"); status != http.StatusNotFound {
		t.Errorf("unknown route: %d", status)
	}
}
