package cookiesession_test

// The helpers every test file of this package shares: one harness (a
// Manager with its keys, clock and log), one epoch (t0), and builders of
// hand-made CBOR.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/internal/testhook"
	"github.com/crumbhq/crumb/rotation"
	"github.com/fxamacker/cbor/v2"
)

// t0 is where every test clock starts: a whole second, so that times the
// tests compute are easy to state.
var t0 = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

// sca is Django's SESSION_COOKIE_AGE default, crumb's default Lifetime.
const sca = 1209600 * time.Second

// fakeClock is an injected clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// errorLog is a slog.Handler that collects the "error" attribute of every
// record: each rejected cookie (logged at Debug) and each failure.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *errorLog) WithGroup(string) slog.Handler            { return l }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "error" {
			l.mu.Lock()
			l.errs = append(l.errs, err)
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

// take returns the errors recorded so far and forgets them.
func (l *errorLog) take() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	errs := l.errs
	l.errs = nil
	return errs
}

// logRecorder is a slog.Handler that keeps whole records.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r)
	return nil
}

// take returns the records kept so far and forgets them.
func (h *logRecorder) take() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	recs := h.recs
	h.recs = nil
	return recs
}

// atLeast returns the records of recs at level or above.
func atLeast(recs []slog.Record, level slog.Level) []slog.Record {
	var out []slog.Record
	for _, r := range recs {
		if r.Level >= level {
			out = append(out, r)
		}
	}
	return out
}

// harness is a Manager with its keys, clock, error log and settings.
type harness struct {
	t     testing.TB
	m     *cookiesession.Manager
	cfg   cookiesession.Config // as passed to New, with Keys, Clock and Logger filled in
	key   *crypto.Key          // the primary key, when the harness made the keys
	ring  *rotation.Keyring    // and its ring
	clock *fakeClock
	errs  *errorLog
}

// newKey returns a fresh random key.
func newKey(t testing.TB) *crypto.Key {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey() error = %v", err)
	}
	return k
}

// newRing returns a keyring with primary and the decrypt-only keys.
func newRing(t testing.TB, primary *crypto.Key, decryptOnly ...*crypto.Key) *rotation.Keyring {
	t.Helper()
	r, err := rotation.NewKeyring(primary, decryptOnly...)
	if err != nil {
		t.Fatalf("rotation.NewKeyring() error = %v", err)
	}
	return r
}

// newManager builds a Manager from cfg. Unless cfg says otherwise, it gets
// a keyring with one fresh key and a fake clock at t0; unless it has a
// Logger, the harness records every error logged into h.errs.
func newManager(t testing.TB, cfg cookiesession.Config) *harness {
	t.Helper()
	h := &harness{t: t, errs: &errorLog{}}
	if cfg.Keys == nil {
		h.key = newKey(t)
		h.ring = newRing(t, h.key)
		cfg.Keys = h.ring
	}
	if cfg.Clock == nil {
		h.clock = newFakeClock()
		cfg.Clock = h.clock.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(h.errs)
	}
	m, err := cookiesession.New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	h.m, h.cfg = m, cfg
	return h
}

// newHarness is newManager for a Config that mod adjusts.
func newHarness(t testing.TB, mod func(*cookiesession.Config)) *harness {
	t.Helper()
	var cfg cookiesession.Config
	if mod != nil {
		mod(&cfg)
	}
	return newManager(t, cfg)
}

// with returns a Manager sharing h's keys, clock and error log, with the
// Config adjusted by mod.
func (h *harness) with(mod func(*cookiesession.Config)) *cookiesession.Manager {
	h.t.Helper()
	cfg := h.cfg
	mod(&cfg)
	m, err := cookiesession.New(cfg)
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	return m
}

// now returns the harness's current time.
func (h *harness) now() time.Time { return h.cfg.Clock() }

// header returns a Cookie header carrying value under the session's name.
func (h *harness) header(value string) string { return h.m.Name() + "=" + value }

// load returns the session of a request carrying the given cookie values
// (none: no session cookie), through the header-level API.
func (h *harness) load(values ...string) *cookiesession.Session {
	headers := make([]string, len(values))
	for i, v := range values {
		headers[i] = h.header(v)
	}
	return h.m.Load(context.Background(), headers...)
}

// commit commits s for status and fails the test on an error; it checks
// every Set-Cookie as commitChecked does.
func (h *harness) commit(s *cookiesession.Session, status int) http.Header {
	h.t.Helper()
	hdr, _, err := commitChecked(h.t, h.m, s, status)
	if err != nil {
		h.t.Fatalf("Commit(%d) error = %v", status, err)
	}
	return hdr
}

// save commits s for a 200 and returns the value of the session cookie it
// must have set.
func (h *harness) save(s *cookiesession.Session) string {
	h.t.Helper()
	c := onlyCookie(h.t, h.commit(s, http.StatusOK))
	if c.Value == "" || c.MaxAge < 0 {
		h.t.Fatalf("Commit set %q, want a session cookie, not a deletion", c.String())
	}
	return c.Value
}

// seed returns the cookie of a new session holding data.
func (h *harness) seed(data map[string]any) string {
	h.t.Helper()
	s := h.load()
	for k, v := range data {
		if err := s.Set(k, v); err != nil {
			h.t.Fatalf("Set(%q, %v) error = %v", k, v, err)
		}
	}
	return h.save(s)
}

// reload returns a session holding data, loaded from its cookie and not yet
// touched: accessed and modified are false ("reset flags").
func (h *harness) reload(data map[string]any) *cookiesession.Session {
	h.t.Helper()
	s := h.load(h.seed(data))
	if s.Accessed() || s.Modified() {
		h.t.Fatalf("reloaded session: accessed %v, modified %v, want false, false", s.Accessed(), s.Modified())
	}
	return s
}

// adOf returns the additional data crumb binds the session cookies of m
// to.
func adOf(m *cookiesession.Manager) []byte {
	return format.AdditionalData("crumb/v1/cookiesession", m.Name())
}

// sealRaw seals pt as a session cookie would be, under the current primary
// key, whatever pt holds.
func (h *harness) sealRaw(pt []byte) string {
	h.t.Helper()
	return sealAD(h.t, h.cfg.Keys.At(h.now()), adOf(h.m), pt)
}

// sealAD seals pt with ring under additional data ad and returns its text.
func sealAD(t testing.TB, ring *rotation.Keyring, ad, pt []byte) string {
	t.Helper()
	sealed, err := ring.Seal(nil, pt, ad)
	if err != nil {
		t.Fatalf("Seal() error = %v", err)
	}
	return format.Encode(sealed)
}

// sealPayload seals an arbitrary payload as m would, with ring's primary
// key: the way to test what the payload decoder does with hostile
// plaintext.
func sealPayload(t testing.TB, m *cookiesession.Manager, ring *rotation.Keyring, payload []byte) string {
	t.Helper()
	return sealAD(t, ring, adOf(m), payload)
}

// foreignCookie seals a cookie under h's key for another cookie: it has
// the right key ID, so opening it costs one AEAD open, which fails.
func foreignCookie(t testing.TB, h *harness) string {
	t.Helper()
	return sealAD(t, h.ring, format.AdditionalData("crumb/v1/cookiesession", "another-cookie"), []byte{0xa0})
}

// serve runs one GET request for "/" through Handler(view), carrying the
// given session cookie values, and returns the response.
func (h *harness) serve(view http.HandlerFunc, values ...string) *http.Response {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	for _, v := range values {
		req.Header.Add("Cookie", h.header(v))
	}
	return h.do(req, view)
}

// do runs req through Handler(view).
func (h *harness) do(req *http.Request, view http.HandlerFunc) *http.Response {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.m.Handler(view).ServeHTTP(rec, req)
	return rec.Result()
}

// client starts a test server running Handler(view) and returns a client
// with a cookie jar for it, and the server's URL. Go's jar, like browsers,
// treats http://127.0.0.1 as secure, so the default __Host- cookie works.
func (h *harness) client(view http.HandlerFunc) (*http.Client, string) {
	h.t.Helper()
	srv := httptest.NewServer(h.m.Handler(view))
	h.t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatalf("cookiejar.New() error = %v", err)
	}
	// Its own transport: a parallel test closing its server closes the
	// idle connections of http.DefaultTransport.
	return &http.Client{Jar: jar, Transport: srv.Client().Transport}, srv.URL
}

// get sends a GET to url with c and returns the response, body read.
func get(t testing.TB, c *http.Client, url string) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// getBody sends a GET to url with c and returns the response and its body.
func getBody(t testing.TB, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp, string(b)
}

// setCookies parses every Set-Cookie field of hdr.
func setCookies(t testing.TB, hdr http.Header) []*http.Cookie {
	t.Helper()
	var cs []*http.Cookie
	for _, line := range hdr.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("ParseSetCookie(%q) error = %v", line, err)
		}
		cs = append(cs, c)
	}
	return cs
}

// onlyCookie returns the one Set-Cookie of hdr, parsed.
func onlyCookie(t testing.TB, hdr http.Header) *http.Cookie {
	t.Helper()
	cs := setCookies(t, hdr)
	if len(cs) != 1 {
		t.Fatalf("got %d Set-Cookie fields %q, want 1", len(cs), hdr.Values("Set-Cookie"))
	}
	return cs[0]
}

// noCookie fails the test if hdr sets any cookie.
func noCookie(t testing.TB, hdr http.Header) {
	t.Helper()
	if got := hdr.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("got Set-Cookie %q, want none", got)
	}
}

// hasToken reports whether the comma-separated field key of hdr holds
// token, case-insensitively.
func hasToken(hdr http.Header, key, token string) bool {
	for _, v := range hdr.Values(key) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// wantVary checks whether hdr varies on Cookie.
func wantVary(t testing.TB, hdr http.Header, want bool) {
	t.Helper()
	if got := hasToken(hdr, "Vary", "Cookie"); got != want {
		t.Errorf("Vary: Cookie present = %v (Vary %q), want %v", got, hdr.Values("Vary"), want)
	}
}

// wantDeletion checks that c deletes the session cookie of h: empty value,
// Max-Age=0 (parsed as -1), Expires at the epoch, and the configured
// attributes.
func (h *harness) wantDeletion(c *http.Cookie) {
	h.t.Helper()
	if c.Name != h.m.Name() {
		h.t.Errorf("deletion cookie name = %q, want %q", c.Name, h.m.Name())
	}
	if c.Value != "" {
		h.t.Errorf("deletion cookie value = %q, want empty", c.Value)
	}
	if c.MaxAge != -1 {
		h.t.Errorf("deletion cookie MaxAge = %d, want -1 (Max-Age=0)", c.MaxAge)
	}
	if !c.Expires.Equal(time.Unix(0, 0)) {
		h.t.Errorf("deletion cookie Expires = %v, want %v", c.Expires, time.Unix(0, 0).UTC())
	}
	h.wantAttributes(c)
}

// wantAttributes checks the configured Path, Domain, Secure, HttpOnly and
// SameSite of c.
func (h *harness) wantAttributes(c *http.Cookie) {
	h.t.Helper()
	wantPath := h.cfg.Path
	if wantPath == "" {
		wantPath = "/"
	}
	if c.Path != wantPath {
		h.t.Errorf("cookie Path = %q, want %q", c.Path, wantPath)
	}
	if got, want := strings.TrimPrefix(c.Domain, "."), strings.TrimPrefix(h.cfg.Domain, "."); got != want {
		h.t.Errorf("cookie Domain = %q, want %q", got, want)
	}
	if c.Secure != !h.cfg.InsecureHTTP {
		h.t.Errorf("cookie Secure = %v, want %v", c.Secure, !h.cfg.InsecureHTTP)
	}
	if c.HttpOnly != !h.cfg.InsecureScriptAccess {
		h.t.Errorf("cookie HttpOnly = %v, want %v", c.HttpOnly, !h.cfg.InsecureScriptAccess)
	}
	wantSS := h.cfg.SameSite
	if wantSS == 0 {
		wantSS = http.SameSiteLaxMode
	}
	if c.SameSite != wantSS {
		h.t.Errorf("cookie SameSite = %v, want %v", c.SameSite, wantSS)
	}
}

// wantErrors checks that exactly the given errors were logged, in order,
// each matching its target with errors.Is; it forgets them.
func (h *harness) wantErrors(targets ...error) {
	h.t.Helper()
	got := h.errs.take()
	if len(got) != len(targets) {
		h.t.Errorf("logged %d errors %v, want %d matching %v", len(got), got, len(targets), targets)
		return
	}
	for i, err := range got {
		if !errors.Is(err, targets[i]) {
			h.t.Errorf("logged error %d = %v, want one matching %v", i, err, targets[i])
		}
	}
}

// wantEmpty checks that s is a fresh empty session: no data, no ID.
func wantEmpty(t testing.TB, s *cookiesession.Session) {
	t.Helper()
	if n := s.Len(); n != 0 {
		t.Errorf("Len() = %d, want 0 (keys %q)", n, s.Keys())
	}
	if id := s.ID(); id != "" {
		t.Errorf("ID() = %q, want empty", id)
	}
}

// wantString checks that s holds want under key.
func wantString(t testing.TB, s *cookiesession.Session, key, want string) {
	t.Helper()
	got, ok, err := cookiesession.Get[string](s, key)
	if err != nil || !ok || got != want {
		t.Errorf("Get(%q) = %q, %v, %v, want %q, true, nil", key, got, ok, err, want)
	}
}

// wantMissing checks that s has no key.
func wantMissing(t testing.TB, s *cookiesession.Session, key string) {
	t.Helper()
	got, ok, err := cookiesession.Get[any](s, key)
	if err != nil || ok || got != nil {
		t.Errorf("Get(%q) = %v, %v, %v, want nil, false, nil", key, got, ok, err)
	}
}

// flags checks the accessed and modified flags of s.
func flags(t testing.TB, s *cookiesession.Session, accessed, modified bool) {
	t.Helper()
	if got := s.Accessed(); got != accessed {
		t.Errorf("Accessed() = %v, want %v", got, accessed)
	}
	if got := s.Modified(); got != modified {
		t.Errorf("Modified() = %v, want %v", got, modified)
	}
}

// tamper returns value with one bit of its sealed form flipped: a cookie
// that is still plausible but does not authenticate.
func tamper(t testing.TB, value string) string {
	t.Helper()
	v, ok := format.Parse(value)
	if !ok {
		t.Fatalf("format.Parse(%q) failed", value)
	}
	v.Sealed[len(v.Sealed)-1] ^= 1
	return format.Encode(v.Sealed)
}

// attribute returns the value of the attribute name (case-insensitive) of a
// Set-Cookie line, and whether it is present.
func attribute(line, name string) (string, bool) {
	parts := strings.Split(line, ";")
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// callbackHandler is a slog.Handler that calls f for every record and
// counts them, to see what a Logger does while crumb logs.
type callbackHandler struct {
	f  func()
	mu sync.Mutex
	n  int
}

func (h *callbackHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *callbackHandler) Handle(context.Context, slog.Record) error {
	h.f()
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	return nil
}
func (h *callbackHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *callbackHandler) WithGroup(string) slog.Handler      { return h }

func (h *callbackHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func slogWith(h slog.Handler) *slog.Logger { return slog.New(h) }

// cookieHeader returns the Cookie header value carrying value under m's
// name.
func cookieHeader(m *cookiesession.Manager, value string) string {
	return m.Name() + "=" + value
}

// loadWith returns m's session for a request carrying the given cookie
// values in one Cookie header (none: no cookie).
func loadWith(m *cookiesession.Manager, values ...string) *cookiesession.Session {
	if len(values) == 0 {
		return m.Load(context.Background())
	}
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = cookieHeader(m, v)
	}
	return m.Load(context.Background(), strings.Join(parts, "; "))
}

// commitChecked commits s with status into a fresh header and checks every
// Set-Cookie: it must parse with http.ParseSetCookie, be Valid, and carry
// m's name; and a response that sets or clears the cookie must vary on
// Cookie and be no-store.
func commitChecked(t testing.TB, m *cookiesession.Manager, s *cookiesession.Session, status int) (http.Header, []*http.Cookie, error) {
	t.Helper()
	h := http.Header{}
	err := m.Commit(s, status, h)
	cookies := checkSetCookies(t, m, h)
	return h, cookies, err
}

// checkSetCookies checks the Set-Cookie fields of h as commitChecked says
// and returns them parsed.
func checkSetCookies(t testing.TB, m *cookiesession.Manager, h http.Header) []*http.Cookie {
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
		if chunkIndex(m, c.Name) < 0 {
			t.Fatalf("emitted cookie name %q, want %q or one of its chunks", c.Name, m.Name())
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

// chunkIndex returns the index of the chunk of m's session that a cookie
// named name is: 0 for the session cookie itself, i for name.i (1 to 9),
// -1 for any other name.
func chunkIndex(m *cookiesession.Manager, name string) int {
	if name == m.Name() {
		return 0
	}
	for i := 1; i < 10; i++ {
		if name == m.Name()+"."+strconv.Itoa(i) {
			return i
		}
	}
	return -1
}

// commitOne is commitChecked for a 200 response that must succeed; it
// returns the single emitted cookie, or nil.
func (h *harness) commitOne(s *cookiesession.Session) *http.Cookie {
	h.t.Helper()
	return commitOne(h.t, h.m, s)
}

func commitOne(t testing.TB, m *cookiesession.Manager, s *cookiesession.Session) *http.Cookie {
	t.Helper()
	_, cookies, err := commitChecked(t, m, s, http.StatusOK)
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

// saveWith runs f on a new session (no incoming cookie) and returns the
// value of the cookie the response sets.
func (h *harness) saveWith(f func(s *cookiesession.Session)) string {
	h.t.Helper()
	return saveWith(h.t, h.m, f)
}

func saveWith(t testing.TB, m *cookiesession.Manager, f func(s *cookiesession.Session)) string {
	t.Helper()
	s := loadWith(m)
	f(s)
	c := commitOne(t, m, s)
	if c == nil || c.Value == "" {
		t.Fatalf("Commit after a change sent no session cookie")
	}
	return c.Value
}

// setter is a saveWith callback that stores key = value.
func setter(t testing.TB, key string, value any) func(*cookiesession.Session) {
	return func(s *cookiesession.Session) {
		t.Helper()
		if err := s.Set(key, value); err != nil {
			t.Fatalf("Set(%q): %v", key, err)
		}
	}
}

// getInt returns the int stored under key, and whether it was there.
func getInt(t testing.TB, s *cookiesession.Session, key string) (int, bool) {
	t.Helper()
	v, ok, err := cookiesession.Get[int](s, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v, ok
}

// serveWith runs one GET request through Handler(view), carrying the
// given session cookie value ("" for none), and returns the response after
// checking its Set-Cookie fields.
func (h *harness) serveWith(cookie string, view http.HandlerFunc) *http.Response {
	h.t.Helper()
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookieHeader(h.m, cookie))
	}
	w := httptest.NewRecorder()
	h.m.Handler(view).ServeHTTP(w, r)
	resp := w.Result()
	checkSetCookies(h.t, h.m, resp.Header)
	return resp
}

// sessionOf returns the request's session, failing the test without one.
func sessionOf(t testing.TB, r *http.Request) *cookiesession.Session {
	t.Helper()
	s, ok := cookiesession.FromContext(r.Context())
	if !ok || s == nil {
		t.Fatal("FromContext inside Handler found no session")
	}
	return s
}

// responseCookie returns the value of the session cookie resp sets, or ""
// with ok false if it sets none.
func responseCookie(m *cookiesession.Manager, resp *http.Response) (string, bool) {
	for _, c := range resp.Cookies() {
		if c.Name == m.Name() {
			return c.Value, true
		}
	}
	return "", false
}

// outcome loads value with m at the clock's current time and returns nil
// if the session opened, or the one error logged for it.
func (h *harness) outcome(m *cookiesession.Manager, value string) error {
	h.t.Helper()
	s := loadWith(m, value)
	opened := s.ID() != ""
	errs := h.errs.take()
	switch {
	case opened && len(errs) == 0 && s.Err() == nil:
		return nil
	case !opened && len(errs) == 1 && errors.Is(s.Err(), errs[0]):
		return errs[0]
	}
	h.t.Fatalf("load: opened %v with logged errors %v, Err %v", opened, errs, s.Err())
	return nil
}

// boundary checks that value opens one second and one nanosecond before
// deadline, and fails with want at it and one second after it.
func boundary(t testing.TB, h *harness, m *cookiesession.Manager, value string, deadline time.Time, want error) {
	t.Helper()
	for _, c := range []struct {
		at   time.Duration
		want error
	}{{-time.Second, nil}, {-time.Nanosecond, nil}, {0, want}, {time.Second, want}} {
		h.clock.Set(deadline.Add(c.at))
		err := h.outcome(m, value)
		if (c.want == nil && err != nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("at deadline%+v: %v, want %v", c.at, err, c.want)
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// commitHeader commits s with status into a fresh header and returns it.
func commitHeader(m *cookiesession.Manager, s *cookiesession.Session, status int) (http.Header, error) {
	h := http.Header{}
	err := m.Commit(s, status, h)
	return h, err
}

// decodeText parses a cookie value as crumb does, failing with the uniform
// malformed error.
func decodeText(text string) ([]byte, error) {
	v, ok := format.Parse(text)
	if !ok {
		return nil, crypto.Invalid(crypto.ReasonMalformed)
	}
	return v.Sealed, nil
}

// keyIDOf returns the key ID in the header of a cookie value, or the zero
// ID if it has no valid header.
func keyIDOf(value string) crypto.KeyID {
	h, _ := format.PeekHeader(value)
	return crypto.KeyID(h.KeyID)
}

// insecureKey returns the key for any secret, published samples included,
// for the golden vectors.
func insecureKey(t testing.TB, secret []byte) (*crypto.Key, error) {
	t.Helper()
	k, err := testhook.NewKeyUnchecked(secret)
	if err != nil {
		return nil, err
	}
	return k.(*crypto.Key), nil
}

// Builders of hand-made CBOR, for payloads crumb would never write.

func cborHead(major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return []byte{m | byte(n)}
	case n <= math.MaxUint8:
		return []byte{m | 24, byte(n)}
	case n <= math.MaxUint16:
		return []byte{m | 25, byte(n >> 8), byte(n)}
	case n <= math.MaxUint32:
		return []byte{m | 26, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return []byte{m | 27, byte(n >> 56), byte(n >> 48), byte(n >> 40), byte(n >> 32), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

func cborUint(n uint64) []byte  { return cborHead(0, n) }
func cborText(s string) []byte  { return append(cborHead(3, uint64(len(s))), s...) }
func cborBytes(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }

func cborArray(items ...[]byte) []byte {
	out := cborHead(4, uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

// kv is one map entry, already encoded.
type kv struct{ k, v []byte }

func cborMap(kvs ...kv) []byte {
	out := cborHead(5, uint64(len(kvs)))
	for _, kv := range kvs {
		out = append(append(out, kv.k...), kv.v...)
	}
	return out
}

func field(key uint64, v []byte) kv { return kv{cborUint(key), v} }

// payloadID is the session ID of hand-built payloads.
var payloadID = []byte("0123456789abcdef")

// hourNS is an hour in the payload's unit, nanoseconds.
const hourNS = uint64(time.Hour)

// basePayload returns the fields of a valid payload issued and saved at the
// epoch, valid for an hour, with data {"n": 1}.
func basePayload() []kv {
	t := uint64(t0.UnixNano())
	return []kv{
		field(1, cborBytes(payloadID)),
		field(2, cborUint(t)),
		field(3, cborUint(t)),
		field(4, cborUint(t+hourNS)),
		field(7, cborMap(kv{cborText("n"), cborUint(1)})),
	}
}

// withField returns basePayload with field key replaced by v (or removed, for nil
// v), or inserted in key order if absent, so that the payload differs from
// a valid one in that field alone.
func withField(key uint64, v []byte) []kv {
	kvs := basePayload()
	k := cborUint(key)
	for i, kv := range kvs {
		switch c := bytes.Compare(kv.k, k); {
		case c == 0 && v == nil:
			return slices.Delete(kvs, i, i+1)
		case c == 0:
			kvs[i].v = v
			return kvs
		case c > 0 && v != nil:
			return slices.Insert(kvs, i, field(key, v))
		}
	}
	if v == nil {
		return kvs
	}
	return append(kvs, field(key, v))
}

func dataWith(v []byte) []byte { return cborMap(kv{cborText("n"), v}) }

func nest(depth int) []byte {
	v := cborUint(1)
	for range depth {
		v = cborArray(v)
	}
	return v
}

// readFoo is a view that reads "foo" and records what it saw.
func readFoo(t *testing.T, got *string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		v, _, err := cookiesession.Get[string](s, "foo")
		if err != nil {
			t.Errorf("Get(foo) error = %v, want nil", err)
		}
		*got = v
	}
}

// ignore is a view that never touches the session.
func ignore(w http.ResponseWriter, r *http.Request) {}

// payloadMode encodes test payloads the way crumb does.
var payloadMode = func() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

func mustCBOR(t *testing.T, v any) []byte {
	t.Helper()
	b, err := payloadMode.Marshal(v)
	if err != nil {
		t.Fatalf("cbor.Marshal(%#v) error = %v", v, err)
	}
	return b
}

// setHello is the view of Django's middleware tests.
func setHello(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := cookiesession.FromContext(r.Context())
		if !ok {
			t.Error("FromContext() found no session")
			return
		}
		if err := s.Set("hello", "world"); err != nil {
			t.Error(err)
		}
	}
}

// randomText returns n characters that do not compress.
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// chunked adjusts a Config for sessions split across up to n cookies of
// at most size bytes each, under a request-header budget that holds them
// all.
func chunked(n, size int) func(*cookiesession.Config) {
	return func(c *cookiesession.Config) {
		c.MaxChunks, c.MaxCookieSize, c.MaxHeaderBytes = n, size, 1<<16
	}
}

// sent is what one response said about a session's cookies.
type sent struct {
	lines   []string // the Set-Cookie lines that set a cookie, in order
	values  []string // their values
	names   []string // and names
	deleted []int    // the chunk indices it expired, in order
}

// sentBy sorts the Set-Cookie fields of hdr into cookies set and cookies
// expired, checking each as commitChecked does.
func sentBy(t testing.TB, m *cookiesession.Manager, hdr http.Header) sent {
	t.Helper()
	var out sent
	cookies := checkSetCookies(t, m, hdr)
	for i, line := range hdr.Values("Set-Cookie") {
		c := cookies[i]
		if c.MaxAge < 0 {
			out.deleted = append(out.deleted, chunkIndex(m, c.Name))
			continue
		}
		out.lines = append(out.lines, line)
		out.values = append(out.values, c.Value)
		out.names = append(out.names, c.Name)
	}
	return out
}

// lineLens returns the length of each line.
func lineLens(lines []string) []int {
	n := make([]int, len(lines))
	for i, l := range lines {
		n[i] = len(l)
	}
	return n
}

// chunkHeader returns one Cookie header carrying values as m's session
// cookie and its chunks, in order.
func chunkHeader(m *cookiesession.Manager, values []string) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = chunkName(m, i) + "=" + v
	}
	return strings.Join(parts, "; ")
}

// chunkName returns the name of chunk i of m's session.
func chunkName(m *cookiesession.Manager, i int) string {
	if i == 0 {
		return m.Name()
	}
	return m.Name() + "." + strconv.Itoa(i)
}

// filler returns a session of m holding a value of n characters under
// "v", and nothing else.
func filler(t testing.TB, m *cookiesession.Manager, n int) *cookiesession.Session {
	t.Helper()
	s := m.Load(context.Background())
	if err := s.Set("v", strings.Repeat("x", n)); err != nil {
		t.Fatalf("Set of %d bytes: %v", n, err)
	}
	return s
}

// cookieSizes returns filler(n)'s CookieSizes.
func cookieSizes(t testing.TB, m *cookiesession.Manager, n int) ([]int, error) {
	t.Helper()
	return filler(t, m, n).CookieSizes()
}

// fillFor returns the smallest value length for which a session of m
// needs k cookies, searching up to max.
func fillFor(t testing.TB, m *cookiesession.Manager, k, max int) int {
	t.Helper()
	n := sort.Search(max, func(n int) bool {
		sizes, err := cookieSizes(t, m, n)
		return err != nil || len(sizes) >= k
	})
	if sizes, err := cookieSizes(t, m, n); err != nil || len(sizes) != k {
		t.Fatalf("no value of up to %d bytes needs exactly %d cookies (%d bytes: %v, %v)", max, k, n, sizes, err)
	}
	return n
}

// wantDeleted checks that a response expired exactly the chunk indices
// from to to-1.
func wantDeleted(t testing.TB, got []int, from, to int) {
	t.Helper()
	var want []int
	for i := from; i < to; i++ {
		want = append(want, i)
	}
	if !slices.Equal(got, want) {
		t.Errorf("expired chunks %v, want %v", got, want)
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
