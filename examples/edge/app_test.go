package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

func testManager(t *testing.T) (*cookiesession.Manager, string) {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	text := "primary " + k.SecretText()
	keys, warning, err := loadKeys(text)
	if err != nil || warning != "" {
		t.Fatalf("loadKeys(a key list) = warning %q, error %v", warning, err)
	}
	m, err := newManager(keys)
	if err != nil {
		t.Fatal(err)
	}
	return m, text
}

// sessionCookie returns the Cookie header pair set by h, failing unless h
// sets exactly one session cookie with crumb's defaults.
func sessionCookie(t *testing.T, h http.Header) string {
	t.Helper()
	lines := h.Values("Set-Cookie")
	if len(lines) != 1 {
		t.Fatalf("Set-Cookie = %q, want one line", lines)
	}
	c, err := http.ParseSetCookie(lines[0])
	if err != nil {
		t.Fatalf("ParseSetCookie(%q): %v", lines[0], err)
	}
	if c.Name != "__Host-sessionid" || c.Value == "" || !c.Secure || !c.HttpOnly ||
		c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.MaxAge <= 0 {
		t.Errorf("session cookie %q lacks crumb's defaults", lines[0])
	}
	checkCacheHeaders(t, h)
	return c.Name + "=" + c.Value
}

func checkCacheHeaders(t *testing.T, h http.Header) {
	t.Helper()
	if h.Get("Vary") != "Cookie" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("Vary %q, Cache-Control %q; want Cookie, no-store", h.Get("Vary"), h.Get("Cache-Control"))
	}
}

func wantResponse(t *testing.T, what string, status int, body string, wantStatus int, wantBody string) {
	t.Helper()
	if status != wantStatus || body != wantBody+"\n" {
		t.Fatalf("%s = %d %q, want %d %q", what, status, body, wantStatus, wantBody+"\n")
	}
}

func TestCountAndLogout(t *testing.T) {
	m, _ := testManager(t)

	status, h, body := handle(m, "GET", "/count", cookieList(""), "")
	wantResponse(t, "first GET /count", status, body, 200, `{"count":1}`)
	first := sessionCookie(t, h)

	status, h, body = handle(m, "GET", "/count", cookieList("theme=dark; "+first), "")
	wantResponse(t, "second GET /count", status, body, 200, `{"count":2}`)
	second := sessionCookie(t, h)

	status, h, body = handle(m, "POST", "/logout", cookieList(second), "")
	wantResponse(t, "POST /logout", status, body, 200, `{"loggedOut":true}`)
	del, err := http.ParseSetCookie(h.Get("Set-Cookie"))
	if err != nil || len(h.Values("Set-Cookie")) != 1 {
		t.Fatalf("logout Set-Cookie = %q (%v), want one deletion", h.Values("Set-Cookie"), err)
	}
	if del.Name != "__Host-sessionid" || del.Value != "" || del.MaxAge >= 0 || !del.Secure || !del.HttpOnly || del.Path != "/" {
		t.Errorf("logout Set-Cookie %q does not delete the session cookie", h.Get("Set-Cookie"))
	}
	checkCacheHeaders(t, h)
}

// A session cookie altered in any one character gives a fresh session:
// count 1, a new cookie, and never an error status.
func TestTamperedCookieStartsAfresh(t *testing.T) {
	m, _ := testManager(t)
	_, h, _ := handle(m, "GET", "/count", cookieList(""), "")
	_, h, _ = handle(m, "GET", "/count", cookieList(sessionCookie(t, h)), "")
	name, value, _ := strings.Cut(sessionCookie(t, h), "=")
	for i := range len(value) {
		b := []byte(value)
		b[i] = 'A' // another base64url character
		if value[i] == 'A' {
			b[i] = 'B'
		}
		status, h, body := handle(m, "GET", "/count", cookieList(name+"="+string(b)), "")
		wantResponse(t, fmt.Sprintf("GET /count with a cookie changed at %d", i), status, body, 200, `{"count":1}`)
		sessionCookie(t, h)
	}
	for _, junk := range []string{name + "=", name + "=garbage", name + "=" + value + "A", "other=" + value, name} {
		status, _, body := handle(m, "GET", "/count", cookieList(junk), "")
		wantResponse(t, "GET /count with a bad cookie", status, body, 200, `{"count":1}`)
	}
}

// A cookie sealed under one key list does not open under another.
func TestOtherKeysStartAfresh(t *testing.T) {
	m1, _ := testManager(t)
	m2, _ := testManager(t)
	_, h, _ := handle(m1, "GET", "/count", cookieList(""), "")
	status, _, body := handle(m2, "GET", "/count", cookieList(sessionCookie(t, h)), "")
	wantResponse(t, "GET /count with another instance's cookie", status, body, 200, `{"count":1}`)
}

// Responses that touch no session set no cookie.
func TestNoCookieWithoutSession(t *testing.T) {
	m, _ := testManager(t)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"POST", "/logout", 200, ""},
		{"GET", "/nowhere", 404, ""},
		{"POST", "/count", 405, "GET"},
		{"HEAD", "/count", 405, "GET"},
		{"GET", "/logout", 405, "POST"},
	} {
		status, h, _ := handle(m, tc.method, tc.path, cookieList(""), "")
		if status != tc.status || h.Get("Allow") != tc.allow || h.Get("Set-Cookie") != "" {
			t.Errorf("%s %s = %d, Allow %q, Set-Cookie %q; want %d, Allow %q, no cookie",
				tc.method, tc.path, status, h.Get("Allow"), h.Get("Set-Cookie"), tc.status, tc.allow)
		}
	}
}

// A cookie sealed by another program with the same keys opens here, and
// the other way round: the handler speaks crumb's one wire format.
func TestSharedKeys(t *testing.T) {
	m, text := testManager(t)
	keys, err := rotation.ParseKeys("test", text)
	if err != nil {
		t.Fatal(err)
	}
	other, err := cookiesession.New(cookiesession.Config{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	s := other.Load(context.Background())
	if err := s.Set("count", 41); err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	if err := other.Commit(s, 200, h); err != nil {
		t.Fatal(err)
	}
	status, h, body := handle(m, "GET", "/count", cookieList(sessionCookie(t, h)), "")
	wantResponse(t, "GET /count with a seeded cookie", status, body, 200, `{"count":42}`)
	n, ok, err := cookiesession.Get[int](other.Load(context.Background(), sessionCookie(t, h)), "count")
	if n != 42 || !ok || err != nil {
		t.Errorf("count in the handler's cookie = %d, %v, %v; want 42", n, ok, err)
	}
}

func TestLoadKeys(t *testing.T) {
	for _, blank := range []string{"", " \n\t"} {
		keys, warning, err := loadKeys(blank)
		if err != nil || !strings.Contains(warning, "throwaway key") || keys == nil {
			t.Errorf("loadKeys(%q) = %v, warning %q, %v; want a throwaway key, and a warning", blank, keys, warning, err)
		}
	}
	k, _ := crypto.GenerateKey()
	secret := k.SecretText()
	for _, bad := range []string{"primary", "primary " + secret[:len(secret)-1], "decrypt-only " + secret, secret} {
		_, _, err := loadKeys(bad)
		if err == nil {
			t.Errorf("loadKeys accepted a bad key list")
		} else if strings.Contains(err.Error(), secret[len(secret)-20:]) {
			t.Errorf("loadKeys error quotes the secret")
		}
	}
}

func TestReadCookieLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"\n", ""},
		{"Cookie: a=b; c=d\r\n", "a=b; c=d"},
		{"cookie:a=b", "a=b"},
		{"a=b; c=d\nignored: line\n", "a=b; c=d"},
		{"x=1:2", "x=1:2"}, // a value with a colon is not a header name
	} {
		got, err := readCookieLine(strings.NewReader(tc.in))
		if got != tc.want || err != nil {
			t.Errorf("readCookieLine(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := readCookieLine(strings.NewReader(strings.Repeat("a", maxCookieLine+1))); err == nil {
		t.Error("readCookieLine accepted an over-long line")
	}
	boom := errors.New("boom")
	if _, err := readCookieLine(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("readCookieLine(failing reader) = %v, want %v", err, boom)
	}
}

func TestWriteResponse(t *testing.T) {
	var b bytes.Buffer
	h := http.Header{"Set-Cookie": {"a=1", "b=2"}, "Vary": {"Cookie"}}
	if err := writeResponse(&b, 200, h, "{}\n"); err != nil {
		t.Fatal(err)
	}
	want := "Status: 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nVary: Cookie\r\n\r\n{}\n"
	if b.String() != want {
		t.Errorf("writeResponse wrote %q, want %q", b.String(), want)
	}
	if err := writeResponse(failingWriter{}, 200, h, ""); err == nil {
		t.Error("writeResponse to a failing writer returned nil")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }

// cookieList is a request's Cookie fields: none for "".
func cookieList(header string) []string {
	if header == "" {
		return nil
	}
	return []string{header}
}
