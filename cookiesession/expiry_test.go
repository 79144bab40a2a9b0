package cookiesession_test

// Tests of expiry.go: deadlines at their exact boundaries, Django's
// set_expiry forms and getters, renewal, the absolute lifetime, clock
// skew. Cases ported from Django name the Django test they come from.

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
)

func TestExpiryBoundaries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      func(*cookiesession.Config)
		save     func(*cookiesession.Session)
		deadline time.Time
	}{
		{
			name:     "Lifetime",
			cfg:      func(c *cookiesession.Config) { c.Lifetime = time.Hour },
			deadline: t0.Add(time.Hour),
		},
		{
			name:     "IdleFor",
			save:     func(s *cookiesession.Session) { s.SetExpiry(cookiesession.IdleFor(10 * time.Minute)) },
			deadline: t0.Add(10 * time.Minute),
		},
		{
			name:     "ExpiresAt",
			save:     func(s *cookiesession.Session) { s.SetExpiry(cookiesession.ExpiresAt(t0.Add(30 * time.Minute))) },
			deadline: t0.Add(30 * time.Minute),
		},
		{
			name:     "ExpiresIn",
			save:     func(s *cookiesession.Session) { s.SetExpiry(cookiesession.ExpiresIn(45 * time.Minute)) },
			deadline: t0.Add(45 * time.Minute),
		},
		{
			name:     "BrowserClose",
			cfg:      func(c *cookiesession.Config) { c.Lifetime = 2 * time.Hour },
			save:     func(s *cookiesession.Session) { s.SetExpiry(cookiesession.BrowserClose) },
			deadline: t0.Add(2 * time.Hour),
		},
		{
			name:     "AbsoluteLifetime",
			cfg:      func(c *cookiesession.Config) { c.Lifetime = 2 * time.Hour; c.AbsoluteLifetime = time.Hour },
			deadline: t0.Add(time.Hour),
		},
		{
			name:     "AbsoluteLifetime caps ExpiresAt",
			cfg:      func(c *cookiesession.Config) { c.AbsoluteLifetime = time.Hour },
			save:     func(s *cookiesession.Session) { s.SetExpiry(cookiesession.ExpiresAt(t0.Add(48 * time.Hour))) },
			deadline: t0.Add(time.Hour),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newHarness(t, tt.cfg)
			v := e.saveWith(func(s *cookiesession.Session) {
				_ = s.Set("n", 1)
				if tt.save != nil {
					tt.save(s)
				}
			})
			if got := e.load(v).Info().Expires; !got.Equal(tt.deadline) {
				t.Fatalf("sealed deadline = %v, want %v", got, tt.deadline)
			}
			boundary(t, e, e.m, v, tt.deadline, cookiesession.ErrExpired)
		})
	}
}

// TestExpiryAbsoluteAfterSaves saves a session repeatedly: each save
// moves the idle deadline, never past the absolute cap.
func TestExpiryAbsoluteAfterSaves(t *testing.T) {
	t.Parallel()
	e := newHarness(t, func(c *cookiesession.Config) {
		c.Lifetime = 20 * time.Minute
		c.AbsoluteLifetime = time.Hour
	})
	v := e.saveWith(setter(t, "n", 0))
	for i := 1; i <= 3; i++ { // saves at +15m, +30m and +45m: deadlines +35m, +50m, +60m (the cap)
		e.clock.Advance(15 * time.Minute)
		s := e.load(v)
		if err := s.Set("n", i); err != nil {
			t.Fatal(err)
		}
		c := e.commitOne(s)
		if c == nil {
			t.Fatalf("save %d sent no cookie", i)
		}
		v = c.Value
		want := minTime(e.clock.Now().Add(20*time.Minute), t0.Add(time.Hour))
		if got := e.load(v).Info().Expires; !got.Equal(want) {
			t.Errorf("save %d: deadline %v, want %v", i, got, want)
		}
		// Max-Age is the whole seconds left, at least 1 (0 would omit it).
		if got, want := c.MaxAge, max(1, int(want.Sub(e.clock.Now())/time.Second)); got != want {
			t.Errorf("save %d: Max-Age %d, want %d", i, got, want)
		}
	}
	boundary(t, e, e.m, v, t0.Add(time.Hour), cookiesession.ErrExpired)
}

func TestExpiryNotBefore(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	v := e.saveWith(setter(t, "n", 1)) // issued at t0
	tests := []struct {
		notBefore time.Time
		want      error
	}{
		{t0.Add(-time.Second), nil},
		{t0, nil},
		{t0.Add(time.Second), cookiesession.ErrRevoked},
		// Issue times have nanosecond precision: no rounding either way.
		{t0.Add(time.Nanosecond), cookiesession.ErrRevoked},
		{t0.Add(-time.Nanosecond), nil},
	}
	for _, tt := range tests {
		m := e.with(func(c *cookiesession.Config) { c.NotBefore = tt.notBefore })
		e.clock.Set(t0.Add(time.Minute))
		err := e.outcome(m, v)
		if (tt.want == nil && err != nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("NotBefore = issue time %+v: %v, want %v", tt.notBefore.Sub(t0), err, tt.want)
		}
	}
}

func TestExpiryClockSkew(t *testing.T) {
	t.Parallel()
	t.Run("past the deadline", func(t *testing.T) {
		e := newHarness(t, func(c *cookiesession.Config) { c.Lifetime = time.Hour; c.ClockSkew = 5 * time.Second })
		v := e.saveWith(setter(t, "n", 1))
		boundary(t, e, e.m, v, t0.Add(time.Hour+5*time.Second), cookiesession.ErrExpired)
	})
	t.Run("fractional skew is exact", func(t *testing.T) {
		e := newHarness(t, func(c *cookiesession.Config) { c.Lifetime = time.Hour; c.ClockSkew = 1500 * time.Millisecond })
		v := e.saveWith(setter(t, "n", 1))
		boundary(t, e, e.m, v, t0.Add(time.Hour+1500*time.Millisecond), cookiesession.ErrExpired)
	})
	t.Run("saved in the future", func(t *testing.T) {
		e := newHarness(t, func(c *cookiesession.Config) { c.ClockSkew = 5 * time.Second })
		// Another instance, its clock ahead, saved these.
		e.clock.Set(t0.Add(5 * time.Second))
		within := e.saveWith(setter(t, "n", 1))
		e.clock.Set(t0.Add(6 * time.Second))
		beyond := e.saveWith(setter(t, "n", 1))

		e.clock.Set(t0)
		if err := e.outcome(e.m, within); err != nil {
			t.Errorf("saved ClockSkew in the future: %v, want valid", err)
		}
		err := e.outcome(e.m, beyond)
		if !errors.Is(err, cookiesession.ErrInvalid) || crypto.ReasonOf(err) != crypto.ReasonPayload {
			t.Errorf("saved ClockSkew+1s in the future: %v, want ErrInvalid (ReasonPayload)", err)
		}
		strict := e.with(func(c *cookiesession.Config) { c.ClockSkew = 0 })
		if err := e.outcome(strict, within); !errors.Is(err, cookiesession.ErrInvalid) {
			t.Errorf("saved in the future with no skew: %v, want ErrInvalid", err)
		}
	})
	// With no skew configured, a cookie saved up to a second ahead still
	// opens: a native instance's clock a millisecond ahead of an edge
	// host's, whose clock ticks in milliseconds.
	for _, skew := range []time.Duration{0, 300 * time.Millisecond} {
		t.Run(fmt.Sprintf("saved a moment in the future, skew %v", skew), func(t *testing.T) {
			e := newHarness(t, func(c *cookiesession.Config) { c.ClockSkew = skew })
			for _, tc := range []struct {
				name  string
				ahead time.Duration
				ok    bool
			}{
				{"a nanosecond", time.Nanosecond, true},
				{"a millisecond", time.Millisecond, true},
				{"a second", time.Second, true},
				{"a second and a nanosecond", time.Second + time.Nanosecond, false},
			} {
				e.clock.Set(t0.Add(tc.ahead))
				v := e.saveWith(setter(t, "n", 1))
				e.clock.Set(t0)
				err := e.outcome(e.m, v)
				if tc.ok && err != nil || !tc.ok && crypto.ReasonOf(err) != crypto.ReasonPayload {
					t.Errorf("saved %s ahead: %v, want valid: %v", tc.name, err, tc.ok)
				}
			}
		})
	}
	// The leaked-key runbook (SECURITY.md): NotBefore at the end of the
	// replacement plus max(ClockSkew, 1s) refuses a session a forger
	// stamped as issued (and saved) as late as a reader would accept.
	t.Run("NotBefore covers the second", func(t *testing.T) {
		e := newHarness(t, nil)
		e.clock.Set(t0.Add(time.Second)) // the latest a reader at t0 accepts
		forged := e.saveWith(setter(t, "n", 1))
		cut := e.with(func(c *cookiesession.Config) { c.NotBefore = t0.Add(time.Second + time.Nanosecond) })
		e.clock.Set(t0.Add(time.Second))
		if err := e.outcome(cut, forged); !errors.Is(err, cookiesession.ErrRevoked) {
			t.Errorf("issued at the end of the replacement + 1s, NotBefore just after: %v, want ErrRevoked", err)
		}
	})
}

// TestExpiryForged: expiry is checked only after authentication, so a
// tampered cookie that has also expired reports ErrInvalid.
func TestExpiryForged(t *testing.T) {
	t.Parallel()
	e := newHarness(t, func(c *cookiesession.Config) { c.Lifetime = time.Hour })
	v := e.saveWith(setter(t, "n", 1))
	e.clock.Advance(2 * time.Hour)
	if err := e.outcome(e.m, v); !errors.Is(err, cookiesession.ErrExpired) {
		t.Fatalf("genuine expired cookie: %v, want ErrExpired", err)
	}
	sealed, err := decodeText(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{format.HeaderSize + format.NonceSize, len(sealed) - 1, format.HeaderSize} {
		forged := append([]byte(nil), sealed...)
		forged[i] ^= 0x01
		err := e.outcome(e.m, format.Encode(forged))
		if !errors.Is(err, cookiesession.ErrInvalid) || errors.Is(err, cookiesession.ErrExpired) {
			t.Errorf("expired cookie with byte %d flipped: %v, want ErrInvalid only", i, err)
		}
	}
}

// TestExpirySubSecondClock: times keep the clock's nanoseconds, so a
// session lives exactly its lifetime; only Max-Age and Expires, which
// browsers take in whole seconds, are rounded, down.
func TestExpirySubSecondClock(t *testing.T) {
	t.Parallel()
	frac := 999 * time.Millisecond
	e := newHarness(t, func(c *cookiesession.Config) { c.Lifetime = time.Hour })
	e.clock.Set(t0.Add(frac))
	s := e.load()
	_ = s.Set("n", 1)
	if got := s.ExpiryDate().Sub(e.now()); got != time.Hour {
		t.Errorf("ExpiryDate - now = %v, want 1h", got)
	}
	c := e.commitOne(s)
	if c.MaxAge != 3600 || !c.Expires.Equal(t0.Add(time.Hour)) {
		t.Errorf("Max-Age %d, Expires %v; want 3600 and %v", c.MaxAge, c.Expires, t0.Add(time.Hour))
	}
	info := e.load(c.Value).Info()
	at := t0.Add(frac)
	if !info.IssuedAt.Equal(at) || !info.SavedAt.Equal(at) || !info.Expires.Equal(at.Add(time.Hour)) {
		t.Errorf("info %+v: want issued and saved at %v, expiring an hour later", info, at)
	}
	boundary(t, e, e.m, c.Value, at.Add(time.Hour), cookiesession.ErrExpired)

	// A fixed deadline keeps its fraction.
	e.clock.Set(at)
	v := e.saveWith(func(s *cookiesession.Session) {
		s.SetExpiry(cookiesession.ExpiresAt(t0.Add(10*time.Second + frac)))
	})
	if got := e.load(v).Info().Expires; !got.Equal(t0.Add(10*time.Second + frac)) {
		t.Errorf("ExpiresAt(10.999s) sealed %v, want 10.999s", got)
	}
	// So does an idle window.
	v = e.saveWith(func(s *cookiesession.Session) { s.SetExpiry(cookiesession.IdleFor(2*time.Second + frac)) })
	if got := e.load(v).Info().Expires; !got.Equal(at.Add(2*time.Second + frac)) {
		t.Errorf("IdleFor(2.999s) sealed %v, want 2.999s after the save", got)
	}
}

func TestExpiryRenewAfter(t *testing.T) {
	t.Parallel()
	e := newHarness(t, func(c *cookiesession.Config) {
		c.Lifetime = 30 * time.Minute
		c.RenewAfter = 10 * time.Minute
	})
	v := e.saveWith(setter(t, "n", 1))
	id := e.load(v).ID()

	request := func(at time.Duration, touch bool) *cookiesession.Session {
		e.clock.Set(t0.Add(at))
		s := e.load(v)
		if touch {
			getInt(t, s, "n")
		}
		return s
	}
	for _, at := range []time.Duration{time.Minute, 10*time.Minute - time.Second} {
		for _, touch := range []bool{false, true} {
			if c := e.commitOne(request(at, touch)); c != nil {
				t.Errorf("request %v after the save (touched %v) sent %v", at, touch, c)
			}
		}
	}
	// At RenewAfter, even untouched: re-sealed with a later deadline.
	c := e.commitOne(request(10*time.Minute, false))
	if c == nil {
		t.Fatal("request at RenewAfter was not renewed")
	}
	if c.MaxAge != 30*60 {
		t.Errorf("renewed Max-Age %d, want 1800", c.MaxAge)
	}
	info := e.load(c.Value).Info()
	if !info.Expires.Equal(t0.Add(40*time.Minute)) || !info.SavedAt.Equal(t0.Add(10*time.Minute)) ||
		!info.IssuedAt.Equal(t0) || info.ID != id {
		t.Errorf("renewed info %+v: want deadline +40m, saved +10m, issued and ID unchanged", info)
	}
	// A 5xx response does not renew.
	e.clock.Set(t0.Add(20 * time.Minute))
	h, err := commitHeader(e.m, e.load(v), 503)
	if err != nil || h.Get("Set-Cookie") != "" {
		t.Errorf("5xx renewed: %v, %v", h, err)
	}
}

func TestExpiryRenewalAbsoluteCap(t *testing.T) {
	t.Parallel()
	e := newHarness(t, func(c *cookiesession.Config) {
		c.Lifetime = 30 * time.Minute
		c.RenewAfter = 10 * time.Minute
		c.AbsoluteLifetime = time.Hour
	})
	v := e.saveWith(setter(t, "n", 1))
	limit := t0.Add(time.Hour)
	for at := 10 * time.Minute; at < time.Hour; at += 10 * time.Minute {
		e.clock.Set(t0.Add(at))
		s := e.load(v)
		c := e.commitOne(s)
		if c == nil {
			t.Fatalf("no renewal at +%v", at)
		}
		v = c.Value
		deadline := e.load(v).Info().Expires
		if deadline.After(limit) {
			t.Errorf("renewal at +%v sealed deadline %v past the cap %v", at, deadline, limit)
		}
		if want := minTime(t0.Add(at+30*time.Minute), limit); !deadline.Equal(want) {
			t.Errorf("renewal at +%v: deadline %v, want %v", at, deadline, want)
		}
		// Max-Age never points past the cap.
		if c.MaxAge < 1 || c.Expires.After(limit) {
			t.Errorf("renewal at +%v: Max-Age %d, Expires %v; want within the cap", at, c.MaxAge, c.Expires)
		}
	}
	e.clock.Set(limit)
	s := e.load(v)
	if s.Len() != 0 {
		t.Error("session opened past its absolute cap")
	}
	if c := e.commitOne(s); c == nil || c.Value != "" {
		t.Errorf("past the cap: commit = %v, want the deletion cookie", c)
	}
}

// TestExpiryLifetimeChange: the current Lifetime may shorten live sessions;
// a longer one never extends the deadline sealed into them.
func TestExpiryLifetimeChange(t *testing.T) {
	t.Parallel()
	e := newHarness(t, func(c *cookiesession.Config) { c.Lifetime = 14 * 24 * time.Hour })
	v := e.saveWith(setter(t, "n", 1))

	shorter := e.with(func(c *cookiesession.Config) { c.Lifetime = time.Hour })
	boundary(t, e, shorter, v, t0.Add(time.Hour), cookiesession.ErrExpired)

	longer := e.with(func(c *cookiesession.Config) { c.Lifetime = 30 * 24 * time.Hour })
	boundary(t, e, longer, v, t0.Add(14*24*time.Hour), cookiesession.ErrExpired)

	withCap := e.with(func(c *cookiesession.Config) { c.AbsoluteLifetime = 2 * time.Hour })
	boundary(t, e, withCap, v, t0.Add(2*time.Hour), cookiesession.ErrExpired)
}

// TestExpiryExtremes: rules far outside the years int64 nanoseconds
// cover mean "a very long time" or "already past", never wrap around.
func TestExpiryExtremes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		expiry cookiesession.Expiry
		opens  bool
	}{
		{"IdleFor the longest duration", cookiesession.IdleFor(math.MaxInt64), true},
		{"ExpiresIn the longest duration", cookiesession.ExpiresIn(math.MaxInt64), true},
		{"ExpiresAt year 3000", cookiesession.ExpiresAt(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)), true},
		{"ExpiresAt year 1000", cookiesession.ExpiresAt(time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)), false},
		{"IdleFor the most negative duration", cookiesession.IdleFor(math.MinInt64), false},
		{"ExpiresIn the most negative duration", cookiesession.ExpiresIn(math.MinInt64), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newHarness(t, nil)
			s := e.load()
			_ = s.Set("n", 1)
			s.SetExpiry(tt.expiry)
			c := e.commitOne(s)
			if !tt.opens {
				if c != nil {
					t.Errorf("a session already past its rule was sent: %v", c)
				}
				return
			}
			if c == nil || c.Value == "" {
				t.Fatal("no cookie")
			}
			if c.MaxAge != 400*24*60*60 {
				t.Errorf("Max-Age %d, want the 400-day cap", c.MaxAge)
			}
			e.clock.Advance(100 * 365 * 24 * time.Hour)
			if n, ok := getInt(t, e.load(c.Value), "n"); !ok || n != 1 {
				t.Errorf("a century later: n = %d, %v; want the session", n, ok)
			}
		})
	}
}

func (v *vanishingSource) At(time.Time) *rotation.Keyring {
	if v.gone.Load() {
		return nil
	}
	return v.ring
}

// StaleCookie, derived from Django's behaviour: a cookie at or past its deadline behaves as a
// tampered one (TestTamperedAndRead) but is reported as expired; a
// nanosecond before its deadline it is still valid (TestAgeBoundary).
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

// BrowserCloseCookie, derived from Django's behaviour: BrowserClose, or SEABC with no custom
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

// ShortIdleEnforced, derived from Django's behaviour: an idle window of 300 s gives Max-Age=300,
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

// AbsoluteLifetime, where crumb goes beyond Django: with AbsoluteLifetime 8 h, save-every-request
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

// LongCustomExpiry, where crumb goes beyond Django: an idle window of 30 days outlives SCA on the
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

// Django test_default_expiry: a session with no custom expiry, and
// one set to expire at browser close, both report SCA.
func TestDefaultExpiry(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	if got := s.ExpiryDate().Sub(h.now()); got != sca {
		t.Errorf("ExpiryDate()-now = %v, want %v", got, sca)
	}
	s.SetExpiry(cookiesession.BrowserClose)
	if got := s.ExpiryDate().Sub(h.now()); got != sca {
		t.Errorf("ExpiryDate()-now after SetExpiry(BrowserClose) = %v, want %v", got, sca)
	}
	if got, want := s.ExpiryDate(), h.now().Add(sca); !got.Equal(want) {
		t.Errorf("ExpiryDate() after SetExpiry(BrowserClose) = %v, want %v", got, want)
	}
}

// Django test_custom_expiry_seconds: an idle window of 10 s gives
// the date now+10 s and the age 10 s, and the age stays 10 s whatever the
// time (it counts from the next save).
func TestExpirySeconds(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	m := h.now()
	s.SetExpiry(cookiesession.IdleFor(10 * time.Second))
	if got, want := s.ExpiryDate(), m.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("ExpiryDate() = %v, want %v", got, want)
	}
	if got := s.ExpiryDate().Sub(h.now()); got != 10*time.Second {
		t.Errorf("ExpiryDate()-now = %v, want 10s", got)
	}
	h.clock.Advance(7 * time.Second)
	if got := s.ExpiryDate().Sub(h.now()); got != 10*time.Second {
		t.Errorf("ExpiryDate()-now 7s later = %v, want 10s", got)
	}
	if got, want := s.ExpiryDate(), m.Add(17*time.Second); !got.Equal(want) {
		t.Errorf("ExpiryDate() 7s later = %v, want %v", got, want)
	}
}

// Django test_custom_expiry_timedelta: a deadline "in 10 s" gives
// the date m+10 s and the age 10 s, and the deadline is fixed at the call.
func TestExpiryIn(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	m := h.now()
	s.SetExpiry(cookiesession.ExpiresIn(10 * time.Second))
	if got, want := s.ExpiryDate(), m.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("ExpiryDate() = %v, want %v", got, want)
	}
	if got := s.ExpiryDate().Sub(h.now()); got != 10*time.Second {
		t.Errorf("ExpiryDate()-now = %v, want 10s", got)
	}
	h.clock.Advance(3 * time.Second)
	if got, want := s.ExpiryDate(), m.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("ExpiryDate() 3s later = %v, want %v (fixed)", got, want)
	}
	if got := s.ExpiryDate().Sub(h.now()); got != 7*time.Second {
		t.Errorf("ExpiryDate()-now 3s later = %v, want 7s", got)
	}
}

// Django test_custom_expiry_datetime: a deadline at m+10 s gives
// exactly that date and the age 10 s.
func TestExpiryAt(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	m := h.now()
	s.SetExpiry(cookiesession.ExpiresAt(m.Add(10 * time.Second)))
	if got, want := s.ExpiryDate(), m.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("ExpiryDate() = %v, want %v", got, want)
	}
	if got := s.ExpiryDate().Sub(h.now()); got != 10*time.Second {
		t.Errorf("ExpiryDate()-now = %v, want 10s", got)
	}
	// The deadline survives the cookie at whole-second precision.
	r := h.load(h.save(s))
	if got, want := r.ExpiryDate(), m.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("ExpiryDate() from the cookie = %v, want %v", got, want)
	}
	if got, want := r.Info().Expires, m.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("Info().Expires from the cookie = %v, want %v", got, want)
	}
}

// Django test_custom_expiry_reset: resetting the expiry after an
// idle window brings back SCA; resetting a session with no custom expiry
// does not modify it.
func TestExpiryReset(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	s.SetExpiry(cookiesession.DefaultExpiry)
	s.SetExpiry(cookiesession.IdleFor(10 * time.Second))
	s.SetExpiry(cookiesession.DefaultExpiry)
	if got := s.ExpiryDate().Sub(h.now()); got != sca {
		t.Errorf("ExpiryDate()-now = %v, want %v", got, sca)
	}

	r := h.reload(map[string]any{"k": "v"})
	r.SetExpiry(cookiesession.DefaultExpiry)
	flags(t, r, true, false)

	s = h.load()
	if err := s.Set("k", "v"); err != nil {
		t.Fatal(err)
	}
	s.SetExpiry(cookiesession.IdleFor(10 * time.Second))
	r = h.load(h.save(s))
	r.SetExpiry(cookiesession.DefaultExpiry)
	flags(t, r, true, true)
	if got := r.ExpiryDate().Sub(h.now()); got != sca {
		t.Errorf("ExpiryDate()-now after resetting a sealed idle window = %v, want %v", got, sca)
	}
}

// Django test_get_expire_at_browser_close: with SEABC off, an idle
// window, browser close and a reset give false, true, false; with SEABC on,
// false, true, true; a fixed deadline gives false. crumb shows it where the
// browser sees it: a browser-session cookie has neither Max-Age nor
// Expires.
func TestBrowserClose(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		seabc bool
		want  [4]bool
	}{
		{false, [4]bool{false, true, false, false}},
		{true, [4]bool{false, true, true, false}},
	} {
		h := newManager(t, cookiesession.Config{ExpireAtBrowserClose: tc.seabc})
		for i, e := range []cookiesession.Expiry{
			cookiesession.IdleFor(10 * time.Second), cookiesession.BrowserClose, cookiesession.DefaultExpiry,
			cookiesession.ExpiresIn(time.Hour),
		} {
			s := h.load()
			_ = s.Set("k", "v")
			s.SetExpiry(cookiesession.IdleFor(time.Minute)) // then reset to e
			s.SetExpiry(e)
			line := h.commit(s, http.StatusOK).Get("Set-Cookie")
			_, maxAge := attribute(line, "Max-Age")
			_, expires := attribute(line, "Expires")
			if got := !maxAge && !expires; got != tc.want[i] {
				t.Errorf("SEABC %v, step %d: browser-session cookie = %v (%q), want %v", tc.seabc, i, got, line, tc.want[i])
			}
		}
	}
}

// Django test_actual_expiry (an expected failure in Django,
// ticket #19201): a session whose deadline passed 10 s ago no longer holds
// its data, and one given a past deadline is never sealed.
func TestActualExpiry(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})

	// Saved with a deadline 10 s away, reopened 10 s after it.
	s := h.load()
	if err := s.Set("foo", "bar"); err != nil {
		t.Fatal(err)
	}
	s.SetExpiry(cookiesession.ExpiresIn(10 * time.Second))
	cookie := h.save(s)
	h.clock.Advance(20 * time.Second)
	r := h.load(cookie)
	wantMissing(t, r, "foo")
	wantEmpty(t, r)
	h.wantErrors(cookiesession.ErrExpired)

	// Given a deadline already 10 s in the past, a new session is not
	// sealed, and a carried cookie is deleted.
	for _, e := range []cookiesession.Expiry{
		cookiesession.ExpiresIn(-10 * time.Second),
		cookiesession.ExpiresAt(h.now().Add(-10 * time.Second)),
		cookiesession.IdleFor(-10 * time.Second),
	} {
		s := h.load()
		if err := s.Set("foo", "bar"); err != nil {
			t.Fatal(err)
		}
		s.SetExpiry(e)
		noCookie(t, h.commit(s, http.StatusOK))

		s = h.load(h.seed(map[string]any{"foo": "bar"}))
		s.SetExpiry(e)
		h.wantDeletion(onlyCookie(t, h.commit(s, http.StatusOK)))
	}
	h.wantErrors()
}

// Django's signing test_timestamp_signer and test_max_age_argument,
// at the boundary of Django's database backends, which keep a session
// while expire_date > now: a cookie saved at t is valid a nanosecond
// before t+limit, and expired at t+limit. So opened at t+11 s it is valid
// under a 12 s limit and expired under 11 s and 10 s.
func TestAgeBoundary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		limit time.Duration
		valid bool
	}{
		{10 * time.Second, false},
		{11 * time.Second, false},
		{11*time.Second + time.Nanosecond, true},
		{12 * time.Second, true},
	} {
		for _, idle := range []bool{false, true} {
			cfg := cookiesession.Config{}
			if !idle {
				cfg.Lifetime = tc.limit
			}
			h := newManager(t, cfg)
			s := h.load()
			if err := s.Set("foo", "bar"); err != nil {
				t.Fatal(err)
			}
			if idle {
				s.SetExpiry(cookiesession.IdleFor(tc.limit))
			}
			cookie := h.save(s)
			h.clock.Advance(11 * time.Second)
			r := h.load(cookie)
			if got := r.Has("foo"); got != tc.valid {
				t.Errorf("limit %v (idle form %v), opened 11s after the save: Has(foo) = %v, want %v", tc.limit, idle, got, tc.valid)
			}
			if tc.valid {
				h.wantErrors()
			} else {
				h.wantErrors(cookiesession.ErrExpired)
			}
		}
	}
}

// Django test_set_signed_cookie_max_age_argument: idle windows of
// 100 s and 2 h give Max-Age=100 and Max-Age=7200.
func TestMaxAgeFromDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		idle   time.Duration
		maxAge int
	}{
		{100 * time.Second, 100},
		{2 * time.Hour, 7200},
	} {
		h := newManager(t, cookiesession.Config{})
		resp := h.serve(func(w http.ResponseWriter, r *http.Request) {
			s, _ := cookiesession.FromContext(r.Context())
			if err := s.Set("k", "v"); err != nil {
				t.Error(err)
			}
			s.SetExpiry(cookiesession.IdleFor(tc.idle))
		})
		c := onlyCookie(t, resp.Header)
		if c.MaxAge != tc.maxAge {
			t.Errorf("IdleFor(%v): Max-Age = %d, want %d", tc.idle, c.MaxAge, tc.maxAge)
		}
		if want := h.now().Add(tc.idle); !c.Expires.Equal(want) {
			t.Errorf("IdleFor(%v): Expires = %v, want %v", tc.idle, c.Expires, want)
		}
	}
}
