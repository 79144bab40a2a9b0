package cookiesession_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// Helpers for security_test.go, middleware_test.go and expiry_test.go. Every
// identifier starts with "sec" so that it cannot clash with the helpers of
// the parity tests in the same package.
//
// Tests that compare aead.Opens before and after an operation never call
// t.Parallel: the counter is process-wide, and a parallel test opening
// cookies at the same time would be counted too.

// secEpoch is the injected clock's starting point: a whole second, so that
// deadlines are easy to state.
var secEpoch = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

// secEnv is a Manager with a fresh key, an injected clock and an OnError
// recorder.
type secEnv struct {
	t     testing.TB
	key   *crypto.Key
	ring  *rotation.Keyring
	clock *fakeClock
	errs  *errorLog
	cfg   cookiesession.Config
	m     *cookiesession.Manager
}

// newSecEnv builds a secEnv; mod, if not nil, adjusts the Config after the
// keys, clock and OnError are filled in.
func newSecEnv(t testing.TB, mod func(*cookiesession.Config)) *secEnv {
	t.Helper()
	e := &secEnv{t: t, key: newKey(t), clock: &fakeClock{now: secEpoch}, errs: new(errorLog)}
	e.ring = newRing(t, e.key)
	e.cfg = cookiesession.Config{Keys: e.ring, Clock: e.clock.Now, OnError: e.errs.record}
	if mod != nil {
		mod(&e.cfg)
	}
	m, err := cookiesession.New(e.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.m = m
	return e
}

// with returns a Manager sharing e's clock and error recorder, with cfg
// adjusted by mod.
func (e *secEnv) with(mod func(*cookiesession.Config)) *cookiesession.Manager {
	e.t.Helper()
	cfg := e.cfg
	mod(&cfg)
	m, err := cookiesession.New(cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	return m
}

// header returns the Cookie header value carrying value under m's name.
func secHeader(m *cookiesession.Manager, value string) string {
	return m.Name() + "=" + value
}

// load returns the session for a request carrying the given cookie values
// (none: no cookie).
func (e *secEnv) load(values ...string) *cookiesession.Session {
	return secLoad(e.m, values...)
}

func secLoad(m *cookiesession.Manager, values ...string) *cookiesession.Session {
	if len(values) == 0 {
		return m.Load(context.Background())
	}
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = secHeader(m, v)
	}
	return m.Load(context.Background(), strings.Join(parts, "; "))
}

// secCommit commits s with status and checks every Set-Cookie: it must parse
// with http.ParseSetCookie, be Valid, and carry m's name; and a response
// that sets or clears the cookie must vary on Cookie and be no-store.
func secCommit(t testing.TB, m *cookiesession.Manager, s *cookiesession.Session, status int) (http.Header, []*http.Cookie, error) {
	t.Helper()
	h, err := m.Commit(s, status)
	cookies := secCheckSetCookies(t, m, h)
	return h, cookies, err
}

func secCheckSetCookies(t testing.TB, m *cookiesession.Manager, h http.Header) []*http.Cookie {
	t.Helper()
	var cookies []*http.Cookie
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("ParseSetCookie(%q): %v", line, err)
		}
		if err := c.Valid(); err != nil {
			t.Fatalf("emitted cookie %q is not Valid: %v", line, err)
		}
		if c.Name != m.Name() {
			t.Fatalf("emitted cookie name %q, want %q", c.Name, m.Name())
		}
		cookies = append(cookies, c)
	}
	if len(cookies) > 0 {
		if got := h.Values("Vary"); len(got) != 1 || got[0] != "Cookie" {
			t.Fatalf("Vary = %q with Set-Cookie, want [Cookie]", got)
		}
		if got := h.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
			t.Fatalf("Cache-Control = %q with Set-Cookie, want [no-store]", got)
		}
	}
	return cookies
}

// commit is secCommit for a 200 response that must succeed; it returns the
// single emitted cookie, or nil.
func (e *secEnv) commit(s *cookiesession.Session) *http.Cookie {
	e.t.Helper()
	return secCommitOne(e.t, e.m, s)
}

func secCommitOne(t testing.TB, m *cookiesession.Manager, s *cookiesession.Session) *http.Cookie {
	t.Helper()
	_, cookies, err := secCommit(t, m, s, http.StatusOK)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	switch len(cookies) {
	case 0:
		return nil
	case 1:
		return cookies[0]
	}
	t.Fatalf("Commit sent %d cookies, want at most 1", len(cookies))
	return nil
}

// save runs f on a new session (no incoming cookie) and returns the value
// of the cookie the response sets.
func (e *secEnv) save(f func(s *cookiesession.Session)) string {
	e.t.Helper()
	return secSave(e.t, e.m, f)
}

func secSave(t testing.TB, m *cookiesession.Manager, f func(s *cookiesession.Session)) string {
	t.Helper()
	s := secLoad(m)
	f(s)
	c := secCommitOne(t, m, s)
	if c == nil || c.Value == "" {
		t.Fatalf("Commit after a change sent no session cookie")
	}
	return c.Value
}

// secSet is a save callback that stores key = value.
func secSet(t testing.TB, key string, value any) func(*cookiesession.Session) {
	return func(s *cookiesession.Session) {
		t.Helper()
		if err := s.Set(key, value); err != nil {
			t.Fatalf("Set(%q): %v", key, err)
		}
	}
}

// secGet returns the int stored under key, and whether it was there.
func secGet(t testing.TB, s *cookiesession.Session, key string) (int, bool) {
	t.Helper()
	v, ok, err := cookiesession.Get[int](s, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v, ok
}

// secContext is the additional data crumb seals session cookies of m under.
func secContext(m *cookiesession.Manager, purpose string) []byte {
	return crypto.Context("crumb/v1/cookiesession", m.Name(), purpose)
}

// secSeal seals an arbitrary payload as m would, with ring's primary key:
// the way to test what the payload decoder does with hostile plaintext.
func secSeal(t testing.TB, m *cookiesession.Manager, ring *rotation.Keyring, purpose string, payload []byte) string {
	t.Helper()
	sealed, err := ring.Seal(nil, payload, secContext(m, purpose))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return crypto.Encode(sealed)
}
