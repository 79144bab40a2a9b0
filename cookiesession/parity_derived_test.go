package cookiesession_test

// Django parity: behaviour derived from Django's session middleware and
// cookie backend (D1–D12), and what follows from where crumb goes further.
// Each case names the Django test or behaviour it comes from.

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

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

// Case 54, D1 TamperedAndRead: a tampered cookie read by the view gives
// empty data and no error, and the response deletes it with Vary: Cookie
// (Django re-issues a signed empty session instead).
func TestTamperedAndRead(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	cookie := tamper(t, h.seed(map[string]any{"foo": "bar"}))
	var got string
	resp := h.serve(readFoo(t, &got), cookie)
	if got != "" {
		t.Errorf("view read foo = %q, want nothing", got)
	}
	h.wantDeletion(onlyCookie(t, resp.Header))
	wantVary(t, resp.Header, true)
	h.wantErrors(cookiesession.ErrInvalid)
}

// Case 55, D2 TamperedUntouched: a plausible cookie the view ignores is
// never opened, and the response says nothing about it.
func TestTamperedUntouched(t *testing.T) {
	t.Parallel()
	rev := &recordingRevoker{}
	h := newManager(t, cookiesession.Config{Revoker: rev})
	valid := h.seed(map[string]any{"foo": "bar"})
	for _, cookie := range []string{tamper(t, valid), valid} {
		resp := h.serve(ignore, cookie)
		noCookie(t, resp.Header)
		wantVary(t, resp.Header, false)
		if got := resp.Header.Values("Cache-Control"); len(got) != 0 {
			t.Errorf("Cache-Control = %q, want none", got)
		}
	}
	// Nothing was opened: no rejection, and no revocation check of the
	// valid cookie.
	h.wantErrors()
	if len(rev.checks) != 0 {
		t.Errorf("revoker checked %d sessions, want 0: the cookie must not be opened", len(rev.checks))
	}
}

// Case 56, D3 ShortJunkUntouched: a value that cannot be a crumb cookie is
// deleted, with Vary: Cookie, even when the view ignores the session.
func TestShortJunkUntouched(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	for _, cookie := range []string{"", "abc", "1234567", "not-a-crumb-cookie-but-long-enough-to-look-like-one!", "e30:1r31eq:SdineUKTaqcH7GYxZhCBcXlIJSFE3CZHPWjQqSNkNwk"} {
		resp := h.serve(ignore, cookie)
		h.wantDeletion(onlyCookie(t, resp.Header))
		wantVary(t, resp.Header, true)
		h.wantErrors(cookiesession.ErrInvalid)
	}
}

// Case 57, D4 StaleCookie: a cookie at or past its deadline behaves as a
// tampered one (case 54) but is reported as expired; a nanosecond before
// its deadline it is still valid (case 35).
func TestStaleCookie(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	cookie := h.seed(map[string]any{"foo": "bar"})

	h.clock.Advance(sca - time.Nanosecond) // just before the deadline
	var got string
	resp := h.serve(readFoo(t, &got), cookie)
	if got != "bar" {
		t.Errorf("just before the deadline: view read foo = %q, want bar", got)
	}
	noCookie(t, resp.Header)
	wantVary(t, resp.Header, true)
	h.wantErrors()

	h.clock.Advance(time.Nanosecond)
	got = ""
	resp = h.serve(readFoo(t, &got), cookie)
	if got != "" {
		t.Errorf("at the deadline: view read foo = %q, want nothing", got)
	}
	h.wantDeletion(onlyCookie(t, resp.Header))
	wantVary(t, resp.Header, true)
	h.wantErrors(cookiesession.ErrExpired)
}

// Case 58, D5 RotatedKey: a cookie under a verify-only key opens, and the
// response re-seals it under the primary with its times unchanged; once
// that key is removed, old copies open to an empty session as in case 54,
// but the response leaves them alone: another instance may still hold the
// key (crumb deletes only cookies that are dead everywhere).
func TestRotatedKey(t *testing.T) {
	t.Parallel()
	oldKey, newKey_ := newKey(t), newKey(t)
	keys := rotation.NewHolder(newRing(t, oldKey))
	h := newManager(t, cookiesession.Config{Keys: keys})
	old := h.seed(map[string]any{"foo": "bar"})
	before := h.load(old).Info()

	h.clock.Advance(time.Hour)
	keys.Store(newRing(t, newKey_, oldKey))
	var got string
	resp := h.serve(readFoo(t, &got), old)
	if got != "bar" {
		t.Errorf("under a verify-only key: view read foo = %q, want bar", got)
	}
	c := onlyCookie(t, resp.Header)
	wantVary(t, resp.Header, true)
	hdr := keyIDOf(c.Value)
	if hdr != newKey_.ID() {
		t.Fatalf("re-sealed cookie key ID = %v, %v, want the primary %v", hdr, nil, newKey_.ID())
	}
	if want := int((sca - time.Hour) / time.Second); c.MaxAge != want {
		t.Errorf("re-sealed Max-Age = %d, want the remaining %d", c.MaxAge, want)
	}
	if want := before.Expires; !c.Expires.Equal(want) {
		t.Errorf("re-sealed Expires = %v, want the original deadline %v", c.Expires, want)
	}
	after := h.load(c.Value).Info()
	if after != before {
		t.Errorf("re-sealed session Info = %+v, want the original %+v", after, before)
	}

	keys.Store(newRing(t, newKey_))
	got = ""
	resp = h.serve(readFoo(t, &got), old)
	if got != "" {
		t.Errorf("after removing the old key: view read foo = %q, want nothing", got)
	}
	noCookie(t, resp.Header)
	wantVary(t, resp.Header, true)
	h.wantErrors(cookiesession.ErrInvalid)
	wantString(t, h.load(c.Value), "foo", "bar") // the re-sealed copy lives on
}

// Case 59, D6 SaveEveryRequest: with renewal on every request (Django's
// SESSION_SAVE_EVERY_REQUEST; crumb's RenewAfter of a nanosecond), a valid
// cookie the view ignores is re-sealed with a new last save and
// Max-Age=SCA, plus Vary: Cookie (which Django omits).
func TestSaveEveryRequest(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{RenewAfter: time.Nanosecond})
	cookie := h.seed(map[string]any{"foo": "bar"})
	issued := h.now()

	h.clock.Advance(time.Minute)
	resp := h.serve(ignore, cookie)
	c := onlyCookie(t, resp.Header)
	if c.Value == "" || c.Value == cookie {
		t.Fatalf("Set-Cookie %q, want a re-sealed session cookie", c.String())
	}
	if want := int(sca / time.Second); c.MaxAge != want {
		t.Errorf("Max-Age = %d, want %d", c.MaxAge, want)
	}
	wantVary(t, resp.Header, true)
	info := h.load(c.Value).Info()
	if !info.SavedAt.Equal(h.now()) || !info.IssuedAt.Equal(issued) {
		t.Errorf("re-sealed SavedAt, IssuedAt = %v, %v, want %v, %v", info.SavedAt, info.IssuedAt, h.now(), issued)
	}
	if want := h.now().Add(sca); !info.Expires.Equal(want) {
		t.Errorf("re-sealed deadline = %v, want %v", info.Expires, want)
	}
}

// Case 60, D7 SaveEveryRequestNoCookie: with no cookie, an ignored session
// is not created.
func TestSaveEveryRequestNoCookie(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{RenewAfter: time.Nanosecond})
	resp := h.serve(ignore)
	noCookie(t, resp.Header)
	wantVary(t, resp.Header, false)
}

// Case 61, D8 BrowserCloseCookie: BrowserClose, or SEABC with no custom
// expiry, gives a cookie with neither Expires nor Max-Age; the server still
// ends the session SCA after its last save.
func TestBrowserCloseCookie(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		seabc  bool
		expiry cookiesession.Expiry
	}{
		{"SetExpiry(BrowserClose)", false, cookiesession.BrowserClose},
		{"ExpireAtBrowserClose", true, cookiesession.DefaultExpiry},
	} {
		h := newManager(t, cookiesession.Config{ExpireAtBrowserClose: tc.seabc})
		resp := h.serve(func(w http.ResponseWriter, r *http.Request) {
			setHello(t)(w, r)
			s, _ := cookiesession.FromContext(r.Context())
			s.SetExpiry(tc.expiry)
		})
		line := resp.Header.Get("Set-Cookie")
		c := onlyCookie(t, resp.Header)
		_, hasMaxAge := attribute(line, "Max-Age")
		_, hasExpires := attribute(line, "Expires")
		if c.Value == "" || hasMaxAge || hasExpires || c.MaxAge != 0 || !c.Expires.IsZero() {
			t.Errorf("%s: Set-Cookie %q, want a session cookie with neither Max-Age nor Expires", tc.name, line)
		}

		h.clock.Advance(sca - time.Nanosecond)
		wantString(t, h.load(c.Value), "hello", "world")
		h.clock.Advance(time.Nanosecond)
		wantMissing(t, h.load(c.Value), "hello")
		h.wantErrors(cookiesession.ErrExpired)
	}
}

// Case 62, D9 DefaultCookie: with default settings, Max-Age=1209600 and
// Expires = now + 1209600 s as an HTTP-date.
func TestDefaultCookie(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	h.clock.Advance(1234 * time.Second)
	resp := h.serve(setHello(t))
	c := onlyCookie(t, resp.Header)
	if c.MaxAge != 1209600 {
		t.Errorf("Max-Age = %d, want 1209600", c.MaxAge)
	}
	want := h.now().Add(sca)
	if !c.Expires.Equal(want) {
		t.Errorf("Expires = %v, want %v", c.Expires, want)
	}
	if got, wantRaw := c.RawExpires, want.UTC().Format(http.TimeFormat); got != wantRaw {
		t.Errorf("Expires attribute = %q, want %q", got, wantRaw)
	}
	h.wantAttributes(c)
	if c.Name != "__Host-sessionid" {
		t.Errorf("cookie name = %q, want __Host-sessionid", c.Name)
	}
	wantVary(t, resp.Header, true)
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
}

// Case 63, D10 ShortIdleEnforced: an idle window of 300 s gives Max-Age=300,
// and a replay 300 s after the save gives an empty session (Django accepts
// it until SCA).
func TestShortIdleEnforced(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	if err := s.Set("foo", "bar"); err != nil {
		t.Fatal(err)
	}
	s.SetExpiry(cookiesession.IdleFor(300 * time.Second))
	c := onlyCookie(t, h.commit(s, http.StatusOK))
	if c.MaxAge != 300 {
		t.Errorf("Max-Age = %d, want 300", c.MaxAge)
	}
	h.clock.Advance(300*time.Second - time.Nanosecond)
	wantString(t, h.load(c.Value), "foo", "bar")
	h.clock.Advance(time.Nanosecond)
	wantEmpty(t, h.load(c.Value))
	h.wantErrors(cookiesession.ErrExpired)
}

// Case 64, D11 CycleInvalidates: CycleKey gives a new cookie and ID with
// the same data; with revocation the old cookie gives an empty session
// (without, it stays valid, as in Django).
func TestCycleInvalidates(t *testing.T) {
	t.Parallel()
	for _, revoke := range []bool{false, true} {
		cfg := cookiesession.Config{}
		if revoke {
			cfg.Revoker = &cookiesession.DenyList{}
		}
		h := newManager(t, cfg)
		client, url := h.client(func(w http.ResponseWriter, r *http.Request) {
			s, _ := cookiesession.FromContext(r.Context())
			switch r.URL.Path {
			case "/login":
				if err := s.Set("user", "alice"); err != nil {
					t.Error(err)
				}
			case "/cycle":
				if err := s.CycleKey(); err != nil {
					t.Error(err)
				}
			}
		})
		old := onlyCookie(t, get(t, client, url+"/login").Header).Value
		oldID := h.load(old).ID()
		cycled := onlyCookie(t, get(t, client, url+"/cycle").Header).Value
		s := h.load(cycled)
		if cycled == old || s.ID() == oldID || s.ID() == "" {
			t.Errorf("revoker %v: after CycleKey ID = %q, want a new one (old %q)", revoke, s.ID(), oldID)
		}
		wantString(t, s, "user", "alice")

		replay := h.load(old)
		if revoke {
			wantEmpty(t, replay)
			h.wantErrors(cookiesession.ErrRevoked)
		} else {
			wantString(t, replay, "user", "alice")
			h.wantErrors()
		}
	}
}

// Case 65, D12 FlushInvalidates: Flush deletes the cookie; with revocation
// a replay of the old cookie gives an empty session, and without one the
// replay works until the cookie's deadline, as documented.
func TestFlushInvalidates(t *testing.T) {
	t.Parallel()
	for _, revoke := range []bool{false, true} {
		cfg := cookiesession.Config{}
		if revoke {
			cfg.Revoker = &cookiesession.DenyList{}
		}
		h := newManager(t, cfg)
		old := h.seed(map[string]any{"user": "alice"})
		s := h.load(old)
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		h.wantDeletion(onlyCookie(t, h.commit(s, http.StatusOK)))

		replay := h.load(old)
		if revoke {
			wantEmpty(t, replay)
			h.wantErrors(cookiesession.ErrRevoked)
			continue
		}
		wantString(t, replay, "user", "alice")
		h.clock.Advance(sca - time.Nanosecond)
		wantString(t, h.load(old), "user", "alice")
		h.clock.Advance(time.Nanosecond)
		wantEmpty(t, h.load(old))
		h.wantErrors(cookiesession.ErrExpired)
	}
}

// randomText returns n characters that do not compress.
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// Case 66, OversizeRefused: a session whose cookie would exceed the limit
// is not sent; the error is typed, and the browser's previous cookie is
// left alone (it still opens to the previous data).
func TestOversizeRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		limit int // Config.MaxCookieSize; 0 for the default 4096
		size  int // bytes of data added
	}{
		{"default limit", 0, 4000},
		{"far over", 0, 40000},
		{"configured limit", 512, 600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newManager(t, cookiesession.Config{MaxCookieSize: tc.limit})
			limit := tc.limit
			if limit == 0 {
				limit = cookiesession.MaxCookieSize
			}
			old := h.seed(map[string]any{"foo": "bar"})

			// A value too large for any cookie is refused at once.
			if tc.size > crypto.MaxPlaintext {
				s := h.load(old)
				if err := s.Set("big", randomText(tc.size)); !errors.Is(err, cookiesession.ErrTooLarge) || s.Has("big") {
					t.Errorf("Set of %d bytes = %v, Has %v; want ErrTooLarge and no change", tc.size, err, s.Has("big"))
				}
				wantString(t, s, "foo", "bar")
				return
			}

			// Header-level: Commit returns the error.
			s := h.load(old)
			if err := s.Set("big", randomText(tc.size)); err != nil {
				t.Fatal(err)
			}
			hdr, err := commitHeader(h.m, s, http.StatusOK)
			var tl *cookiesession.TooLargeError
			if !errors.Is(err, cookiesession.ErrTooLarge) || !errors.As(err, &tl) {
				t.Fatalf("Commit() error = %v, want a *TooLargeError", err)
			}
			if tl.Size <= tl.Limit || tl.Limit > limit {
				t.Errorf("TooLargeError{Size: %d, Limit: %d}, want Size > Limit, Limit <= %d", tl.Size, tl.Limit, limit)
			}
			noCookie(t, hdr)

			// Committing into a ResponseWriter's header, as a handler
			// without the middleware does, adds nothing either.
			s = h.load(old)
			if err := s.Set("big", randomText(tc.size)); err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			if err := h.m.Commit(s, http.StatusOK, w.Header()); !errors.Is(err, cookiesession.ErrTooLarge) {
				t.Errorf("Commit() error = %v, want ErrTooLarge", err)
			}
			noCookie(t, w.Header())

			// Handler logs it and still serves the page.
			resp := h.serve(func(w http.ResponseWriter, r *http.Request) {
				s, _ := cookiesession.FromContext(r.Context())
				if err := s.Set("big", randomText(tc.size)); err != nil {
					t.Error(err)
				}
			}, old)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d, want 200", resp.StatusCode)
			}
			noCookie(t, resp.Header)
			h.wantErrors(cookiesession.ErrTooLarge)

			// The previous cookie is untouched and still valid.
			wantString(t, h.load(old), "foo", "bar")
			h.wantErrors()
		})
	}

	// Just under the limit is sent, and fits.
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	if err := s.Set("big", randomText(2800)); err != nil {
		t.Fatal(err)
	}
	hdr := h.commit(s, http.StatusOK)
	if line := hdr.Get("Set-Cookie"); line == "" || len(line) > cookiesession.MaxCookieSize {
		t.Errorf("Set-Cookie of %d bytes, want a cookie of at most %d", len(line), cookiesession.MaxCookieSize)
	}
}

// Case 67, AbsoluteLifetime: with AbsoluteLifetime 8 h, save-every-request
// and a request every minute, the session ends 8 h after it was issued,
// and Max-Age never points past that.
func TestAbsoluteLifetime(t *testing.T) {
	t.Parallel()
	const abs = 8 * time.Hour
	h := newManager(t, cookiesession.Config{AbsoluteLifetime: abs, RenewAfter: time.Nanosecond})
	cookie := h.seed(map[string]any{"user": "alice"})
	end := h.now().Add(abs)

	for h.now().Add(time.Minute).Before(end) {
		h.clock.Advance(time.Minute)
		s := h.load(cookie)
		wantString(t, s, "user", "alice")
		c := onlyCookie(t, h.commit(s, http.StatusOK))
		wantMaxAge := int(end.Sub(h.now()) / time.Second)
		if c.MaxAge != wantMaxAge || c.Value == "" {
			t.Fatalf("at %v: Set-Cookie %q, want Max-Age=%d", h.now(), c.String(), wantMaxAge)
		}
		if want := h.now().Add(time.Duration(wantMaxAge) * time.Second); !c.Expires.Equal(want) {
			t.Fatalf("at %v: Expires = %v, want %v", h.now(), c.Expires, want)
		}
		if got := h.load(c.Value).Info().Expires; !got.Equal(end) {
			t.Fatalf("at %v: sealed deadline %v, want %v", h.now(), got, end)
		}
		cookie = c.Value
	}
	h.wantErrors()

	h.clock.Set(end) // the session is gone at its deadline
	s := h.load(cookie)
	wantEmpty(t, s)
	h.wantDeletion(onlyCookie(t, h.commit(s, http.StatusOK)))
	h.wantErrors(cookiesession.ErrExpired)
}

// Case 68, LongCustomExpiry: an idle window of 30 days outlives SCA on the
// server too (Django's server rejects it after 14 days while the browser
// keeps it).
func TestLongCustomExpiry(t *testing.T) {
	t.Parallel()
	const days = 24 * time.Hour
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	if err := s.Set("foo", "bar"); err != nil {
		t.Fatal(err)
	}
	s.SetExpiry(cookiesession.IdleFor(30 * days))
	c := onlyCookie(t, h.commit(s, http.StatusOK))
	if want := int(30 * days / time.Second); c.MaxAge != want {
		t.Errorf("Max-Age = %d, want %d", c.MaxAge, want)
	}
	h.clock.Advance(20 * days)
	wantString(t, h.load(c.Value), "foo", "bar")
	h.clock.Advance(10*days - time.Nanosecond)
	wantString(t, h.load(c.Value), "foo", "bar")
	h.wantErrors()
	h.clock.Advance(time.Nanosecond)
	wantMissing(t, h.load(c.Value), "foo")
	h.wantErrors(cookiesession.ErrExpired)
}
