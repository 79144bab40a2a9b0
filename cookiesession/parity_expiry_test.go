package cookiesession_test

// Django parity: expiry (set_expiry and its getters), ported from
// Django's session tests; each case names the Django test it ports.

import (
	"net/http"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
)

// Case 28, Django test_default_expiry: a session with no custom expiry, and
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

// Case 29, Django test_custom_expiry_seconds: an idle window of 10 s gives
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

// Case 30, Django test_custom_expiry_timedelta: a deadline "in 10 s" gives
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

// Case 31, Django test_custom_expiry_datetime: a deadline at m+10 s gives
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

// Case 32, Django test_custom_expiry_reset: resetting the expiry after an
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

// Case 33, Django test_get_expire_at_browser_close: with SEABC off, an idle
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

// Case 34, Django test_actual_expiry (an expected failure in Django,
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

// Case 35, signing's test_timestamp_signer and test_max_age_argument (D4),
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

// Case 36, Django test_set_signed_cookie_max_age_argument: idle windows of
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
