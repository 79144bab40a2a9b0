package cookiesession_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// t0 is where every test clock starts: a whole second, so that times the
// tests compute match crumb's one-second resolution exactly.
var t0 = time.Date(2025, time.March, 1, 12, 0, 0, 0, time.UTC)

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

// errorLog collects what Config.OnError receives.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) record(_ context.Context, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

// take returns the errors recorded so far and forgets them.
func (l *errorLog) take() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	errs := l.errs
	l.errs = nil
	return errs
}

// harness is a Manager with its clock, its error log and its settings.
type harness struct {
	t     *testing.T
	m     *cookiesession.Manager
	cfg   cookiesession.Config // as passed to New, with Keys, Clock and OnError filled in
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

// newRing returns a keyring with primary and the verify-only keys.
func newRing(t testing.TB, primary *crypto.Key, verifyOnly ...*crypto.Key) *rotation.Keyring {
	t.Helper()
	r, err := rotation.New(primary, verifyOnly...)
	if err != nil {
		t.Fatalf("rotation.New() error = %v", err)
	}
	return r
}

// newManager builds a Manager from cfg. Unless cfg says otherwise, it gets
// a keyring with one fresh key and a fake clock at t0; OnError always
// records into h.errs.
func newManager(t *testing.T, cfg cookiesession.Config) *harness {
	t.Helper()
	h := &harness{t: t, errs: &errorLog{}}
	if cfg.Keys == nil {
		cfg.Keys = newRing(t, newKey(t))
	}
	if cfg.Clock == nil {
		h.clock = newFakeClock()
		cfg.Clock = h.clock.Now
	}
	cfg.OnError = h.errs.record
	m, err := cookiesession.New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	h.m, h.cfg = m, cfg
	return h
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

// commit commits s for status and fails the test on an error.
func (h *harness) commit(s *cookiesession.Session, status int) http.Header {
	h.t.Helper()
	hdr, err := h.m.Commit(s, status)
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
	if err := s.Update(data); err != nil {
		h.t.Fatalf("Update(%v) error = %v", data, err)
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

// context returns the additional data crumb binds session cookies to.
func (h *harness) context() []byte {
	return crypto.Context("crumb/v1/cookiesession", h.m.Name(), h.cfg.Purpose)
}

// sealRaw seals pt as a session cookie would be, under the current primary
// key, whatever pt holds.
func (h *harness) sealRaw(pt []byte) string {
	h.t.Helper()
	sealed, err := h.cfg.Keys.Keyring(h.now()).Seal(nil, pt, h.context())
	if err != nil {
		h.t.Fatalf("Seal() error = %v", err)
	}
	return crypto.Encode(sealed)
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
	return &http.Client{Jar: jar}, srv.URL
}

// get sends a GET to url with c and returns the response, body read.
func get(t *testing.T, c *http.Client, url string) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// setCookies parses every Set-Cookie field of hdr.
func setCookies(t *testing.T, hdr http.Header) []*http.Cookie {
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
func onlyCookie(t *testing.T, hdr http.Header) *http.Cookie {
	t.Helper()
	cs := setCookies(t, hdr)
	if len(cs) != 1 {
		t.Fatalf("got %d Set-Cookie fields %q, want 1", len(cs), hdr.Values("Set-Cookie"))
	}
	return cs[0]
}

// noCookie fails the test if hdr sets any cookie.
func noCookie(t *testing.T, hdr http.Header) {
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
func wantVary(t *testing.T, hdr http.Header, want bool) {
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

// wantErrors checks that exactly the given rejections were reported, in
// order, each matching its target with errors.Is; it forgets them.
func (h *harness) wantErrors(targets ...error) {
	h.t.Helper()
	got := h.errs.take()
	if len(got) != len(targets) {
		h.t.Errorf("OnError got %d errors %v, want %d matching %v", len(got), got, len(targets), targets)
		return
	}
	for i, err := range got {
		if !errors.Is(err, targets[i]) {
			h.t.Errorf("OnError error %d = %v, want one matching %v", i, err, targets[i])
		}
	}
}

// wantEmpty checks that s is a fresh empty session: no data, no ID.
func wantEmpty(t *testing.T, s *cookiesession.Session) {
	t.Helper()
	if n := s.Len(); n != 0 {
		t.Errorf("Len() = %d, want 0 (keys %q)", n, s.Keys())
	}
	if id := s.ID(); id != "" {
		t.Errorf("ID() = %q, want empty", id)
	}
}

// wantString checks that s holds want under key.
func wantString(t *testing.T, s *cookiesession.Session, key, want string) {
	t.Helper()
	got, ok, err := cookiesession.Get[string](s, key)
	if err != nil || !ok || got != want {
		t.Errorf("Get(%q) = %q, %v, %v, want %q, true, nil", key, got, ok, err, want)
	}
}

// wantMissing checks that s has no key.
func wantMissing(t *testing.T, s *cookiesession.Session, key string) {
	t.Helper()
	got, ok, err := cookiesession.Get[any](s, key)
	if err != nil || ok || got != nil {
		t.Errorf("Get(%q) = %v, %v, %v, want nil, false, nil", key, got, ok, err)
	}
}

// flags checks the accessed and modified flags of s.
func flags(t *testing.T, s *cookiesession.Session, accessed, modified bool) {
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
func tamper(t *testing.T, value string) string {
	t.Helper()
	b, err := crypto.Decode(value)
	if err != nil {
		t.Fatalf("crypto.Decode(%q) error = %v", value, err)
	}
	b[len(b)-1] ^= 1
	return crypto.Encode(b)
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
