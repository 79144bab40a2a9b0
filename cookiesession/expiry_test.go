package cookiesession_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
)

// Expiry boundaries. A session is valid while now < deadline +
// Config.ClockSkew, at nanosecond resolution, as Django's is while
// expire_date > now: a nanosecond before the deadline it opens, at the
// deadline it does not.

func TestSecExpiryBoundaries(t *testing.T) {
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

// TestSecExpiryAbsoluteAfterSaves saves a session repeatedly: each save
// moves the idle deadline, never past the absolute cap.
func TestSecExpiryAbsoluteAfterSaves(t *testing.T) {
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

func TestSecNotBefore(t *testing.T) {
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

func TestSecClockSkew(t *testing.T) {
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
}

// TestSecForgedExpired: expiry is checked only after authentication, so a
// tampered cookie that has also expired reports ErrInvalid.
func TestSecForgedExpired(t *testing.T) {
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

// TestSecSubSecondClock: times keep the clock's nanoseconds, so a
// session lives exactly its lifetime; only Max-Age and Expires, which
// browsers take in whole seconds, are rounded, down.
func TestSecSubSecondClock(t *testing.T) {
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

func TestSecRenewAfter(t *testing.T) {
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

func TestSecRenewalAbsoluteCap(t *testing.T) {
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

// TestSecLifetimeChange: the current Lifetime may shorten live sessions;
// a longer one never extends the deadline sealed into them.
func TestSecLifetimeChange(t *testing.T) {
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

// TestSecExpiryExtremes: rules far outside the years int64 nanoseconds
// cover mean "a very long time" or "already past", never wrap around.
func TestSecExpiryExtremes(t *testing.T) {
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
