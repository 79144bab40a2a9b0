package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

var t0 = time.Date(2026, time.December, 1, 12, 0, 0, 0, time.UTC)

// clock is an injected clock that moves only when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is the example server under test, with a browser-like client.
type env struct {
	t      *testing.T
	url    string
	u      *url.URL
	client *http.Client
	jar    *cookiejar.Jar
	clock  *clock
	keys   *rotation.Holder
}

// defaults are the settings of the command with no flags.
func defaults(t *testing.T) settings {
	t.Helper()
	s, err := parseSettings(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newEnv(t *testing.T, set settings) *env {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := rotation.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: &clock{now: t0}, keys: rotation.NewHolder(ring)}
	h, err := newApp(e.keys, set, slog.New(slog.DiscardHandler), e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.u, _ = url.Parse(srv.URL)
	e.jar, _ = cookiejar.New(nil)
	// Its own transport: a parallel test closing its server closes the
	// idle connections of http.DefaultTransport, which could break a
	// request of this one.
	e.client = &http.Client{Jar: e.jar, Transport: srv.Client().Transport}
	return e
}

// do sends a request, following redirects, and returns the last response
// and its body.
func (e *env) do(method, path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(b)
}

func (e *env) get(path string) string {
	e.t.Helper()
	_, body := e.do(http.MethodGet, path, nil)
	return body
}

func (e *env) post(path string, kv ...string) (*http.Response, string) {
	e.t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	return e.do(http.MethodPost, path, form)
}

// cookies returns the names of the cookies the client holds.
func (e *env) cookies() []string {
	var names []string
	for _, c := range e.jar.Cookies(e.u) {
		names = append(names, c.Name)
	}
	return names
}

// element returns the text of the element with the given id in page, and
// whether there is one.
func element(page, id string) (string, bool) {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)`).FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func number(t *testing.T, page, id string) int {
	t.Helper()
	v, ok := element(page, id)
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if !ok || err != nil {
		t.Fatalf("no number in #%s", id)
	}
	return n
}

// wantNotice checks that page's first message has class kind and holds
// text.
func wantNotice(t *testing.T, page, kind, text string) {
	t.Helper()
	m := regexp.MustCompile(`<p class="([a-z]+)" id="notice">([^<]*)`).FindStringSubmatch(page)
	if m == nil || m[1] != kind || !strings.Contains(m[2], text) {
		t.Errorf("notice %q, want class %q containing %q", m, kind, text)
	}
}

const item40 = "0123456789abcdefghij0123456789abcdefghij"

// fill adds 40-character items, 10 at a time and then one at a time,
// until the server refuses one, and returns the last good count and the
// refusing page.
func (e *env) fill() (int, string) {
	e.t.Helper()
	for _, step := range []string{"10", "1"} {
		for {
			_, page := e.post("/cart", "item", item40, "count", step)
			if strings.Contains(page, "too large") {
				if step == "1" {
					return number(e.t, page, "cart-count"), page
				}
				break
			}
			if number(e.t, page, "cart-count") > 2000 {
				e.t.Fatal("the cart never became too large")
			}
		}
	}
	panic("unreachable")
}

func TestParseSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    settings
		wantErr bool
	}{
		{"defaults", nil, nil, settings{addr: "127.0.0.1:8080", lifetime: 30 * time.Minute, renewAfter: 10 * time.Minute, absolute: 8 * time.Hour, chunks: 1}, false},
		{"environment", nil, map[string]string{"CRUMB_ADDR": "127.0.0.1:0", "CRUMB_LIFETIME": "1m", "CRUMB_ABSOLUTE": "5m", "CRUMB_CHUNKS": "3", "CRUMB_MAX_HEADER_BYTES": "9000"},
			settings{addr: "127.0.0.1:0", lifetime: time.Minute, renewAfter: 20 * time.Second, absolute: 5 * time.Minute, chunks: 3, maxHeaderBytes: 9000}, false},
		{"flags override the environment", []string{"-lifetime", "2m", "-renew-after", "1m", "-chunks", "2"}, map[string]string{"CRUMB_LIFETIME": "1m", "CRUMB_CHUNKS": "5"},
			settings{addr: "127.0.0.1:8080", lifetime: 2 * time.Minute, renewAfter: time.Minute, absolute: 8 * time.Hour, chunks: 2}, false},
		{"genkey", []string{"-genkey"}, nil, settings{addr: "127.0.0.1:8080", lifetime: 30 * time.Minute, renewAfter: 10 * time.Minute, absolute: 8 * time.Hour, chunks: 1, genkey: true}, false},
		{"bad duration in the environment", nil, map[string]string{"CRUMB_LIFETIME": "soon"}, settings{}, true},
		{"bad number in the environment", nil, map[string]string{"CRUMB_CHUNKS": "many"}, settings{}, true},
		{"bad flag", []string{"-lifetime", "soon"}, nil, settings{}, true},
		{"unknown flag", []string{"-colour"}, nil, settings{}, true},
		{"stray argument", []string{"serve"}, nil, settings{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseSettings(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseSettings = %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseSettings = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestSettingsRefused: timings the library cannot honour stop the command
// with an error that names the setting.
func TestSettingsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*settings)
		want string
	}{
		{"renewal not shorter than the lifetime", func(s *settings) { s.renewAfter = s.lifetime }, "RenewAfter"},
		{"11 chunks", func(s *settings) { s.chunks = 11 }, "MaxChunks"},
		{"a header budget below one cookie", func(s *settings) { s.maxHeaderBytes = 10 }, "MaxHeaderBytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set := defaults(t)
			tc.mod(&set)
			ring, _ := rotation.NewKeyring(mustKey(t))
			if _, err := newApp(rotation.NewHolder(ring), set, slog.New(slog.DiscardHandler), time.Now); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("newApp = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func mustKey(t *testing.T) *crypto.Key {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRun starts the command on a free port: it prints the URL it serves,
// serves the home page there, and stops when its context ends. -genkey
// prints a key list that loads.
func TestRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, func(string) string { return "" }, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the first line: %v", err)
	}
	m := regexp.MustCompile(`^listening on (http://127\.0\.0\.1:[1-9][0-9]*/)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("first line %q, want listening on http://127.0.0.1:PORT/", line)
	}
	c := &http.Client{Transport: &http.Transport{}} // not http.DefaultTransport: parallel tests close its connections
	t.Cleanup(c.CloseIdleConnections)
	resp, err := c.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s = %d", m[1], resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel = %v, want nil", err)
	}

	var out strings.Builder
	if err := run(context.Background(), []string{"-genkey"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := rotation.ParseKeys("genkey", out.String()); err != nil {
		t.Errorf("-genkey printed a list that does not load: %v", err)
	}
}

// TestLoginLogout: logging in shows the user; logging out is final: the
// cookie from before the logout, replayed, opens no session, and the page
// says the session was ended.
func TestLoginLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaults(t))
	_, page := e.post("/login", "name", "ann")
	if user, _ := element(page, "user"); user != "ann" {
		t.Fatalf("after login #user = %q", user)
	}
	wantNotice(t, page, "ok", "Welcome, ann")
	old := e.jar.Cookies(e.u)

	_, page = e.post("/logout")
	wantNotice(t, page, "ok", "logged out")
	if _, ok := element(page, "user"); ok {
		t.Error("still logged in after logout")
	}

	e.jar.SetCookies(e.u, old) // a copy kept by an attacker, or another tab
	page = e.get("/")
	if _, ok := element(page, "user"); ok {
		t.Error("the pre-logout cookie logs in again")
	}
	wantNotice(t, page, "error", "ended")
}

// TestRejectedReasons: a cookie that does not become a session is
// explained in a user's words, by class of reason only.
func TestRejectedReasons(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		do   func(e *env)
		want string
	}{
		{"expired", func(e *env) { e.clock.Advance(31 * time.Minute) }, "expired"},
		{"unknown key", func(e *env) {
			ring, _ := rotation.NewKeyring(mustKey(t))
			e.keys.Store(ring)
		}, "key"},
		{"garbage", func(e *env) {
			e.jar.SetCookies(e.u, []*http.Cookie{{Name: "__Host-sessionid", Value: "not-a-crumb-cookie", Path: "/", Secure: true}})
		}, "could not be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, defaults(t))
			e.post("/login", "name", "ann")
			tc.do(e)
			page := e.get("/")
			wantNotice(t, page, "error", tc.want)
			if _, ok := element(page, "user"); ok {
				t.Error("still logged in")
			}
			if strings.Contains(page, "crumb:") || strings.Contains(page, "cookiesession:") {
				t.Error("the page shows the library's error text")
			}
		})
	}
}

// TestCartTooLarge: the cart grows until the session would not fit; the
// refused add says so and changes nothing, the last good cart comes back
// on the next request, and the session then uses its cookie nearly to the
// limit.
func TestCartTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaults(t))
	e.post("/login", "name", "ann")
	good, page := e.fill()
	wantNotice(t, page, "error", "too large")
	if got := number(t, e.get("/"), "cart-count"); got != good {
		t.Errorf("after the refused add the cart has %d items, want %d", got, good)
	}
	if user, _ := element(e.get("/"), "user"); user != "ann" {
		t.Errorf("logged out by a refused add: #user = %q", user)
	}
	inspect := e.get("/session")
	total, limit := number(t, inspect, "size-total"), number(t, inspect, "limit")
	if total > limit || limit-total > 80 {
		t.Errorf("the full session takes %d of %d bytes", total, limit)
	}
	if names := e.cookies(); len(names) != 1 {
		t.Errorf("cookies %q, want the session cookie alone", names)
	}
}

// TestLoginWithFullCart: a login that would not fit is refused with a
// message, and the cart is kept.
func TestLoginWithFullCart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaults(t))
	good, _ := e.fill()
	_, page := e.post("/login", "name", strings.Repeat("n", 64))
	wantNotice(t, page, "error", "too large")
	page = e.get("/")
	if _, ok := element(page, "user"); ok {
		t.Error("logged in although the session did not fit")
	}
	if got := number(t, page, "cart-count"); got != good {
		t.Errorf("cart has %d items after the refused login, want %d", got, good)
	}
}

// TestCartChunked: with -chunks 3 (and a header budget that holds three
// cookies: the default 7168 holds two) the cart outgrows one cookie; the
// chunks round-trip, and emptying the cart expires them.
func TestCartChunked(t *testing.T) {
	t.Parallel()
	set := defaults(t)
	set.chunks, set.maxHeaderBytes = 3, 12288
	e := newEnv(t, set)
	good, _ := e.fill()
	if got := number(t, e.get("/"), "cart-count"); got != good || good < 200 {
		t.Fatalf("cart holds %d items, read back %d; want more than one cookie holds", good, got)
	}
	inspect := e.get("/session")
	if n := number(t, inspect, "chunks"); n != 3 || len(e.cookies()) != 3 {
		t.Errorf("#chunks %d, cookies %q; want 3", n, e.cookies())
	}
	e.post("/cart/clear")
	if names := e.cookies(); len(names) > 1 {
		t.Errorf("after emptying the cart the browser holds %q", names)
	}
}

// TestInspect: the session page shows typed data as a user reads it, the
// key that sealed the cookie, and the exact size of what the last response
// sent.
func TestInspect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaults(t))
	e.post("/login", "name", "ann")
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, _ := e.post("/cart", "item", "tea", "count", "2")
	sent := 0
	for _, line := range resp.Header.Values("Set-Cookie") {
		sent += len(line)
	}
	page := e.get("/session")
	if strings.Contains(page, "map[") || !strings.Contains(page, "2 items: tea, tea") {
		t.Errorf("the session page does not show the cart as items")
	}
	if got := number(t, page, "size-total"); got != sent || sent == 0 {
		t.Errorf("#size-total = %d, the response sent %d bytes of Set-Cookie", got, sent)
	}
	primary := e.keys.At(t0).Primary().ID().String()
	if id, _ := element(page, "keyid"); id != primary {
		t.Errorf("#keyid = %q, want %q", id, primary)
	}
	if s, _ := element(page, "subject"); s != "ann" {
		t.Errorf("#subject = %q", s)
	}
	if exp, _ := element(page, "expires"); !strings.HasPrefix(exp, "2026-12-01 12:30:00 UTC (in 30m0s)") {
		t.Errorf("#expires = %q", exp)
	}
}

// TestRotate: rotating the key keeps the user logged in, and the next
// response re-seals the session under the new key.
func TestRotate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaults(t))
	e.post("/login", "name", "ann")
	first, _ := element(e.get("/session"), "keyid")
	_, page := e.post("/rotate")
	wantNotice(t, page, "ok", "now seals new cookies")
	page = e.get("/session")
	id, _ := element(page, "keyid")
	primary, _ := element(page, "primary")
	if id != primary || id == first || first == "" {
		t.Errorf("after rotation #keyid %q, #primary %q, first key %q; want the new primary", id, primary, first)
	}
	if s, _ := element(page, "subject"); s != "ann" {
		t.Errorf("logged out by a rotation: #subject %q", s)
	}
}

// TestCrossOriginRefused: a form posted from another site is refused and
// changes nothing.
func TestCrossOriginRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaults(t))
	req, _ := http.NewRequest(http.MethodPost, e.url+"/cart", strings.NewReader("item=evil&count=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST = %d, want 403", resp.StatusCode)
	}
	if strings.Contains(e.get("/"), "evil") {
		t.Error("the cross-site POST changed the cart")
	}
}

// TestBadInput: bad form values get a message and a 400, never a 500.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaults(t))
	for _, tc := range []struct {
		name string
		path string
		kv   []string
	}{
		{"empty name", "/login", []string{"name", " "}},
		{"name not UTF-8", "/login", []string{"name", "\xff"}},
		{"item too long", "/cart", []string{"item", item40 + "x"}},
		{"count 0", "/cart", []string{"item", "tea", "count", "0"}},
		{"count 501", "/cart", []string{"item", "tea", "count", "501"}},
		{"count not a number", "/cart", []string{"item", "tea", "count", "x"}},
	} {
		resp, page := e.post(tc.path, tc.kv...)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", tc.name, resp.StatusCode)
		}
		wantNotice(t, page, "error", "")
	}
}
