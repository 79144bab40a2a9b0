package cookiesession_test

// Tests of config.go: the settings New refuses, the defaults it
// fills in, and how it checks settings against each other (the key
// schedule, the cookie size).

import (
	"errors"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/rotation"
)

// TestConfigScheduleAgrees: with automatic key rotation, New checks that
// each period's key opens a cookie for as long as the cookie lives, and
// that the schedule allows the clock skew the sessions do; the error names
// the settings to change.
func TestConfigScheduleAgrees(t *testing.T) {
	t.Parallel()
	master := newKey(t)
	schedule := func(period time.Duration, previous int, skew time.Duration) *rotation.Schedule {
		s, err := rotation.NewSchedule(master, rotation.ScheduleConfig{Period: period, Previous: previous, ClockSkew: skew})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name    string
		cfg     cookiesession.Config
		wantErr []string // words the error must contain; nil for success
	}{
		{"covers Lifetime", cookiesession.Config{Keys: schedule(time.Hour, 2, 0), Lifetime: 2 * time.Hour}, nil},
		{"short of Lifetime", cookiesession.Config{Keys: schedule(time.Hour, 1, 0), Lifetime: 2 * time.Hour},
			[]string{"Previous", "Period", "Lifetime"}},
		{"AbsoluteLifetime is what counts", cookiesession.Config{Keys: schedule(time.Hour, 1, 0), Lifetime: 24 * time.Hour, AbsoluteLifetime: time.Hour}, nil},
		{"default Lifetime of two weeks", cookiesession.Config{Keys: schedule(24*time.Hour, 5, 0)}, []string{"Previous"}},
		{"skew within the schedule's", cookiesession.Config{Keys: schedule(time.Hour, 2, time.Minute), Lifetime: time.Hour, ClockSkew: 30 * time.Second}, nil},
		{"skew beyond the schedule's", cookiesession.Config{Keys: schedule(time.Hour, 2, 0), Lifetime: time.Hour, ClockSkew: time.Second},
			[]string{"ClockSkew", "ScheduleConfig"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := cookiesession.New(tt.cfg)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("New = %v, want success", err)
				}
				return
			}
			if !errors.Is(err, cookiesession.ErrConfig) {
				t.Fatalf("New = %v, want ErrConfig", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

// TestConfigPolicy: Manager.Policy gives the rotation timings that match
// the sessions, so that RetireAt never retires a key a live cookie needs.
func TestConfigPolicy(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  cookiesession.Config
		want rotation.Policy
	}{
		{"defaults", cookiesession.Config{}, rotation.Policy{Propagation: time.Hour, MaxLifetime: 14 * 24 * time.Hour}},
		{"Lifetime and skew", cookiesession.Config{Lifetime: 30 * time.Minute, ClockSkew: time.Minute},
			rotation.Policy{Propagation: time.Hour, MaxLifetime: 30 * time.Minute, ClockSkew: time.Minute}},
		{"shorter AbsoluteLifetime", cookiesession.Config{Lifetime: 30 * 24 * time.Hour, AbsoluteLifetime: 8 * time.Hour},
			rotation.Policy{Propagation: time.Hour, MaxLifetime: 8 * time.Hour}},
		{"longer AbsoluteLifetime", cookiesession.Config{Lifetime: time.Hour, AbsoluteLifetime: 8 * time.Hour},
			rotation.Policy{Propagation: time.Hour, MaxLifetime: time.Hour}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newManager(t, tt.cfg)
			if got := h.m.Policy(time.Hour); got != tt.want {
				t.Errorf("Policy(1h) = %+v, want %+v", got, tt.want)
			}
		})
	}
	// The policy in use: a key demoted at t0 is retired no sooner than the
	// last cookie it sealed dies.
	old, next := newKey(t), newKey(t)
	holder := rotation.NewHolder(newRing(t, old))
	h := newManager(t, cookiesession.Config{Keys: holder, Lifetime: time.Hour, ClockSkew: time.Second})
	v := h.seed(map[string]any{"n": 1}) // sealed by old at t0, just before the promotion
	if err := holder.Update(func(r *rotation.Keyring) (*rotation.Keyring, error) {
		r, err := r.Add(next, t0)
		if err != nil {
			return nil, err
		}
		return r.Promote(next.ID(), t0)
	}); err != nil {
		t.Fatal(err)
	}
	retire, err := holder.At(t0).RetireAt(old.ID(), h.m.Policy(0))
	if err != nil {
		t.Fatal(err)
	}
	if last := h.load(v).Info().Expires.Add(time.Second); last.After(retire) {
		t.Errorf("RetireAt %v, before the last moment the key's cookie is accepted, %v", retire, last)
	}
}

// TestConfigZeroHolder checks that New refuses a Source that has no keyring (a
// zero Holder, never given a ring): it would fail every request.
func TestConfigZeroHolder(t *testing.T) {
	t.Parallel()
	m, err := cookiesession.New(cookiesession.Config{Keys: &rotation.Holder{}})
	if !errors.Is(err, cookiesession.ErrConfig) || m != nil {
		t.Fatalf("New with a zero Holder = %v, %v; want nil, ErrConfig", m, err)
	}
}

func TestConfigInvalid(t *testing.T) {
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
		{"MaxChunks 11", cookiesession.Config{MaxChunks: 11}},
		{"negative MaxChunks", cookiesession.Config{MaxChunks: -1}},
		{"MaxHeaderBytes 100", cookiesession.Config{MaxHeaderBytes: 100}},
		{"negative MaxHeaderBytes", cookiesession.Config{MaxHeaderBytes: -1}},
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

func TestConfigValidBoundaries(t *testing.T) {
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
		{"MaxChunks 1", cookiesession.Config{MaxChunks: 1}},
		{"MaxChunks 10", cookiesession.Config{MaxChunks: 10}},
		{"MaxHeaderBytes 200", cookiesession.Config{MaxHeaderBytes: 200}},
		{"MaxHeaderBytes 1 MB", cookiesession.Config{MaxHeaderBytes: 1 << 20}},
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

// TestConfigMaxCookieSizeFloor: New refuses a MaxCookieSize below the
// smallest cookie a save can send, which would make every save fail, and
// accepts one at which a session with a little data is sent. The floor
// depends on the attributes: a long Domain raises it.
func TestConfigMaxCookieSizeFloor(t *testing.T) {
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

func TestConfigDefaultNames(t *testing.T) {
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
