package cookiesession_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/internal/testhook"
	"github.com/crumbhq/crumb/rotation"
)

// Security tests: configuration validation, cookie emission, request
// parsing, lazy opening, CBOR hardening, key rotation, revocation and
// concurrency. Expiry
// boundaries are in expiry_test.go, the middleware in middleware_test.go.

// ---------------------------------------------------------------------------
// Configuration (New)

func TestSecConfigInvalid(t *testing.T) {
	t.Parallel()
	ring := newRing(t, newKey(t))
	longPath := "/" + strings.Repeat("p", 1024)      // 1025 bytes
	longDomain := strings.Repeat("d", 1021) + ".com" // 1025 bytes
	tests := []struct {
		name string
		cfg  cookiesession.Config
	}{
		{"no keys", cookiesession.Config{}},
		{"nil *Keyring", cookiesession.Config{Keys: (*rotation.Keyring)(nil)}},
		{"nil *Holder", cookiesession.Config{Keys: (*rotation.Holder)(nil)}},
		{"relative path", cookiesession.Config{Path: "app"}},
		{"path over 1024 bytes", cookiesession.Config{Path: longPath, Name: "s", InsecureHTTP: true}},
		{"domain over 1024 bytes", cookiesession.Config{Domain: longDomain}},
		{"SameSite None over HTTP", cookiesession.Config{SameSite: http.SameSiteNoneMode, InsecureHTTP: true}},
		{"SameSiteDefaultMode", cookiesession.Config{SameSite: http.SameSiteDefaultMode}},
		{"SameSite out of range", cookiesession.Config{SameSite: http.SameSite(9)}},
		{"Partitioned over HTTP", cookiesession.Config{Partitioned: true, InsecureHTTP: true}},
		{"Lifetime under 1s", cookiesession.Config{Lifetime: 999 * time.Millisecond}},
		{"negative Lifetime", cookiesession.Config{Lifetime: -time.Hour}},
		{"AbsoluteLifetime under 1s", cookiesession.Config{AbsoluteLifetime: 500 * time.Millisecond}},
		{"negative AbsoluteLifetime", cookiesession.Config{AbsoluteLifetime: -time.Hour}},
		{"RenewAfter equal to Lifetime", cookiesession.Config{Lifetime: time.Hour, RenewAfter: time.Hour}},
		{"RenewAfter over Lifetime", cookiesession.Config{Lifetime: time.Hour, RenewAfter: 2 * time.Hour}},
		{"negative RenewAfter", cookiesession.Config{RenewAfter: -time.Second}},
		{"ClockSkew equal to Lifetime", cookiesession.Config{Lifetime: time.Hour, ClockSkew: time.Hour}},
		{"negative ClockSkew", cookiesession.Config{ClockSkew: -time.Second}},
		{"MaxCookieSize 127", cookiesession.Config{MaxCookieSize: 127}},
		{"MaxCookieSize 4097", cookiesession.Config{MaxCookieSize: 4097}},
		{"negative MaxCookieSize", cookiesession.Config{MaxCookieSize: -1}},
		{"__Host- with Domain", cookiesession.Config{Name: "__Host-x", Domain: "example.com"}},
		{"__Host- with Path /a", cookiesession.Config{Name: "__Host-x", Path: "/a"}},
		{"__Host- over HTTP", cookiesession.Config{Name: "__Host-x", InsecureHTTP: true}},
		{"__Secure- over HTTP", cookiesession.Config{Name: "__Secure-x", InsecureHTTP: true}},
		{"__HOST- case variant", cookiesession.Config{Name: "__HOST-x"}},
		{"__secure- case variant", cookiesession.Config{Name: "__secure-x"}},
		{"__SeCuRe- case variant over HTTP", cookiesession.Config{Name: "__SeCuRe-x", InsecureHTTP: true}},
		{"name with a space", cookiesession.Config{Name: "a b"}},
		{"name with a semicolon", cookiesession.Config{Name: "a;b"}},
		{"name with =", cookiesession.Config{Name: "a=b"}},
		{"domain with a space", cookiesession.Config{Domain: "exa mple.com"}},
		{"domain with a semicolon", cookiesession.Config{Domain: "example.com;Path=/x"}},
		{"domain with a port", cookiesession.Config{Domain: "example.com:8080"}},
		{"path with a semicolon", cookiesession.Config{Path: "/a;Domain=evil.example"}},
		{"path with a control byte", cookiesession.Config{Path: "/a\nb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.Keys == nil && tt.name != "no keys" {
				cfg.Keys = ring
			}
			m, err := cookiesession.New(cfg)
			if !errors.Is(err, cookiesession.ErrConfig) {
				t.Fatalf("New(%s) = %v, %v; want an error matching ErrConfig", tt.name, m, err)
			}
			if m != nil {
				t.Fatalf("New(%s) returned a Manager with its error", tt.name)
			}
		})
	}
}

func TestSecConfigValidBoundaries(t *testing.T) {
	t.Parallel()
	ring := newRing(t, newKey(t))
	tests := []struct {
		name string
		cfg  cookiesession.Config
	}{
		{"Lifetime 1s", cookiesession.Config{Lifetime: time.Second}},
		{"AbsoluteLifetime 1s", cookiesession.Config{AbsoluteLifetime: time.Second}},
		{"RenewAfter just under Lifetime", cookiesession.Config{Lifetime: time.Hour, RenewAfter: time.Hour - time.Second}},
		{"ClockSkew just under Lifetime", cookiesession.Config{Lifetime: time.Hour, ClockSkew: time.Hour - time.Second}},
		{"MaxCookieSize 256", cookiesession.Config{MaxCookieSize: 256}},
		{"MaxCookieSize 4096", cookiesession.Config{MaxCookieSize: 4096}},
		{"Path of 1024 bytes", cookiesession.Config{Path: "/" + strings.Repeat("p", 1023)}},
		{"SameSite None", cookiesession.Config{SameSite: http.SameSiteNoneMode, Partitioned: true}},
		{"SameSite Strict over HTTP", cookiesession.Config{SameSite: http.SameSiteStrictMode, InsecureHTTP: true}},
		{"explicit __Host- name", cookiesession.Config{Name: "__Host-sid"}},
		{"explicit __Secure- name with Domain", cookiesession.Config{Name: "__Secure-sid", Domain: "example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Keys = ring
			if _, err := cookiesession.New(cfg); err != nil {
				t.Fatalf("New(%s) = %v, want success", tt.name, err)
			}
		})
	}
}

// TestSecConfigMaxCookieSizeFloor: New refuses a MaxCookieSize below the
// smallest cookie a save can send, which would make every save fail, and
// accepts one at which a session with a little data is sent. The floor
// depends on the attributes: a long Domain raises it.
func TestSecConfigMaxCookieSizeFloor(t *testing.T) {
	t.Parallel()
	ring := newRing(t, newKey(t))
	for name, cfg := range map[string]cookiesession.Config{
		"default":                 {},
		"long Domain":             {Name: "__Secure-s", Domain: strings.Repeat("d", 60) + "." + strings.Repeat("e", 60) + ".example.com"},
		"BrowserClose by default": {ExpireAtBrowserClose: true},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Keys = ring
			accepts := func(n int) bool {
				c := cfg
				c.MaxCookieSize = n
				_, err := cookiesession.New(c)
				if err != nil && !errors.Is(err, cookiesession.ErrConfig) {
					t.Fatalf("New(MaxCookieSize %d) = %v", n, err)
				}
				return err == nil
			}
			floor := sort.Search(cookiesession.MaxCookieSize+1, accepts)
			if floor > cookiesession.MaxCookieSize || accepts(floor-1) {
				t.Fatalf("no floor: New accepts MaxCookieSize %d (floor %d)", floor-1, floor)
			}
			// The smallest real session: one key holding one byte, as a
			// browser-session cookie (no Max-Age nor Expires).
			c := cfg
			c.MaxCookieSize = cookiesession.MaxCookieSize
			m, err := cookiesession.New(c)
			if err != nil {
				t.Fatal(err)
			}
			s := loadWith(m)
			_ = s.Set("k", "v")
			s.SetExpiry(cookiesession.BrowserClose)
			line := commitOne(t, m, s).String()
			if len(line) < floor {
				t.Errorf("floor %d refuses a limit a real session fits (%d bytes)", floor, len(line))
			}
			if len(line)-floor > 24 {
				t.Errorf("floor %d is far below the smallest real session (%d bytes): it refuses too little", floor, len(line))
			}
		})
	}
}

func TestSecConfigDefaultNames(t *testing.T) {
	t.Parallel()
	ring := newRing(t, newKey(t))
	tests := []struct {
		cfg  cookiesession.Config
		want string
	}{
		{cookiesession.Config{}, "__Host-sessionid"},
		{cookiesession.Config{Domain: "example.com"}, "__Secure-sessionid"},
		{cookiesession.Config{Path: "/app"}, "__Secure-sessionid"},
		{cookiesession.Config{InsecureHTTP: true}, "sessionid"},
		{cookiesession.Config{Name: "sid"}, "__Host-sid"},
		{cookiesession.Config{Name: "__Secure-sid"}, "__Secure-sid"},
	}
	for _, tt := range tests {
		cfg := tt.cfg
		cfg.Keys = ring
		m, err := cookiesession.New(cfg)
		if err != nil {
			t.Fatalf("New(%+v): %v", tt.cfg, err)
		}
		if got := m.Name(); got != tt.want {
			t.Errorf("New(%+v).Name() = %q, want %q", tt.cfg, got, tt.want)
		}
	}
}

// ---------------------------------------------------------------------------
// Cookie emission

func TestSecEmitDefaults(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	s := e.load()
	if err := s.Set("n", 1); err != nil {
		t.Fatal(err)
	}
	h, err := commitHeader(e.m, s, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	lines := h.Values("Set-Cookie")
	if len(lines) != 1 {
		t.Fatalf("Set-Cookie = %q, want one line", lines)
	}
	cookies := checkSetCookies(t, e.m, h)
	c := cookies[0]
	if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" ||
		c.SameSite != http.SameSiteLaxMode || c.Partitioned {
		t.Errorf("default cookie = %q: want __Host-, Secure, HttpOnly, Path=/, no Domain, SameSite=Lax, not Partitioned", lines[0])
	}
	if !strings.Contains(lines[0], "; SameSite=Lax") {
		t.Errorf("default cookie %q does not state SameSite explicitly", lines[0])
	}
	want := int((14 * 24 * time.Hour) / time.Second)
	if c.MaxAge != want {
		t.Errorf("Max-Age = %d, want Lifetime %d", c.MaxAge, want)
	}
	if !c.Expires.Equal(t0.Add(time.Duration(c.MaxAge) * time.Second)) {
		t.Errorf("Expires = %v, want now + Max-Age = %v", c.Expires, t0.Add(time.Duration(c.MaxAge)*time.Second))
	}
}

func TestSecEmitPartitioned(t *testing.T) {
	t.Parallel()
	e := newHarness(t, func(c *cookiesession.Config) {
		c.SameSite = http.SameSiteNoneMode
		c.Partitioned = true
	})
	s := e.load()
	_ = s.Set("n", 1)
	h, err := commitHeader(e.m, s, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	c := checkSetCookies(t, e.m, h)[0]
	if !c.Partitioned || c.SameSite != http.SameSiteNoneMode || !c.Secure {
		t.Errorf("cookie %q: want Secure, SameSite=None, Partitioned", h.Get("Set-Cookie"))
	}
}

// TestSecEmitDeletion checks that the deletion cookie matches the session
// cookie attribute for attribute, so that the browser deletes that cookie.
func TestSecEmitDeletion(t *testing.T) {
	t.Parallel()
	configs := map[string]func(*cookiesession.Config){
		"default": nil,
		"domain, path, partitioned, strict, script access": func(c *cookiesession.Config) {
			c.Domain = "example.com"
			c.Path = "/app"
			c.SameSite = http.SameSiteNoneMode
			c.Partitioned = true
			c.InsecureScriptAccess = true
		},
		"insecure HTTP, strict": func(c *cookiesession.Config) {
			c.InsecureHTTP = true
			c.SameSite = http.SameSiteStrictMode
		},
	}
	for name, mod := range configs {
		t.Run(name, func(t *testing.T) {
			e := newHarness(t, mod)
			v := e.saveWith(setter(t, "n", 1))
			set := e.load()
			_ = set.Set("n", 1)
			live := e.commitOne(set)

			s := e.load(v)
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			del := e.commitOne(s)
			if del == nil {
				t.Fatal("Flush sent no deletion cookie")
			}
			if del.Value != "" || del.MaxAge != -1 || !del.Expires.Equal(time.Unix(0, 0)) {
				t.Errorf("deletion = %+v: want empty value, Max-Age=0 (MaxAge -1), Expires at the epoch", del)
			}
			if del.Name != live.Name || del.Path != live.Path || del.Domain != live.Domain || del.Secure != live.Secure ||
				del.HttpOnly != live.HttpOnly || del.SameSite != live.SameSite || del.Partitioned != live.Partitioned {
				t.Errorf("deletion attributes %+v differ from the session cookie's %+v", del, live)
			}
		})
	}
}

func TestSecEmitMaxAgeCaps(t *testing.T) {
	t.Parallel()
	t.Run("400 days", func(t *testing.T) {
		e := newHarness(t, func(c *cookiesession.Config) { c.Lifetime = 500 * 24 * time.Hour })
		s := e.load()
		_ = s.Set("n", 1)
		c := e.commitOne(s)
		if c.MaxAge != 400*24*60*60 {
			t.Errorf("Max-Age = %d with Lifetime 500 days, want 400 days (%d)", c.MaxAge, 400*24*60*60)
		}
		if !c.Expires.Equal(t0.Add(400 * 24 * time.Hour)) {
			t.Errorf("Expires = %v, want now + 400 days", c.Expires)
		}
		// The sealed deadline is still the configured one.
		if got := s.Info().Expires; !got.Equal(t0.Add(500 * 24 * time.Hour)) {
			t.Errorf("sealed deadline = %v, want now + 500 days", got)
		}
	})
	t.Run("fixed deadline", func(t *testing.T) {
		e := newHarness(t, nil)
		s := e.load()
		s.SetExpiry(cookiesession.ExpiresAt(t0.Add(time.Hour)))
		c := e.commitOne(s)
		if c.MaxAge != 3600 {
			t.Errorf("Max-Age = %d with a deadline in 1h, want 3600", c.MaxAge)
		}
	})
	t.Run("absolute cap", func(t *testing.T) {
		e := newHarness(t, func(c *cookiesession.Config) { c.AbsoluteLifetime = 2 * time.Hour })
		v := e.saveWith(setter(t, "n", 1))
		e.clock.Advance(90 * time.Minute)
		s := e.load(v)
		_ = s.Set("n", 2)
		c := e.commitOne(s)
		if c.MaxAge != 30*60 {
			t.Errorf("Max-Age = %d, 90m into a 2h absolute lifetime; want 1800", c.MaxAge)
		}
	})
}

// TestSecCommitMerges: Commit adds its fields to the header it is given,
// keeping what is there.
func TestSecCommitMerges(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	var s *cookiesession.Session
	tests := []struct {
		name           string
		dst            http.Header
		wantVary, want []string
	}{
		{"empty", http.Header{}, []string{"Cookie"}, []string{"no-store"}},
		{"other Vary", http.Header{"Vary": {"Accept-Encoding"}}, []string{"Accept-Encoding", "Cookie"}, []string{"no-store"}},
		{"Vary list with cookie", http.Header{"Vary": {"Accept-Encoding, cookie"}}, []string{"Accept-Encoding, cookie"}, []string{"no-store"}},
		{"lowercase cookie", http.Header{"Vary": {"cookie"}}, []string{"cookie"}, []string{"no-store"}},
		{"Vary *", http.Header{"Vary": {"*"}}, []string{"*"}, []string{"no-store"}},
		{"other Cache-Control", http.Header{"Cache-Control": {"private, max-age=60"}}, []string{"Cookie"}, []string{"private, max-age=60", "no-store"}},
		{"existing No-Store", http.Header{"Cache-Control": {"No-Store"}}, []string{"Cookie"}, []string{"No-Store"}},
		{"no-store in a list", http.Header{"Cache-Control": {"private, no-store"}}, []string{"Cookie"}, []string{"private, no-store"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Two sessions (two cookies, say) committed into one header
			// add one Vary and one no-store.
			dst := tt.dst.Clone()
			for range 2 {
				s := e.load()
				_ = s.Set("n", 1)
				if err := e.m.Commit(s, http.StatusOK, dst); err != nil {
					t.Fatal(err)
				}
			}
			if got := dst.Values("Vary"); !slices.Equal(got, tt.wantVary) {
				t.Errorf("Vary = %q, want %q", got, tt.wantVary)
			}
			if got := dst.Values("Cache-Control"); !slices.Equal(got, tt.want) {
				t.Errorf("Cache-Control = %q, want %q", got, tt.want)
			}
			if got := dst.Values("Set-Cookie"); len(got) != 2 {
				t.Errorf("Set-Cookie = %q after two commits, want two cookies", got)
			}
		})
	}

	// An untouched session adds nothing at all, and a second Commit of a
	// session adds nothing either.
	dst := http.Header{}
	if err := e.m.Commit(e.load(), http.StatusOK, dst); err != nil || len(dst) != 0 {
		t.Errorf("Commit of an untouched session added %v (%v), want nothing", dst, err)
	}
	s = e.load()
	_ = s.Set("n", 1)
	_ = e.m.Commit(s, http.StatusOK, http.Header{})
	if err := e.m.Commit(s, http.StatusOK, dst); err != nil || len(dst) != 0 {
		t.Errorf("a second Commit added %v (%v), want nothing", dst, err)
	}
}

// secTooLarge commits s and checks that it was refused as too large, with
// no Set-Cookie.
func secTooLarge(t *testing.T, m *cookiesession.Manager, s *cookiesession.Session) *cookiesession.TooLargeError {
	t.Helper()
	h, err := commitHeader(m, s, http.StatusOK)
	var tl *cookiesession.TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, cookiesession.ErrTooLarge) {
		t.Fatalf("Commit of an oversize session = %v, want a *TooLargeError", err)
	}
	if tl.Size <= tl.Limit {
		t.Errorf("TooLargeError{Size: %d, Limit: %d}: want Size > Limit", tl.Size, tl.Limit)
	}
	if got := h.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("oversize session sent Set-Cookie %q", got)
	}
	return tl
}

func TestSecOversize(t *testing.T) {
	t.Parallel()
	configs := map[string]func(*cookiesession.Config){
		"default": nil,
		"long Domain and Path": func(c *cookiesession.Config) {
			c.Domain = strings.Repeat("d", 60) + "." + strings.Repeat("e", 60) + "." + strings.Repeat("f", 60) + ".example.com"
			c.Path = "/" + strings.Repeat("p", 1023)
		},
		"MaxCookieSize 1000": func(c *cookiesession.Config) { c.MaxCookieSize = 1000 },
		"MaxCookieSize 256":  func(c *cookiesession.Config) { c.MaxCookieSize = 256 },
	}
	for name, mod := range configs {
		t.Run(name, func(t *testing.T) {
			e := newHarness(t, mod)
			limit := e.cfg.MaxCookieSize
			if limit == 0 {
				limit = cookiesession.MaxCookieSize
			}

			// A value far too large.
			s := e.load()
			if err := s.Set("v", strings.Repeat("x", 5000)); err != nil {
				t.Fatal(err)
			}
			secTooLarge(t, e.m, s)

			// Grow a value byte by byte: the last line accepted fits the
			// limit, the first refused is over it, and the limit is used
			// up to within a few bytes.
			lastOK := -1
			for n := 0; ; n++ {
				s := e.load()
				if err := s.Set("v", strings.Repeat("x", n)); err != nil {
					t.Fatal(err)
				}
				h, err := commitHeader(e.m, s, http.StatusOK)
				if err != nil {
					var tl *cookiesession.TooLargeError
					if !errors.As(err, &tl) {
						t.Fatalf("value of %d bytes: Commit = %v, want a *TooLargeError", n, err)
					}
					if tl.Size <= limit || tl.Size <= tl.Limit {
						t.Errorf("value of %d bytes refused with %+v, within the limit %d", n, tl, limit)
					}
					if got := h.Values("Set-Cookie"); len(got) != 0 {
						t.Errorf("refused session sent Set-Cookie %q", got)
					}
					break
				}
				line := h.Get("Set-Cookie")
				checkSetCookies(t, e.m, h)
				if len(line) > limit {
					t.Fatalf("value of %d bytes sent a %d-byte Set-Cookie, over the limit %d", n, len(line), limit)
				}
				lastOK = len(line)
			}
			if lastOK < 0 {
				// The limit leaves no room even for an empty value (a
				// 128-byte limit with a __Host- name and Expires): still an
				// error, never a dropped cookie.
				return
			}
			if lastOK < limit-4 {
				t.Errorf("last accepted Set-Cookie is %d bytes, more than 4 under the limit %d", lastOK, limit)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Request parsing

// TestSecDuplicateCookies pins the rule for several cookies of the session's
// name: the first of at most four candidates, in header order, that opens
// wins; the others are reported; a fifth and later are never looked at.
func TestSecDuplicateCookies(t *testing.T) {
	e := newHarness(t, nil)
	good := e.saveWith(setter(t, "n", 1))
	other := e.saveWith(setter(t, "n", 2))
	foreign := foreignCookie(t, e)
	e.errs.take()

	t.Run("first that opens wins", func(t *testing.T) {
		s := e.load("junk", foreign, good, other)
		if n, ok := getInt(t, s, "n"); !ok || n != 1 {
			t.Errorf("n = %d, %v; want 1 from the third candidate", n, ok)
		}
		errs := e.errs.take()
		if len(errs) != 2 || crypto.ReasonOf(errs[0]) != crypto.ReasonMalformed || crypto.ReasonOf(errs[1]) != crypto.ReasonUnauthentic {
			t.Errorf("reported %v, want a malformed and an unauthentic candidate", errs)
		}
		if c := e.commitOne(s); c != nil {
			t.Errorf("unmodified session sent %v", c)
		}
	})
	t.Run("order decides", func(t *testing.T) {
		s := e.load(other, good)
		if n, _ := getInt(t, s, "n"); n != 2 {
			t.Errorf("n = %d, want 2 from the first candidate", n)
		}
	})
	t.Run("fifth is ignored", func(t *testing.T) {
		before := testhook.Opens(e.key)
		s := e.load(foreign, foreign, foreign, foreign, good)
		if s.Len() != 0 {
			t.Errorf("a valid cookie in fifth position opened a session")
		}
		if d := testhook.Opens(e.key) - before; d != 4 {
			t.Errorf("AEAD opens = %d, want 4", d)
		}
		if errs := e.errs.take(); len(errs) != 4 {
			t.Errorf("reported %d errors, want 4", len(errs))
		}
		// The request carried the session cookie, which did not give a
		// session: the response deletes it.
		if c := e.commitOne(s); c == nil || c.Value != "" {
			t.Errorf("commit = %v, want the deletion cookie", c)
		}
	})
}

func TestSecSkippedAndVariantCookies(t *testing.T) {
	e := newHarness(t, nil)
	good := e.saveWith(setter(t, "n", 1))
	tests := []struct {
		name, header string
	}{
		{"backslash", e.m.Name() + "=" + good + `\`},
		{"inner quote", e.m.Name() + "=" + good[:10] + `"` + good[10:]},
		{"non-ASCII", e.m.Name() + "=" + good + "é"},
		{"DEL", e.m.Name() + "=" + good + "\x7f"},
		{"__HOST- variant", "__HOST-sessionid=" + good},
		{"__host- variant", "__host-sessionid=" + good},
		{"unprefixed name", "sessionid=" + good},
		{"name with a trailing space inside", e.m.Name() + "x=" + good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.m.Load(context.Background(), tt.header)
			if s.Len() != 0 || !s.IsEmpty() {
				t.Errorf("Load(%q) gave a session", tt.header)
			}
			if errs := e.errs.take(); len(errs) != 0 {
				t.Errorf("Load(%q) reported %v; net/http skips the value, so there is no cookie", tt.header, errs)
			}
			// No cookie was carried, so nothing is deleted either.
			if c := e.commitOne(s); c != nil {
				t.Errorf("commit sent %v", c)
			}
		})
	}

	// net/http strips the quotes of a quoted value: the session opens.
	s := e.m.Load(context.Background(), e.m.Name()+`="`+good+`"`)
	if n, ok := getInt(t, s, "n"); !ok || n != 1 {
		t.Errorf("quoted cookie: n = %d, %v; want 1", n, ok)
	}
}

func TestSecManyCookies(t *testing.T) {
	e := newHarness(t, nil)
	good := e.saveWith(setter(t, "n", 1))
	foreign := foreignCookie(t, e)
	junk := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "j%d=x; ", i)
		}
		return b.String()
	}

	// Over net/http's limit of 3000 cookies, the request has no cookies at
	// all (CVE-2025-58186): no session, nothing reported, nothing opened.
	before := testhook.Opens(e.key)
	s := e.m.Load(context.Background(), junk(3000)+cookieHeader(e.m, good))
	if s.Len() != 0 {
		t.Errorf("3001 cookies: got a session")
	}
	if c := e.commitOne(s); c != nil {
		t.Errorf("3001 cookies: commit sent %v", c)
	}
	if d := testhook.Opens(e.key) - before; d != 0 {
		t.Errorf("3001 cookies: %d AEAD opens, want 0", d)
	}
	// Just under the limit, the session is found among the junk.
	s = e.m.Load(context.Background(), junk(2990)+cookieHeader(e.m, good))
	if n, ok := getInt(t, s, "n"); !ok || n != 1 {
		t.Errorf("2991 cookies: n = %d, %v; want 1", n, ok)
	}

	// 100 copies of a cookie with the right key ID: four opens at most.
	dup := strings.TrimSuffix(strings.Repeat(cookieHeader(e.m, foreign)+"; ", 100), "; ")
	before = testhook.Opens(e.key)
	s = e.m.Load(context.Background(), dup)
	if s.Len() != 0 {
		t.Errorf("100 duplicates: got a session")
	}
	if d := testhook.Opens(e.key) - before; d > 4 {
		t.Errorf("100 duplicate session cookies cost %d AEAD opens, want at most 4", d)
	}
	if errs := e.errs.take(); len(errs) != 4 {
		t.Errorf("100 duplicates: %d reports, want 4", len(errs))
	}
	// 100 copies of a valid cookie: one open.
	before = testhook.Opens(e.key)
	s = e.m.Load(context.Background(), strings.Repeat(cookieHeader(e.m, good)+"; ", 100))
	if n, _ := getInt(t, s, "n"); n != 1 || testhook.Opens(e.key)-before != 1 {
		t.Errorf("100 valid duplicates: n = %d after %d opens, want 1 after 1", n, testhook.Opens(e.key)-before)
	}
}

func TestSecLoadHeaderForms(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	good := e.saveWith(setter(t, "n", 1))
	tests := []struct {
		name    string
		headers []string
	}{
		{"one header", []string{"a=1; " + cookieHeader(e.m, good) + "; b=2"}},
		{"HTTP/2 split headers", []string{"a=1; b=2", cookieHeader(e.m, good) + "; c=3"}},
		{"API Gateway cookies list", []string{"a=1", "b=2", cookieHeader(e.m, good), "c=3"}},
	}
	for _, tt := range tests {
		s := e.m.Load(context.Background(), tt.headers...)
		if n, ok := getInt(t, s, "n"); !ok || n != 1 {
			t.Errorf("%s: n = %d, %v; want 1", tt.name, n, ok)
		}
	}
}

// ---------------------------------------------------------------------------
// Lazy and bounded

func TestSecLazyOpen(t *testing.T) {
	e := newHarness(t, nil)
	good := e.saveWith(setter(t, "n", 1))
	serve := func(cookie string, h http.HandlerFunc) *http.Response {
		r, _ := http.NewRequest("GET", "https://example.com/", nil)
		r.Header.Set("Cookie", cookieHeader(e.m, cookie))
		w := httptest.NewRecorder()
		e.m.Handler(h).ServeHTTP(w, r)
		return w.Result()
	}

	before := testhook.Opens(e.key)
	resp := serve(good, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	if d := testhook.Opens(e.key) - before; d != 0 {
		t.Errorf("untouched session: %d AEAD opens, want 0", d)
	}
	if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("Vary") != "" || resp.Header.Get("Cache-Control") != "" {
		t.Errorf("untouched session: headers %v, want no Set-Cookie, Vary or Cache-Control", resp.Header)
	}

	before = testhook.Opens(e.key)
	resp = serve(good, func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		getInt(t, s, "n")
		getInt(t, s, "n")
		_ = s.Keys()
	})
	if d := testhook.Opens(e.key) - before; d != 1 {
		t.Errorf("touched session: %d AEAD opens, want exactly 1", d)
	}
	if resp.Header.Get("Vary") != "Cookie" || resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("read-only session: headers %v, want Vary: Cookie and no Set-Cookie", resp.Header)
	}

	// A cookie sealed under a key the ring does not hold costs no open.
	stranger := newHarness(t, nil)
	alien := stranger.saveWith(setter(t, "n", 1))
	e.errs.take()
	before = testhook.Opens(e.key)
	serve(alien, func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		if s.Len() != 0 {
			t.Errorf("a cookie under an unknown key opened")
		}
	})
	if d := testhook.Opens(e.key) - before; d != 0 {
		t.Errorf("unknown key ID: %d AEAD opens, want 0", d)
	}
	if errs := e.errs.take(); len(errs) != 1 || crypto.ReasonOf(errs[0]) != crypto.ReasonUnknownKey {
		t.Errorf("unknown key ID reported %v, want one ReasonUnknownKey", errs)
	}
}

func TestSecAllocsGarbageCookie(t *testing.T) {
	e := newHarness(t, func(c *cookiesession.Config) { c.Logger = slog.New(slog.DiscardHandler) })
	garbage := cookieHeader(e.m, strings.Repeat("A", 4096))
	plausibleGarbage := cookieHeader(e.m, secPlausible4096(t, e))
	for name, header := range map[string]string{"alphabet garbage": garbage, "plausible garbage": plausibleGarbage} {
		before := testhook.Opens(e.key)
		allocs := testing.AllocsPerRun(100, func() {
			s := e.m.Load(context.Background(), header)
			_ = s.Len()
			if _, err := commitHeader(e.m, s, http.StatusOK); err != nil {
				t.Fatal(err)
			}
		})
		// Load builds a request and parses one cookie; Commit renders one
		// deletion cookie. Nothing scales with the cookie's size.
		const ceiling = 20
		if allocs > ceiling {
			t.Errorf("%s: Load+Commit allocates %.0f times, want at most %d", name, allocs, ceiling)
		}
		if d := testhook.Opens(e.key) - before; d > 101 {
			t.Errorf("%s: %d AEAD opens over 101 runs", name, d)
		}
	}
}

// secPlausible4096 returns a 4096-character value with a valid header for e's key:
// it reaches the key lookup and the length checks, but is too long for a
// single cookie.
func secPlausible4096(t *testing.T, e *harness) string {
	t.Helper()
	v := e.saveWith(setter(t, "n", 1))
	return v[:format.HeaderTextLen] + strings.Repeat("A", 4096-format.HeaderTextLen)
}

// ---------------------------------------------------------------------------
// CBOR hardening

// Minimal CBOR writing, to build payloads crumb itself would never seal.

func TestSecHostilePayloads(t *testing.T) {
	e := newHarness(t, nil)
	epoch := uint64(t0.UnixNano())
	indefinite := []byte{0xbf}
	for _, kv := range basePayload() {
		indefinite = append(append(indefinite, kv.k...), kv.v...)
	}
	indefinite = append(indefinite, 0xff)

	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"not a map", cborArray()},
		{"duplicate map key", cborMap(append(basePayload(), field(2, cborUint(epoch)))...)},
		{"duplicate data key", cborMap(withField(7, cborMap(kv{cborText("n"), cborUint(1)}, kv{cborText("n"), cborUint(2)}))...)},
		{"unknown field 99", cborMap(append(basePayload(), field(99, cborUint(0)))...)},
		{"text field key", cborMap(append(basePayload(), kv{cborText("1"), cborBytes(payloadID)})...)},
		{"indefinite-length map", indefinite},
		{"indefinite-length data map", cborMap(withField(7, []byte{0xbf, 0x61, 'n', 0x01, 0xff})...)},
		{"indefinite-length text", cborMap(withField(6, []byte{0x7f, 0x61, 'a', 0xff})...)},
		{"indefinite-length value", cborMap(withField(7, dataWith([]byte{0x9f, 0x01, 0xff}))...)},
		{"tag 55799 wrapping the payload", append([]byte{0xd9, 0xd9, 0xf7}, cborMap(basePayload()...)...)},
		{"bignum tag in data", cborMap(withField(7, dataWith([]byte{0xc2, 0x41, 0x01}))...)},
		{"epoch tag in data", cborMap(withField(7, dataWith(append([]byte{0xc1}, cborUint(epoch)...)))...)},
		{"tag on a time field", cborMap(withField(2, append([]byte{0xc1}, cborUint(epoch)...))...)},
		{"nesting past the limit", cborMap(withField(7, dataWith(nest(7)))...)},
		{"nesting past the limit in flashes", cborMap(withField(9, cborArray(nest(7)))...)},
		{"NaN half", cborMap(withField(7, dataWith([]byte{0xf9, 0x7e, 0x00}))...)},
		{"NaN double with payload", cborMap(withField(7, dataWith([]byte{0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1}))...)},
		{"+Inf", cborMap(withField(7, dataWith([]byte{0xf9, 0x7c, 0x00}))...)},
		{"-Inf single", cborMap(withField(7, dataWith([]byte{0xfa, 0xff, 0x80, 0x00, 0x00}))...)},
		{"trailing byte", append(cborMap(basePayload()...), 0x00)},
		{"trailing payload", append(cborMap(basePayload()...), cborMap(basePayload()...)...)},
		{"invalid UTF-8 subject", cborMap(withField(6, []byte{0x62, 'a', 0xff})...)},
		{"invalid UTF-8 data key", cborMap(withField(7, cborMap(kv{[]byte{0x61, 0xff}, cborUint(1)}))...)},
		{"truncated", cborMap(basePayload()...)[:20]},
		{"ID of 15 bytes", cborMap(withField(1, cborBytes(payloadID[:15]))...)},
		{"ID of 17 bytes", cborMap(withField(1, cborBytes(append(slices.Clone(payloadID), 'x')))...)},
		{"no ID", cborMap(withField(1, nil)...)},
		{"ID as text", cborMap(withField(1, cborText(string(payloadID)))...)},
		{"IssuedAt after SavedAt", cborMap(withField(2, cborUint(epoch+1))...)},
		{"SavedAt after Deadline", cborMap(withField(3, cborUint(epoch+hourNS+1))...)},
		{"SavedAt at Deadline", cborMap(withField(3, cborUint(epoch+hourNS))...)},
		{"negative time", cborMap(withField(2, []byte{0x20})...)},
		{"time as text", cborMap(withField(2, cborText("2026-03-01T12:00:00Z"))...)},
		{"time overflowing int64", cborMap(withField(2, cborUint(math.MaxUint64))...)},
		{"time as float", cborMap(withField(2, []byte{0xfb, 0x41, 0xda, 0, 0, 0, 0, 0, 0})...)},
		{"expiry kind 0", cborMap(withField(5, cborArray(cborUint(0), cborUint(0)))...)},
		{"expiry kind 4 (ExpiresIn, never on the wire)", cborMap(withField(5, cborArray(cborUint(4), cborUint(60)))...)},
		{"expiry kind 9", cborMap(withField(5, cborArray(cborUint(9), cborUint(0)))...)},
		{"expiry kind 256", cborMap(withField(5, cborArray(cborUint(256), cborUint(0)))...)},
		{"browser-close expiry with a value", cborMap(withField(5, cborArray(cborUint(1), cborUint(5)))...)},
		{"expiry with three elements", cborMap(withField(5, cborArray(cborUint(2), cborUint(60), cborUint(0)))...)},
		{"expiry not an array", cborMap(withField(5, cborUint(2))...)},
		{"huge declared array", cborMap(withField(9, []byte{0x9b, 0x00, 0x00, 0x42, 0xfa, 0x42, 0xfa, 0x42, 0xfa})...)},
		{"huge declared map", cborMap(withField(7, []byte{0xbb, 0x00, 0x00, 0x42, 0xfa, 0x42, 0xfa, 0x42, 0xfa})...)},
		{"ill-formed two-byte simple value", cborMap(withField(7, dataWith([]byte{0xf8, 0x10}))...)},
		{"break outside indefinite", cborMap(withField(7, dataWith([]byte{0xff}))...)},

		// Core deterministic encoding is required at every level, so that
		// every accepted payload has exactly one encoding.
		{"non-minimal integer head in a time", cborMap(withField(2, []byte{0x1b, 0, 0, 0, 0, 0, 0, 0, 1})...)},
		{"non-minimal integer head in a value", cborMap(withField(7, dataWith([]byte{0x18, 0x01}))...)},
		{"non-minimal length head", cborMap(withField(6, []byte{0x78, 0x01, 'a'})...)},
		{"payload keys out of order", cborMap(append([]kv{basePayload()[1], basePayload()[0]}, basePayload()[2:]...)...)},
		{"data keys out of order", cborMap(withField(7, cborMap(kv{cborText("n"), cborUint(1)}, kv{cborText("a"), cborUint(1)}))...)},
		{"value map keys out of order", cborMap(withField(7, dataWith(cborMap(kv{cborText("b"), cborUint(1)}, kv{cborText("a"), cborUint(2)})))...)},
		{"non-shortest float", cborMap(withField(7, dataWith([]byte{0xfa, 0x3f, 0xc0, 0x00, 0x00}))...)},        // 1.5 as single
		{"non-shortest double", cborMap(withField(7, dataWith([]byte{0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}))...)}, // 1.5 as double

		// Values: the subset every level shares.
		{"invalid UTF-8 in a value", cborMap(withField(7, dataWith([]byte{0x62, 'a', 0xff}))...)},
		{"duplicate key in a value", cborMap(withField(7, dataWith(cborMap(kv{cborText("a"), cborUint(1)}, kv{cborText("a"), cborUint(2)})))...)},
		{"duplicate key in a flash", cborMap(withField(9, cborArray(cborMap(kv{cborText("a"), cborUint(1)}, kv{cborText("a"), cborUint(2)})))...)},
		{"duplicate key in the typed value", cborMap(withField(8, cborMap(kv{cborUint(1), cborUint(1)}, kv{cborUint(1), cborUint(2)}))...)},
		{"invalid UTF-8 in the typed value", cborMap(withField(8, []byte{0x62, 'a', 0xff})...)},
		{"integer above int64", cborMap(withField(7, dataWith(cborUint(1<<63)))...)},
		{"integer below int64", cborMap(withField(7, dataWith(append([]byte{0x3b}, 0x80, 0, 0, 0, 0, 0, 0, 0)))...)},
		{"undefined", cborMap(withField(7, dataWith([]byte{0xf7}))...)},
		{"simple value 0", cborMap(withField(7, dataWith([]byte{0xe0}))...)},
		{"simple value 255", cborMap(withField(7, dataWith([]byte{0xf8, 0xff}))...)},
		{"array as map key", cborMap(withField(7, dataWith(cborMap(kv{cborArray(), cborUint(1)})))...)},
		{"map as map key", cborMap(withField(7, dataWith(cborMap(kv{cborMap(), cborUint(1)})))...)},
		{"typed value nesting past the limit", cborMap(withField(8, nest(7))...)},

		// Fields 5 to 9 are absent when empty, never present and empty.
		{"empty subject", cborMap(withField(6, cborText(""))...)},
		{"empty data map", cborMap(withField(7, cborMap())...)},
		{"empty flashes", cborMap(withField(9, cborArray())...)},
		{"idle expiry of zero", cborMap(withField(5, cborArray(cborUint(2), cborUint(0)))...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := sealPayload(t, e.m, e.ring, tt.payload)
			s := e.load(v)
			if n := s.Len(); n != 0 || s.ID() != "" {
				t.Errorf("payload %x opened: %d keys, ID %q", tt.payload, n, s.ID())
			}
			errs := e.errs.take()
			if len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrInvalid) || crypto.ReasonOf(errs[0]) != crypto.ReasonPayload {
				t.Errorf("payload %x reported %v, want one ErrInvalid with ReasonPayload", tt.payload, errs)
			}
			if errs[0].Error() != crypto.ErrInvalid.Error() {
				t.Errorf("error text %q differs from the uniform %q", errs[0], crypto.ErrInvalid)
			}
		})
	}
}

// TestSecAcceptedPayloads checks the other side: the limits of the subset
// are accepted, and the typed value nests as deep as any other value.
func TestSecAcceptedPayloads(t *testing.T) {
	e := newHarness(t, nil)
	tests := []struct {
		name    string
		payload []byte
	}{
		{"control", cborMap(basePayload()...)},
		{"value nesting at the limit", cborMap(withField(7, dataWith(nest(6)))...)},
		{"flash nesting at the limit", cborMap(withField(9, cborArray(nest(6)))...)},
		{"typed value nesting at the limit", cborMap(withField(8, nest(6))...)},
		{"typed value null", cborMap(withField(8, []byte{0xf6})...)},
		{"largest integer", cborMap(withField(7, dataWith(cborUint(1<<63-1)))...)},
		{"smallest integer", cborMap(withField(7, dataWith(append([]byte{0x3b}, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)))...)},
		{"half float", cborMap(withField(7, dataWith([]byte{0xf9, 0x3e, 0x00}))...)},
		{"single float", cborMap(withField(7, dataWith([]byte{0xfa, 0x47, 0x7f, 0xe1, 0x00}))...)},                         // 65505
		{"double float", cborMap(withField(7, dataWith([]byte{0xfb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a}))...)}, // 0.1
		{"int, text and bytes map keys in order", cborMap(withField(7, dataWith(cborMap(
			kv{cborUint(1), cborUint(1)}, kv{cborBytes([]byte("a")), cborUint(2)}, kv{cborText("a"), cborUint(3)})))...)},
		{"subject and expiry", cborMap(append(basePayload()[:4], field(5, cborArray(cborUint(2), cborUint(hourNS))),
			field(6, cborText("ann")), basePayload()[4])...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.load(sealPayload(t, e.m, e.ring, tt.payload))
			if s.ID() == "" {
				t.Fatalf("payload %x rejected: %v", tt.payload, e.errs.take())
			}
			if _, err := s.Items(); err != nil {
				t.Errorf("Items = %v", err)
			}
			if _, err := cookiesession.Data[any](s); err != nil {
				t.Errorf("Data = %v", err)
			}
			if _, err := cookiesession.Flashes[any](s); err != nil {
				t.Errorf("Flashes = %v", err)
			}
		})
	}
}

func TestSecDeterministicEncoding(t *testing.T) {
	// Not parallel: SetGlobalRandom makes crypto/rand (the session ID and
	// the nonce) deterministic for the whole process.
	e := newHarness(t, nil)
	values := map[string]any{
		"a": 1, "bb": "two", "c": []int{3, 4}, "d": map[string]int{"z": 1, "y": 2, "x": 3},
		"e": 1.5, "f": true, "g": []byte{1, 2}, "zz": nil, "B": -7,
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range values {
			if !yield(k) {
				return
			}
		}
	})
	seal := func(order []string, update bool) string {
		cryptotest.SetGlobalRandom(t, 42)
		return e.saveWith(func(s *cookiesession.Session) {
			if update { // in Go's random map order
				for k, v := range values {
					if err := s.Set(k, v); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			for _, k := range order {
				if err := s.Set(k, values[k]); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.SetSubject("alice"); err != nil {
				t.Fatal(err)
			}
			_ = cookiesession.AddFlash(s, "hi")
		})
	}
	first := seal(keys, false)
	reversed := slices.Clone(keys)
	slices.Reverse(reversed)
	if got := seal(reversed, false); got != first {
		t.Errorf("reverse insertion order gave a different cookie")
	}
	for i := range 1000 {
		if got := seal(keys, false); got != first {
			t.Fatalf("run %d gave a different cookie", i)
		}
	}
	// Update ranges over a Go map, in random order; the plaintext is the
	// same every time.
	u := seal(nil, true)
	for i := range 50 {
		if got := seal(nil, true); got != u {
			t.Fatalf("Update run %d gave a different cookie", i)
		}
	}
}

func TestSecSetRejects(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	s := e.load()
	if err := s.Set("keep", 1); err != nil {
		t.Fatal(err)
	}
	deep := any(1)
	for range 7 {
		deep = []any{deep}
	}
	deepMap := any(1)
	for range 7 {
		deepMap = map[string]any{"k": deepMap}
	}
	tests := []struct {
		name  string
		key   string
		value any
	}{
		{"channel", "x", make(chan int)},
		{"func", "x", func() {}},
		{"NaN", "x", math.NaN()},
		{"+Inf", "x", math.Inf(1)},
		{"-Inf", "x", math.Inf(-1)},
		{"float32 NaN", "x", float32(math.NaN())},
		{"NaN in a slice", "x", []float64{1, math.NaN()}},
		{"Inf in a struct", "x", struct{ F float64 }{math.Inf(1)}},
		{"nested too deep", "x", deep},
		{"maps nested too deep", "x", deepMap},
		{"complex", "x", complex(1, 2)},
		{"invalid UTF-8 key", "\xff", 1},
		{"invalid UTF-8 replacing a key", "keep\xff", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Set(tt.key, tt.value); !errors.Is(err, cookiesession.ErrEncode) {
				t.Errorf("Set(%q, %T) = %v, want ErrEncode", tt.key, tt.value, err)
			}
			if keys := s.Keys(); !slices.Equal(keys, []string{"keep"}) {
				t.Errorf("after a refused Set, keys = %q, want [keep]", keys)
			}
		})
	}
	if err := cookiesession.SetData(s, math.NaN()); !errors.Is(err, cookiesession.ErrEncode) {
		t.Errorf("SetData(NaN) = %v, want ErrEncode", err)
	}
	if err := cookiesession.AddFlash(s, make(chan int)); !errors.Is(err, cookiesession.ErrEncode) {
		t.Errorf("AddFlash(chan) = %v, want ErrEncode", err)
	}

	// A value exactly at the nesting limit is stored and reads back.
	atLimit := any(1)
	for range 5 {
		atLimit = []any{atLimit}
	}
	if err := s.Set("deep", atLimit); err != nil {
		t.Errorf("Set of a value nested 6 levels = %v, want success", err)
	}
	v := e.commitOne(s).Value
	got := e.load(v)
	if _, _, err := cookiesession.Get[any](got, "deep"); err != nil {
		t.Errorf("Get of the nested value after a round trip = %v", err)
	}
	if keys := got.Keys(); !slices.Equal(keys, []string{"deep", "keep"}) {
		t.Errorf("round-tripped keys = %q, want [deep keep]", keys)
	}
}

// TestSecInvalidSubject checks that a subject the decoder would refuse is
// never stored: SetSubject refuses it and the session is unchanged.
func TestSecInvalidSubject(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	v := e.saveWith(func(s *cookiesession.Session) {
		if err := s.SetSubject("bob"); err != nil {
			t.Fatal(err)
		}
	})
	s := e.load(v)
	if err := s.SetSubject("bob\xff"); !errors.Is(err, cookiesession.ErrEncode) {
		t.Errorf("SetSubject(invalid UTF-8) = %v, want ErrEncode", err)
	}
	if got := s.Subject(); got != "bob" {
		t.Errorf("Subject after a refused SetSubject = %q, want %q", got, "bob")
	}
	if s.Modified() {
		t.Error("a refused SetSubject marked the session modified")
	}
}

func TestSecGetWrongType(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	v := e.saveWith(func(s *cookiesession.Session) {
		_ = s.Set("int", 7)
		_ = s.Set("str", "seven")
		_ = s.Set("list", []string{"a"})
		_ = s.Set("map", map[string]int{"a": 1})
		_ = s.Set("neg", -1)
		_ = s.Set("big", uint64(math.MaxInt64))
		_ = s.Set("int300", 300)
		_ = cookiesession.SetData(s, "typed")
		_ = cookiesession.AddFlash(s, "flash")
	})
	s := e.load(v)
	type pair struct{ A, B int }
	checks := []struct {
		name string
		get  func() error
	}{
		{"int as string", func() error { _, _, err := cookiesession.Get[string](s, "int"); return err }},
		{"string as int", func() error { _, _, err := cookiesession.Get[int](s, "str"); return err }},
		{"list as map", func() error { _, _, err := cookiesession.Get[map[string]int](s, "list"); return err }},
		{"map as list", func() error { _, _, err := cookiesession.Get[[]int](s, "map"); return err }},
		{"map as struct of ints", func() error { _, _, err := cookiesession.Get[[2]pair](s, "map"); return err }},
		{"negative as uint", func() error { _, _, err := cookiesession.Get[uint](s, "neg"); return err }},
		{"int64 max as int32", func() error { _, _, err := cookiesession.Get[int32](s, "big"); return err }},
		{"300 as int8", func() error { _, _, err := cookiesession.Get[int8](s, "int300"); return err }},
		{"into a channel", func() error { _, _, err := cookiesession.Get[chan int](s, "int"); return err }},
		{"into a func", func() error { _, _, err := cookiesession.Get[func()](s, "str"); return err }},
		{"Pop wrong type", func() error { _, _, err := cookiesession.Pop[bool](s, "str"); return err }},
		{"Data wrong type", func() error { _, err := cookiesession.Data[int](s); return err }},
		{"Flashes wrong type", func() error { _, err := cookiesession.Flashes[int](s); return err }},
	}
	for _, c := range checks {
		if err := c.get(); !errors.Is(err, cookiesession.ErrDecode) {
			t.Errorf("%s: %v, want ErrDecode", c.name, err)
		}
	}
	// Failed reads change nothing.
	if s.Modified() || s.Len() != 7 {
		t.Errorf("failed reads modified the session (Modified %v, Len %d)", s.Modified(), s.Len())
	}
	if f, err := cookiesession.Flashes[string](s); err != nil || !slices.Equal(f, []string{"flash"}) {
		t.Errorf("Flashes after a failed read = %q, %v", f, err)
	}
}

// ---------------------------------------------------------------------------
// Key rotation through sessions

func TestSecRotationReseal(t *testing.T) {
	clock := &fakeClock{now: t0}
	errs := new(errorLog)
	old, primary := newKey(t), newKey(t)
	manager := func(ring *rotation.Keyring) *cookiesession.Manager {
		m, err := cookiesession.New(cookiesession.Config{Keys: ring, Clock: clock.Now, Logger: slog.New(errs), Lifetime: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	mOld := manager(newRing(t, old))
	v := saveWith(t, mOld, setter(t, "n", 1))
	info := loadWith(mOld, v).Info()

	clock.Advance(10 * time.Minute)
	mNew := manager(newRing(t, primary, old))
	s := loadWith(mNew, v)
	if n, ok := getInt(t, s, "n"); !ok || n != 1 {
		t.Fatalf("cookie under a decrypt-only key: n = %d, %v", n, ok)
	}
	c := commitOne(t, mNew, s)
	if c == nil {
		t.Fatal("a session opened with a decrypt-only key was not re-sealed")
	}
	h := keyIDOf(c.Value)
	if h != primary.ID() {
		t.Fatalf("re-sealed under %v (%v), want the primary %v", h, nil, primary.ID())
	}
	if c.MaxAge != 50*60 {
		t.Errorf("re-sealed Max-Age = %d, want the 3000 s left", c.MaxAge)
	}
	if got := loadWith(mNew, c.Value).Info(); got != info {
		t.Errorf("re-sealed session info = %+v, want the original %+v", got, info)
	}
	// Sealed under the primary now: no further re-seal.
	again := loadWith(mNew, c.Value)
	getInt(t, again, "n")
	if c := commitOne(t, mNew, again); c != nil {
		t.Errorf("a session under the primary was re-sealed: %v", c)
	}

	// Whatever order a ring lists its keys in, the primary seals.
	flipped, err := rotation.FromEntries([]rotation.Entry{{Key: old, State: rotation.DecryptOnly}, {Key: primary, State: rotation.Primary}})
	if err != nil {
		t.Fatal(err)
	}
	fresh := saveWith(t, manager(flipped), setter(t, "n", 1))
	if id := keyIDOf(fresh); id != primary.ID() {
		t.Errorf("sealed under %v, want the primary", keyIDOf(fresh))
	}

	// The old key removed: the old cookie gives an empty session.
	errs.take()
	mGone := manager(newRing(t, primary))
	gone := loadWith(mGone, v)
	if gone.Len() != 0 {
		t.Errorf("a cookie under a removed key opened")
	}
	if got := errs.take(); len(got) != 1 || crypto.ReasonOf(got[0]) != crypto.ReasonUnknownKey {
		t.Errorf("removed key reported %v, want ReasonUnknownKey", got)
	}
}

func TestSecRotationHolder(t *testing.T) {
	clock := &fakeClock{now: t0}
	k1, k2 := newKey(t), newKey(t)
	holder := rotation.NewHolder(newRing(t, k1))
	m, err := cookiesession.New(cookiesession.Config{Keys: holder, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	v := saveWith(t, m, setter(t, "n", 1))

	// A swap during a request does not affect it: the ring is read once.
	s := loadWith(m, v)
	holder.Store(newRing(t, k2))
	if n, ok := getInt(t, s, "n"); !ok || n != 1 {
		t.Errorf("swap during the request: n = %d, %v; want the request's ring to open it", n, ok)
	}
	// The next request sees the new ring, which does not hold k1.
	if s := loadWith(m, v); s.Len() != 0 {
		t.Errorf("the swap did not apply to the next request")
	}
	// With k1 back as decrypt-only, the next request re-seals under k2.
	holder.Store(newRing(t, k2, k1))
	s = loadWith(m, v)
	getInt(t, s, "n")
	c := commitOne(t, m, s)
	if id := keyIDOf(c.Value); id != k2.ID() {
		t.Errorf("re-sealed under %v, want %v", keyIDOf(c.Value), k2.ID())
	}
}

func TestSecRotationSchedule(t *testing.T) {
	master := newKey(t)
	sched, err := rotation.NewSchedule(master, rotation.ScheduleConfig{Period: time.Hour, Previous: 1})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: t0.Add(59 * time.Minute)}
	m, err := cookiesession.New(cookiesession.Config{Keys: sched, Clock: clock.Now, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	period := t0.Unix() / 3600
	v := saveWith(t, m, setter(t, "n", 1))
	if id := keyIDOf(v); id != secPeriodKey(t, master, period).ID() {
		t.Fatalf("sealed under %v, want period %d's key", keyIDOf(v), period)
	}

	clock.Advance(2 * time.Minute) // into the next period
	s := loadWith(m, v)
	if n, ok := getInt(t, s, "n"); !ok || n != 1 {
		t.Fatalf("across the boundary: n = %d, %v", n, ok)
	}
	c := commitOne(t, m, s)
	if c == nil {
		t.Fatal("not re-sealed under the new period's key")
	}
	if id := keyIDOf(c.Value); id != secPeriodKey(t, master, period+1).ID() {
		t.Errorf("re-sealed under %v, want period %d's key", keyIDOf(c.Value), period+1)
	}

	clock.Advance(2 * time.Hour) // two periods on: the first key is gone
	if s := loadWith(m, v); s.Len() != 0 {
		t.Errorf("a cookie from two periods back still opens with Previous 1")
	}
}

// secPeriodKey returns the key of period n of a one-hour schedule of
// master, derived as docs/FORMAT.md says.
func secPeriodKey(t *testing.T, master *crypto.Key, n int64) *crypto.Key {
	t.Helper()
	k, err := master.Derive(fmt.Sprintf("rotation/period/3600/%d", n))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// ---------------------------------------------------------------------------
// Revocation

func TestSecDenyListFlush(t *testing.T) {
	deny := new(cookiesession.DenyList)
	e := newHarness(t, func(c *cookiesession.Config) { c.Revoker = deny })
	v := e.saveWith(setter(t, "n", 1))

	s := e.load(v)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if c := e.commitOne(s); c == nil || c.Value != "" {
		t.Fatalf("Flush: commit = %v, want the deletion cookie", c)
	}
	replay := e.load(v)
	if replay.Len() != 0 {
		t.Errorf("replayed cookie after Flush opened")
	}
	if errs := e.errs.take(); len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrRevoked) {
		t.Errorf("replay after Flush reported %v, want ErrRevoked", errs)
	}
}

func TestSecDenyListCycleKey(t *testing.T) {
	deny := new(cookiesession.DenyList)
	e := newHarness(t, func(c *cookiesession.Config) { c.Revoker = deny })
	v := e.saveWith(setter(t, "n", 1))

	s := e.load(v)
	oldID := s.ID()
	e.clock.Advance(time.Minute)
	if err := s.CycleKey(); err != nil {
		t.Fatal(err)
	}
	newID := s.ID()
	if newID == oldID || newID == "" {
		t.Fatalf("CycleKey: ID %q -> %q", oldID, newID)
	}
	v2 := e.commitOne(s).Value

	if replay := e.load(v); replay.Len() != 0 {
		t.Errorf("the pre-CycleKey cookie still opens")
	}
	if errs := e.errs.take(); len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrRevoked) {
		t.Errorf("replay after CycleKey reported %v, want ErrRevoked", errs)
	}
	cur := e.load(v2)
	if n, ok := getInt(t, cur, "n"); !ok || n != 1 || cur.ID() != newID {
		t.Errorf("cycled session: n = %d, %v, ID %q; want 1 under %q", n, ok, cur.ID(), newID)
	}
	if got := cur.Info().IssuedAt; !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("cycled IssuedAt = %v, want the CycleKey time", got)
	}
}

func TestSecDenyListSubject(t *testing.T) {
	deny := new(cookiesession.DenyList)
	e := newHarness(t, func(c *cookiesession.Config) { c.Revoker = deny })
	login := func(subject string) string {
		return e.saveWith(func(s *cookiesession.Session) {
			if err := s.SetSubject(subject); err != nil {
				t.Fatal(err)
			}
		})
	}
	alice := login("alice")
	bob := login("bob")
	e.clock.Advance(10 * time.Second)
	deny.RevokeSubject("alice", e.clock.Now())
	aliceAfter := login("alice")
	e.clock.Advance(time.Second)

	if s := e.load(alice); s.Subject() != "" {
		t.Errorf("alice's session from before the cut-off opened")
	}
	if errs := e.errs.take(); len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrRevoked) {
		t.Errorf("reported %v, want ErrRevoked", errs)
	}
	if s := e.load(aliceAfter); s.Subject() != "alice" {
		t.Errorf("alice's session issued at the cut-off was rejected")
	}
	if s := e.load(bob); s.Subject() != "bob" {
		t.Errorf("bob's session was rejected by alice's cut-off")
	}
}

// TestSecRevokedDuringRequest: a logout in another tab while a request runs
// must not be undone by that request's save.
func TestSecRevokedDuringRequest(t *testing.T) {
	deny := new(cookiesession.DenyList)
	e := newHarness(t, func(c *cookiesession.Config) { c.Revoker = deny })
	v := e.saveWith(setter(t, "n", 1))

	slow := e.load(v)
	if err := slow.Set("n", 2); err != nil { // opens the cookie while still valid
		t.Fatal(err)
	}
	logout := e.load(v)
	_ = logout.Flush()
	e.commitOne(logout)

	h, err := commitHeader(e.m, slow, http.StatusOK)
	if !errors.Is(err, cookiesession.ErrRevoked) {
		t.Errorf("Commit of a session revoked meanwhile = %v, want ErrRevoked", err)
	}
	cookies := checkSetCookies(t, e.m, h)
	if len(cookies) != 1 || cookies[0].Value != "" || cookies[0].MaxAge != -1 {
		t.Errorf("Commit of a revoked session sent %q, want only the deletion cookie", h.Values("Set-Cookie"))
	}
}

func TestSecDenyListPrune(t *testing.T) {
	t.Parallel()
	var deny cookiesession.DenyList
	ctx := context.Background()
	info := cookiesession.Info{ID: "abc", IssuedAt: t0, SavedAt: t0, Expires: t0.Add(time.Hour)}
	if err := deny.Check(ctx, info); err != nil {
		t.Fatalf("Check before Revoke = %v", err)
	}
	until := info.Expires.Add(time.Minute)
	if err := deny.Revoke(ctx, info, until); err != nil {
		t.Fatal(err)
	}
	if err := deny.Check(ctx, info); !errors.Is(err, cookiesession.ErrRevoked) {
		t.Fatalf("Check after Revoke = %v, want ErrDenied", err)
	}
	deny.Prune(until) // still denied at its time
	if err := deny.Check(ctx, info); !errors.Is(err, cookiesession.ErrRevoked) {
		t.Errorf("Prune at the time given to Revoke forgot the ID")
	}
	deny.Prune(until.Add(time.Nanosecond))
	if err := deny.Check(ctx, info); err != nil {
		t.Errorf("Prune after the deadline kept the ID: %v", err)
	}
	// A subject cut-off never matches sessions without a subject.
	deny.RevokeSubject("", t0.Add(time.Hour))
	if err := deny.Check(ctx, info); err != nil {
		t.Errorf("an empty-subject cut-off rejected a session without subject: %v", err)
	}
}

// ---------------------------------------------------------------------------
// Concurrency

func TestSecConcurrentSession(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	v := e.saveWith(setter(t, "n", 1))
	s := e.load(v)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			key := fmt.Sprintf("k%d", g)
			for i := range 100 {
				if err := s.Set(key, i); err != nil {
					t.Error(err)
					return
				}
				if got, ok := getInt(t, s, key); !ok || got != i {
					t.Errorf("goroutine %d: Get = %d, %v; want %d", g, got, ok, i)
				}
				getInt(t, s, "n")
				_ = s.Has("n")
				_ = s.Keys()
				_ = s.Len()
				_, _ = s.Items()
				_ = cookiesession.AddFlash(s, i)
				_, _ = cookiesession.Flashes[int](s)
				_, _, _ = cookiesession.Pop[int](s, "shared")
				_ = s.Set("shared", g)
				_ = s.Info()
				if i%10 == 0 {
					s.Delete(key)
				}
			}
			s.Delete(key)
		})
	}
	wg.Wait()
	c := e.commitOne(s)
	got := e.load(c.Value)
	if keys := got.Keys(); !slices.Equal(keys, []string{"n", "shared"}) {
		t.Errorf("keys after concurrent use = %q, want [n shared]", keys)
	}
}

// ---------------------------------------------------------------------------
// Reporting

// TestSecLogger checks the level of each kind of report, that invalid
// cookies are logged with their reason, and that no cookie value or key
// material reaches the log.
func TestSecLogger(t *testing.T) {
	t.Parallel()
	logs := new(logRecorder)
	deny := new(cookiesession.DenyList)
	e := newHarness(t, func(c *cookiesession.Config) {
		c.Logger = slog.New(logs)
		c.Lifetime = time.Hour
		c.Revoker = deny
	})
	good := e.saveWith(setter(t, "n", 1))
	revoked := e.saveWith(setter(t, "n", 1))
	s := e.load(revoked)
	_ = s.Flush()
	e.commitOne(s)
	logs.take()

	text := func(r slog.Record) string {
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		return b.String()
	}
	check := func(name string, wantLevel slog.Level, wantReason string, load func()) {
		t.Helper()
		// Rejected cookies are summarised at most once a minute.
		e.clock.Advance(time.Minute)
		load()
		all := logs.take()
		recs := atLeast(all, slog.LevelInfo)
		if len(recs) != 1 {
			t.Fatalf("%s: %d log records at Info or above, want 1", name, len(recs))
		}
		if r := recs[0]; r.Level != wantLevel {
			t.Errorf("%s: level %v, want %v", name, r.Level, wantLevel)
		}
		var lines []string
		for _, r := range all {
			lines = append(lines, text(r))
		}
		line := strings.Join(lines, "\n")
		if wantReason != "" && !strings.Contains(line, "reason="+wantReason) {
			t.Errorf("%s: log %q lacks reason %q", name, line, wantReason)
		}
		for _, secret := range []string{good[format.HeaderTextLen:], revoked[format.HeaderTextLen:], e.key.SecretText()} {
			if strings.Contains(line, secret[:16]) {
				t.Errorf("%s: log %q contains a cookie value or key", name, line)
			}
		}
	}
	check("malformed", slog.LevelWarn, crypto.ReasonMalformed.String(), func() { e.load("junk").Len() })
	check("forged", slog.LevelWarn, crypto.ReasonUnauthentic.String(), func() { e.load(foreignCookie(t, e)).Len() })
	check("revoked", slog.LevelWarn, "revoked", func() { e.load(revoked).Len() })
	check("commit", slog.LevelError, "", func() {
		e.serveWith("", func(w http.ResponseWriter, r *http.Request) {
			_ = sessionOf(t, r).Set("big", strings.Repeat("x", 5000))
		})
	})
	e.clock.Advance(2 * time.Hour)
	check("expired", slog.LevelWarn, "expired", func() { e.load(good).Len() })
	e.errs.take()
}

// TestSecLogRejectionsBounded: anyone can send bad cookies at any rate, so
// rejections are logged one by one at Debug level only, and above it as a
// summary at most once a minute, with the count; failures to save are
// never held back.
func TestSecLogRejectionsBounded(t *testing.T) {
	t.Parallel()
	logs := new(logRecorder)
	e := newHarness(t, func(c *cookiesession.Config) { c.Logger = slog.New(logs) })
	for range 100 {
		e.load("junk").Len()
	}
	all := logs.take()
	if recs := atLeast(all, slog.LevelInfo); len(recs) != 1 {
		t.Fatalf("100 rejections in a minute: %d records at Info or above, want 1", len(recs))
	}
	if n := len(all) - 1; n != 100 {
		t.Errorf("%d records at Debug, want one per rejection, 100", n)
	}
	e.clock.Advance(time.Minute - time.Nanosecond)
	e.load("junk").Len()
	if recs := atLeast(logs.take(), slog.LevelInfo); len(recs) != 0 {
		t.Errorf("a rejection within the minute logged %d records at Info or above", len(recs))
	}
	e.clock.Advance(time.Nanosecond)
	e.load("junk").Len()
	recs := atLeast(logs.take(), slog.LevelInfo)
	if len(recs) != 1 || recs[0].Level != slog.LevelWarn {
		t.Fatalf("a rejection a minute later: %d records at Info or above, want one Warn", len(recs))
	}
	var count uint64
	recs[0].Attrs(func(a slog.Attr) bool {
		if a.Key == "count" {
			count = a.Value.Uint64()
		}
		return true
	})
	if count != 101 {
		t.Errorf("summary count = %d, want 101 (every rejection since the last summary)", count)
	}
	for range 3 {
		e.serveWith("", func(w http.ResponseWriter, r *http.Request) {
			_ = sessionOf(t, r).Set("big", strings.Repeat("x", 5000))
		})
	}
	if recs := logs.take(); len(recs) != 3 || recs[0].Level != slog.LevelError {
		t.Errorf("3 failed saves: %d log records, want 3 at Error", len(recs))
	}
	e.errs.take()
}

// TestSecDefaultLogger: with no Logger, failures still reach the
// operator, through slog.Default().
func TestSecDefaultLogger(t *testing.T) {
	// Not parallel: it replaces the process's default logger.
	logs := new(logRecorder)
	prev := slog.Default()
	slog.SetDefault(slog.New(logs))
	t.Cleanup(func() { slog.SetDefault(prev) })

	clock := &fakeClock{now: t0}
	deny := new(cookiesession.DenyList)
	m, err := cookiesession.New(cookiesession.Config{Keys: newRing(t, newKey(t)), Clock: clock.Now, Revoker: deny})
	if err != nil {
		t.Fatal(err)
	}
	v := saveWith(t, m, setter(t, "n", 1))
	serve := func(view http.HandlerFunc) {
		req := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
		req.Header.Set("Cookie", cookieHeader(m, v))
		m.Handler(view).ServeHTTP(httptest.NewRecorder(), req)
	}
	for _, tt := range []struct {
		name string
		view http.HandlerFunc
		want error
	}{
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			_ = sessionOf(t, r).Set("big", strings.Repeat("x", 5000))
		}, cookiesession.ErrTooLarge},
		{"late change", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "body")
			_ = sessionOf(t, r).Set("late", 1)
		}, cookiesession.ErrLate},
		{"revoked during the request", func(w http.ResponseWriter, r *http.Request) {
			s := sessionOf(t, r)
			_ = s.Set("n", 2)
			other := loadWith(m, v)
			_ = other.Flush() // a logout in another tab
		}, cookiesession.ErrRevoked},
	} {
		serve(tt.view)
		recs := logs.take()
		if len(recs) != 1 || recs[0].Level != slog.LevelError {
			t.Errorf("%s: %d records %v, want one at Error level", tt.name, len(recs), recs)
			continue
		}
		found := false
		recs[0].Attrs(func(a slog.Attr) bool {
			if err, ok := a.Value.Any().(error); ok && errors.Is(err, tt.want) {
				found = true
			}
			return true
		})
		if !found {
			t.Errorf("%s: logged %v, want an error matching %v", tt.name, recs[0], tt.want)
		}
	}
}

func TestSecSmallAPIs(t *testing.T) {
	// Not parallel: it counts AEAD opens.
	e := newHarness(t, nil)
	v := e.saveWith(setter(t, "n", 1))

	// MarkModified forces a save of an unchanged session.
	s := e.load(v)
	s.MarkModified()
	if !s.Modified() || e.commitOne(s) == nil {
		t.Errorf("MarkModified did not force a save")
	}
	// Data on a session without a typed value is the zero value.
	if d, err := cookiesession.Data[struct{ A int }](e.load(v)); err != nil || d.A != 0 {
		t.Errorf("Data without a typed value = %+v, %v", d, err)
	}
	// A candidate longer than one cookie can be is junk, unopened.
	before := testhook.Opens(e.key)
	long := v[:format.HeaderTextLen] + strings.Repeat("A", format.MaxChunkLen)
	if s := e.load(long); s.Len() != 0 || testhook.Opens(e.key) != before {
		t.Errorf("an over-long candidate was opened")
	}
	if errs := e.errs.take(); len(errs) != 1 || crypto.ReasonOf(errs[0]) != crypto.ReasonMalformed {
		t.Errorf("over-long candidate reported %v, want ReasonMalformed", errs)
	}
	// TooLargeError describes itself.
	err := error(&cookiesession.TooLargeError{Size: 5000, Limit: 4096})
	if msg := err.Error(); !strings.Contains(msg, "5000") || !strings.Contains(msg, "4096") || !errors.Is(err, cookiesession.ErrTooLarge) {
		t.Errorf("TooLargeError.Error() = %q", msg)
	}
}
