package main

import (
	"bytes"
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
)

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

type browser struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func newBrowser(t *testing.T, keys rotation.Source, clk *clock) (*browser, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	h, err := newApp(keys, slog.New(slog.NewTextHandler(&logs, nil)), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, srv: srv, c: &http.Client{Jar: jar}}, &logs
}

func (b *browser) do(method, path string, form url.Values) string {
	b.t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
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
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s %s: status %d, body %s", method, path, resp.StatusCode, body)
	}
	return string(body)
}

func (b *browser) cookie() *http.Cookie {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "__Host-sessionid" {
			return c
		}
	}
	return nil
}

func mustContain(t *testing.T, body, want string) {
	t.Helper()
	if !strings.Contains(body, want) {
		t.Errorf("page lacks %q:\n%s", want, body)
	}
}

func mustNotContain(t *testing.T, body, unwanted string) {
	t.Helper()
	if strings.Contains(body, unwanted) {
		t.Errorf("page has %q:\n%s", unwanted, body)
	}
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

func TestLoginCartFlashLogout(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	b, _ := newBrowser(t, testKeys(t), clk)

	home := b.do("GET", "/", nil)
	mustContain(t, home, `action="/login"`)
	if b.cookie() != nil {
		t.Fatal("a visit that stores nothing set a cookie")
	}

	// Login redirects home; the welcome flash shows once.
	home = b.do("POST", "/login", url.Values{"name": {"ann"}})
	mustContain(t, home, "Welcome, ann!")
	mustContain(t, home, `<strong id="user">ann</strong>`)
	home = b.do("GET", "/", nil)
	mustNotContain(t, home, "Welcome, ann!")

	home = b.do("POST", "/cart", url.Values{"item": {"tea"}})
	mustContain(t, home, "Added tea to your cart.")
	home = b.do("POST", "/cart", url.Values{"item": {"cake"}})
	mustContain(t, home, "<li>tea</li><li>cake</li>")

	page := b.do("GET", "/session", nil)
	mustContain(t, page, "<code>user</code>: ann")
	mustContain(t, page, "<code>cart</code>:")
	if c := b.cookie(); c == nil || !strings.Contains(page, `id="size">`) {
		t.Fatal("session page lacks the cookie size")
	}
	mustNotContain(t, page, `<code id="sid"></code>`)

	home = b.do("POST", "/logout", nil)
	mustContain(t, home, "You are logged out.")
	mustNotContain(t, home, `id="user"`)
	mustContain(t, home, "<em>empty</em>")
	// Once the logout flash is read, the session holds nothing but its ID.
	mustNotContain(t, b.do("GET", "/", nil), "You are logged out.")
	mustContain(t, b.do("GET", "/session", nil), "<li><em>none</em></li>")
}

func TestIdleAndAbsoluteTimeouts(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	b, logs := newBrowser(t, testKeys(t), clk)
	b.do("POST", "/login", url.Values{"name": {"bob"}})

	// Active every 9 minutes: renewals keep the session alive past the
	// 30-minute idle timeout, until the 8-hour absolute lifetime.
	for clk.now().Before(time.Date(2026, 11, 25, 16, 55, 0, 0, time.UTC)) {
		clk.advance(9 * time.Minute)
		mustContain(t, b.do("GET", "/", nil), `id="user">bob<`)
	}
	clk.advance(6 * time.Minute) // 17:01, past 09:00 + 8h
	mustNotContain(t, b.do("GET", "/", nil), `id="user"`)

	// Idle: 31 minutes without a request ends a fresh session.
	b.do("POST", "/login", url.Values{"name": {"bob"}})
	clk.advance(31 * time.Minute)
	mustNotContain(t, b.do("GET", "/", nil), `id="user"`)
	if !strings.Contains(logs.String(), "expired") {
		t.Errorf("expired sessions were not logged:\n%s", logs.String())
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	clk := &clock{t: time.Now()}
	b, _ := newBrowser(t, testKeys(t), clk)
	req, _ := http.NewRequest("POST", b.srv.URL+"/login", strings.NewReader("name=eve"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: status %d, want 403", resp.StatusCode)
	}
	if b.cookie() != nil {
		t.Error("cross-site POST set a session cookie")
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

	k, _ := crypto.GenerateKey()
	t.Setenv("CRUMB_KEYS", "primary "+k.SecretText())
	logs.Reset()
	src, err := loadKeys(logger)
	if err != nil {
		t.Fatal(err)
	}
	if got := src.At(time.Now()).Primary(); !got.Equal(k) {
		t.Errorf("primary = %v, want %v", got, k)
	}
	if strings.Contains(logs.String(), k.SecretText()[19:]) {
		t.Error("the log contains the secret")
	}

	t.Setenv("CRUMB_KEYS", "primary not-a-key")
	if _, err := loadKeys(logger); err == nil {
		t.Error("a bad CRUMB_KEYS was accepted")
	}
}
