package main

// The events in testdata follow the API Gateway HTTP API payload format 2.0
// and the Lambda function URL event as AWS documents them, with the header
// set a browser or curl sends through each; IDs, addresses and account
// numbers are made up. The tests carry cookies between them as a browser
// would: a Set-Cookie from one response's cookies list becomes a
// "name=value" entry in the next event's cookies list.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
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

// newTestApp returns the app on a fresh key, its clock (at the fixtures'
// time) and its log.
func newTestApp(t *testing.T) (*app, *clock, *syncBuffer) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	logs := &syncBuffer{}
	a, err := newApp(testKeys(t), slog.New(slog.NewTextHandler(logs, nil)), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	return a, clk, logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func fixtureBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixture(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(fixtureBytes(t, name), &req); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return req
}

// browser keeps the cookies a browser would and sends them with each event.
type browser struct {
	t       *testing.T
	a       *app
	cookies map[string]string
}

func newBrowser(t *testing.T, a *app) *browser {
	return &browser{t: t, a: a, cookies: map[string]string{}}
}

// send invokes the handler with the fixture, after edit (if any) and with
// the browser's cookies added to the event's own, and stores the response's
// cookies.
func (b *browser) send(name string, edit func(*events.APIGatewayV2HTTPRequest)) events.APIGatewayV2HTTPResponse {
	b.t.Helper()
	req := fixture(b.t, name)
	if edit != nil {
		edit(&req)
	}
	for _, k := range slices.Sorted(maps.Keys(b.cookies)) {
		req.Cookies = append(req.Cookies, k+"="+b.cookies[k])
	}
	resp := invoke(b.t, b.a, req)
	for _, line := range resp.Cookies {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			b.t.Fatalf("%s: bad Set-Cookie %q: %v", name, redact(line), err)
		}
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return resp
}

func invoke(t *testing.T, a *app, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := a.handle(context.Background(), req)
	if err != nil {
		t.Fatalf("%s %s: handler error %v", req.RequestContext.HTTP.Method, req.RawPath, err)
	}
	return resp
}

// body decodes a JSON response body.
func body(t *testing.T, resp events.APIGatewayV2HTTPResponse) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return m
}

func wantStatus(t *testing.T, resp events.APIGatewayV2HTTPResponse, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, want, resp.Body)
	}
}

func wantUser(t *testing.T, resp events.APIGatewayV2HTTPResponse, want string) {
	t.Helper()
	wantStatus(t, resp, http.StatusOK)
	if got := body(t, resp)["user"]; got != want {
		t.Fatalf("user = %v, want %q", got, want)
	}
}

// sessionCookie returns the one session Set-Cookie of resp, parsed.
func sessionCookie(t *testing.T, resp events.APIGatewayV2HTTPResponse) *http.Cookie {
	t.Helper()
	if len(resp.Cookies) != 1 {
		t.Fatalf("cookies = %d, want 1 session cookie", len(resp.Cookies))
	}
	c, err := http.ParseSetCookie(resp.Cookies[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != cookieName {
		t.Fatalf("cookie name = %q, want %q", c.Name, cookieName)
	}
	return c
}

// redact hides the value of a Set-Cookie line, so that failures never print
// a session.
func redact(line string) string {
	name, rest, _ := strings.Cut(line, "=")
	_, attrs, _ := strings.Cut(rest, ";")
	return name + "=<redacted>;" + attrs
}

func wantNoCookie(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if len(resp.Cookies) != 0 {
		t.Fatalf("response sets %d cookies, want none", len(resp.Cookies))
	}
	if _, ok := resp.Headers["Set-Cookie"]; ok {
		t.Fatal("Set-Cookie in the headers map; it belongs in the cookies list")
	}
}

// wantCacheSafe checks the fields every response that sets or deletes the
// cookie needs.
func wantCacheSafe(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if got := resp.Headers["Vary"]; got != "Cookie" {
		t.Errorf("Vary = %q, want Cookie", got)
	}
	if got := resp.Headers["Cache-Control"]; got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
}

func TestLoginMeLogout(t *testing.T) {
	a, _, _ := newTestApp(t)
	b := newBrowser(t, a)

	wantStatus(t, b.send("me.json", nil), http.StatusUnauthorized)

	resp := b.send("login.json", nil)
	wantUser(t, resp, "ann")
	c := sessionCookie(t, resp)
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("cookie attributes: %q", redact(resp.Cookies[0]))
	}
	if c.MaxAge != int((30 * time.Minute).Seconds()) {
		t.Errorf("Max-Age = %d, want the 30-minute lifetime", c.MaxAge)
	}
	wantCacheSafe(t, resp)
	if got := resp.Headers["Content-Type"]; got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}

	// The next event carries the cookie (beside the fixture's own
	// theme=dark) and sees the session; reading it rewrites nothing.
	resp = b.send("me.json", nil)
	wantUser(t, resp, "ann")
	wantNoCookie(t, resp)
	if got := resp.Headers["Vary"]; got != "Cookie" {
		t.Errorf("a response that read the session has Vary %q, want Cookie", got)
	}

	// A function URL delivers the same shape.
	wantUser(t, b.send("function_url_me.json", nil), "ann")

	resp = b.send("logout.json", nil)
	wantStatus(t, resp, http.StatusOK)
	c = sessionCookie(t, resp)
	if c.MaxAge >= 0 || c.Value != "" || !strings.Contains(resp.Cookies[0], "Max-Age=0") {
		t.Errorf("logout cookie %q does not delete the session", redact(resp.Cookies[0]))
	}
	wantCacheSafe(t, resp)
	if _, ok := b.cookies[cookieName]; ok {
		t.Fatal("the browser kept the session cookie after logout")
	}
	wantStatus(t, b.send("me.json", nil), http.StatusUnauthorized)
}

func TestBase64FormLogin(t *testing.T) {
	a, _, _ := newTestApp(t)
	b := newBrowser(t, a)
	resp := b.send("login_form.json", nil)
	wantUser(t, resp, "Zoë")
	wantCacheSafe(t, resp)
	wantUser(t, b.send("me.json", nil), "Zoë")
}

func TestCookieHeaderFallback(t *testing.T) {
	a, _, _ := newTestApp(t)
	b := newBrowser(t, a)
	b.send("login.json", nil)
	req := fixture(t, "me.json")
	req.Cookies = nil
	req.Headers["cookie"] = "theme=dark; " + cookieName + "=" + b.cookies[cookieName]
	wantUser(t, invoke(t, a, req), "ann")
}

func TestBadCookieGivesFreshSession(t *testing.T) {
	tamper := func(v string) string {
		i := len(v) / 2
		r := byte('A')
		if v[i] == 'A' {
			r = 'B'
		}
		return v[:i] + string(r) + v[i+1:]
	}
	for _, tc := range []struct {
		name string
		edit func(string) string
	}{
		{"tampered", tamper},
		{"truncated", func(v string) string { return v[:len(v)-4] }},
		{"garbage", func(string) string { return "not-a-session" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _, logs := newTestApp(t)
			b := newBrowser(t, a)
			b.send("login.json", nil)
			bad := tc.edit(b.cookies[cookieName])
			b.cookies[cookieName] = bad

			resp := b.send("me.json", nil)
			wantStatus(t, resp, http.StatusUnauthorized)
			if c := sessionCookie(t, resp); c.MaxAge >= 0 {
				t.Errorf("the bad cookie was not deleted: %q", redact(resp.Cookies[0]))
			}
			wantCacheSafe(t, resp)
			if !strings.Contains(logs.String(), "rejected") {
				t.Errorf("the rejection was not logged:\n%s", logs)
			}
			if strings.Contains(logs.String(), bad) {
				t.Error("the log contains the cookie value")
			}
		})
	}
}

func TestIdleTimeoutAndRenewal(t *testing.T) {
	a, clk, _ := newTestApp(t)
	b := newBrowser(t, a)
	b.send("login.json", nil)

	clk.advance(5 * time.Minute)
	resp := b.send("me.json", nil)
	wantUser(t, resp, "ann")
	wantNoCookie(t, resp) // saved 5 minutes ago: not due for renewal

	clk.advance(6 * time.Minute) // 09:11, 11 minutes after the save
	resp = b.send("me.json", nil)
	wantUser(t, resp, "ann")
	sessionCookie(t, resp) // re-sealed: the idle window restarts
	wantCacheSafe(t, resp)

	clk.advance(29 * time.Minute) // 09:40: dead without the renewal
	wantUser(t, b.send("me.json", nil), "ann")

	clk.advance(31 * time.Minute) // 31 idle minutes
	wantStatus(t, b.send("me.json", nil), http.StatusUnauthorized)
}

// TestServerErrorSavesNothing shows that the handler passes the real status
// to Commit: a session due for renewal is not re-sealed by a 500.
func TestServerErrorSavesNothing(t *testing.T) {
	a, clk, _ := newTestApp(t)
	// A session whose "user" is not a string, as an older release of the
	// function might have stored it: /me cannot decode it and fails.
	s := a.sessions.Load(context.Background())
	if err := s.Set("user", 42); err != nil {
		t.Fatal(err)
	}
	fields := http.Header{}
	err := a.sessions.Commit(s, http.StatusOK, fields)
	if err != nil {
		t.Fatal(err)
	}
	c, err := http.ParseSetCookie(fields.Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, a)
	b.cookies[c.Name] = c.Value

	clk.advance(11 * time.Minute) // due for renewal
	resp := b.send("me.json", nil)
	wantStatus(t, resp, http.StatusInternalServerError)
	wantNoCookie(t, resp)
}

func TestRejectedRequestsSetNoCookie(t *testing.T) {
	a, _, _ := newTestApp(t)
	for _, tc := range []struct {
		name    string
		fixture string
		edit    func(*events.APIGatewayV2HTTPRequest)
		status  int
	}{
		{"unknown path", "me.json", func(r *events.APIGatewayV2HTTPRequest) { r.RawPath = "/admin" }, http.StatusNotFound},
		{"wrong method", "login.json", func(r *events.APIGatewayV2HTTPRequest) { r.RequestContext.HTTP.Method = "GET" }, http.StatusMethodNotAllowed},
		{"cross-site login", "login.json", func(r *events.APIGatewayV2HTTPRequest) { r.Headers["sec-fetch-site"] = "cross-site" }, http.StatusForbidden},
		{"foreign origin", "login.json", func(r *events.APIGatewayV2HTTPRequest) {
			delete(r.Headers, "sec-fetch-site")
			r.Headers["origin"] = "https://evil.example"
		}, http.StatusForbidden},
		{"no name", "login.json", func(r *events.APIGatewayV2HTTPRequest) { r.Body = `{"name":"  "}` }, http.StatusBadRequest},
		{"long name", "login.json", func(r *events.APIGatewayV2HTTPRequest) {
			r.Body = fmt.Sprintf(`{"name":%q}`, strings.Repeat("n", 65))
		}, http.StatusBadRequest},
		{"bad JSON", "login.json", func(r *events.APIGatewayV2HTTPRequest) { r.Body = `{"name":` }, http.StatusBadRequest},
		{"bad base64", "login_form.json", func(r *events.APIGatewayV2HTTPRequest) { r.Body = "bmFtZT1!!" }, http.StatusBadRequest},
		{"huge body", "login_form.json", func(r *events.APIGatewayV2HTTPRequest) {
			r.Body = base64.StdEncoding.EncodeToString([]byte("name=ann&pad=" + strings.Repeat("x", maxBody)))
		}, http.StatusRequestEntityTooLarge},
		{"plain text", "login.json", func(r *events.APIGatewayV2HTTPRequest) { r.Headers["content-type"] = "text/plain" }, http.StatusUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := fixture(t, tc.fixture)
			tc.edit(&req)
			resp := invoke(t, a, req)
			wantStatus(t, resp, tc.status)
			wantNoCookie(t, resp)
			if tc.status == http.StatusMethodNotAllowed && resp.Headers["Allow"] != "POST" {
				t.Errorf("Allow = %q, want POST", resp.Headers["Allow"])
			}
		})
	}
}

// TestLambdaInvoke runs events through aws-lambda-go's own invocation path
// (JSON in, reflection, JSON out), as the Lambda runtime does, so the event
// and response shapes are proven to round-trip through the library.
func TestLambdaInvoke(t *testing.T) {
	a, _, _ := newTestApp(t)
	h := lambda.NewHandler(a.handle)
	ctx := context.Background()

	type response struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Cookies    []string          `json:"cookies"`
		Body       string            `json:"body"`
	}
	call := func(payload []byte) response {
		t.Helper()
		out, err := h.Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		var r response
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("response %s: %v", out, err)
		}
		return r
	}

	login := call(fixtureBytes(t, "login.json"))
	if login.StatusCode != http.StatusOK || len(login.Cookies) != 1 || login.Headers["Vary"] != "Cookie" {
		t.Fatalf("login response: status %d, %d cookies, headers %v", login.StatusCode, len(login.Cookies), login.Headers)
	}
	name, value, _ := strings.Cut(strings.SplitN(login.Cookies[0], ";", 2)[0], "=")
	if name != cookieName || value == "" {
		t.Fatalf("login cookie %q", redact(login.Cookies[0]))
	}

	// Edit the raw event, not the Go struct, so the cookies field's JSON
	// name is tested too.
	var event map[string]any
	if err := json.Unmarshal(fixtureBytes(t, "function_url_me.json"), &event); err != nil {
		t.Fatal(err)
	}
	event["cookies"] = []string{"theme=dark", name + "=" + value}
	payload, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	me := call(payload)
	if me.StatusCode != http.StatusOK || me.Body != `{"user":"ann"}` {
		t.Fatalf("me response: status %d, body %s", me.StatusCode, me.Body)
	}
}

// TestConcurrentSessions runs many users through one app at once: sessions
// stay apart, and (under -race) the shared Manager is race-free.
func TestConcurrentSessions(t *testing.T) {
	a, _, _ := newTestApp(t)
	for i := range 16 {
		name := fmt.Sprintf("user%d", i)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := newBrowser(t, a)
			wantUser(t, b.send("login.json", func(r *events.APIGatewayV2HTTPRequest) {
				r.Body = fmt.Sprintf(`{"name":%q}`, name)
			}), name)
			wantUser(t, b.send("me.json", nil), name)
		})
	}
}

func TestLoadKeys(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	t.Setenv("CRUMB_KEYS", "")
	if _, err := loadKeys(logger); err != nil {
		t.Fatalf("no CRUMB_KEYS: %v", err)
	}
	if !strings.Contains(logs.String(), "throwaway key") || !strings.Contains(logs.String(), "execution environment") {
		t.Errorf("throwaway key not announced with its Lambda consequence: %s", logs.String())
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
