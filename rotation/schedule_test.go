package rotation_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// masters remembers the master key of each schedule the tests build.
var masters sync.Map // *rotation.Schedule → *crypto.Key

func newSchedule(t testing.TB, master *crypto.Key, cfg rotation.ScheduleConfig) *rotation.Schedule {
	t.Helper()
	s, err := rotation.NewSchedule(master, cfg)
	if err != nil {
		t.Fatalf("NewSchedule(%+v): %v", cfg, err)
	}
	if s.Config() != cfg {
		t.Fatalf("Config() = %+v, want %+v", s.Config(), cfg)
	}
	masters.Store(s, master)
	return s
}

// periodKey returns the key of period n of s, derived from its master key
// as docs/FORMAT.md says: Derive("rotation/period/<seconds>/<n>").
func periodKey(t testing.TB, s *rotation.Schedule, n int64) *crypto.Key {
	t.Helper()
	master, ok := masters.Load(s)
	if !ok {
		t.Fatal("periodKey of a schedule not built by newSchedule")
	}
	k, err := master.(*crypto.Key).Derive(fmt.Sprintf("rotation/period/%d/%d", int64(s.Config().Period/time.Second), n))
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	return k
}

// unix returns the instant sec seconds plus frac after the epoch.
func unix(sec int64, frac time.Duration) time.Time { return time.Unix(sec, 0).Add(frac).UTC() }

func TestNewScheduleValidation(t *testing.T) {
	t.Parallel()
	master := newKey(t)
	ok := rotation.ScheduleConfig{Period: time.Hour, Previous: 2, ClockSkew: time.Minute}
	bad := []struct {
		name   string
		master *crypto.Key
		cfg    rotation.ScheduleConfig
	}{
		{"nil master", nil, ok},
		{"zero config", master, rotation.ScheduleConfig{}},
		{"period under a minute", master, rotation.ScheduleConfig{Period: 59 * time.Second}},
		{"negative period", master, rotation.ScheduleConfig{Period: -time.Hour}},
		{"period not whole seconds", master, rotation.ScheduleConfig{Period: time.Minute + time.Millisecond}},
		{"negative skew", master, rotation.ScheduleConfig{Period: time.Hour, ClockSkew: -time.Nanosecond}},
		{"skew equal to period", master, rotation.ScheduleConfig{Period: time.Hour, ClockSkew: time.Hour}},
		{"skew above period", master, rotation.ScheduleConfig{Period: time.Minute, ClockSkew: time.Hour}},
		{"negative Previous", master, rotation.ScheduleConfig{Period: time.Hour, Previous: -1}},
		{"Previous above MaxKeys-3", master, rotation.ScheduleConfig{Period: time.Hour, Previous: maxKeys - 2}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := rotation.NewSchedule(tt.master, tt.cfg); !errors.Is(err, rotation.ErrKeyring) || s != nil {
				t.Fatalf("NewSchedule = %v, %v; want nil and ErrSchedule", s, err)
			}
		})
	}
	good := []rotation.ScheduleConfig{
		ok,
		{Period: time.Minute},
		{Period: time.Minute, ClockSkew: time.Minute - time.Nanosecond},
		{Period: 90 * time.Second, Previous: maxKeys - 3, ClockSkew: 1500 * time.Millisecond},
		{Period: 24 * time.Hour, Previous: 0},
	}
	for _, cfg := range good {
		s := newSchedule(t, master, cfg)
		checkRing(t, s.At(at(0)))
	}
}

// TestSchedulePrimaryIsCurrentPeriod checks that the ring in force at any
// instant, before 1970 included, seals with PeriodKey(floor(unix/period)).
func TestSchedulePrimaryIsCurrentPeriod(t *testing.T) {
	t.Parallel()
	s := newSchedule(t, newKey(t), rotation.ScheduleConfig{Period: time.Minute, Previous: 1, ClockSkew: 5 * time.Second})
	tests := []struct {
		now  time.Time
		want int64
	}{
		{unix(0, 0), 0},
		{unix(59, 999*time.Millisecond), 0},
		{unix(60, 0), 1},
		{unix(-1, 0), -1},
		{unix(-1, 500*time.Millisecond), -1},
		{unix(0, -time.Nanosecond), -1},
		{unix(-60, 0), -1},
		{unix(-61, 0), -2},
		{unix(-3600, 30*time.Second), -60},
		{time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC), -236383},
		{time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), 1772355600 / 60},
		{time.Date(2026, 3, 1, 9, 0, 59, 999999999, time.UTC), 1772355600 / 60},
		// The same instant in another zone is the same period.
		{time.Date(2026, 3, 1, 14, 0, 30, 0, time.FixedZone("UTC+5", 5*3600)), 1772355600 / 60},
	}
	for _, tt := range tests {
		if want := tt.now.Unix(); tt.want*60 > want || want >= (tt.want+1)*60 {
			t.Fatalf("bad test: %v (unix %d) is not in period %d", tt.now, want, tt.want)
		}
		r := s.At(tt.now)
		checkRing(t, r)
		if want := periodKey(t, s, tt.want); !r.Primary().Equal(want) || r.Primary().ID() != want.ID() {
			t.Errorf("Keyring(%v).Primary() = %v, want PeriodKey(%d) = %v", tt.now, r.Primary(), tt.want, want)
		}
		v := sealRing(t, r, "now")
		mustOpen(t, r, v, "now", r.Primary(), false)
	}
}

// TestSchedulePreviousWindow checks that a value sealed in period n opens
// in periods n+1..n+Previous and not in n+Previous+1.
func TestSchedulePreviousWindow(t *testing.T) {
	t.Parallel()
	const period = 3600
	for prev := 0; prev <= maxKeys-3; prev++ {
		t.Run(fmt.Sprintf("Previous=%d", prev), func(t *testing.T) {
			s := newSchedule(t, newKey(t), rotation.ScheduleConfig{Period: period * time.Second, Previous: prev})
			const n = 491_000
			k := periodKey(t, s, n)
			for _, sealAt := range []int64{n * period, n*period + 1800, n*period + period - 1} {
				v := sealRing(t, s.At(unix(sealAt, 0)), "x")
				if got := headerID(t, v); got != k.ID() {
					t.Fatalf("sealed at %d with %v, want period %d's key %v", sealAt, got, n, k.ID())
				}
				for m := int64(n); m <= n+int64(prev); m++ {
					for _, openAt := range []int64{m * period, m*period + period - 1} {
						if openAt < sealAt {
							continue
						}
						mustOpen(t, s.At(unix(openAt, 0)), v, "x", k, m != n)
					}
				}
				gone := (n + int64(prev) + 1) * period
				mustNotOpen(t, s.At(unix(gone, 0)), v, testContext, crypto.ReasonUnknownKey)
				mustNotOpen(t, s.At(unix(gone+period/2, 0)), v, testContext, crypto.ReasonUnknownKey)
			}
		})
	}
}

// TestScheduleSkewExtendsWindow checks that with a clock skew, the keys of
// the previous periods stay for ClockSkew after the boundary that would
// drop them, for instances whose clocks are behind.
func TestScheduleSkewExtendsWindow(t *testing.T) {
	t.Parallel()
	const period, n = 3600, 491_000
	s := newSchedule(t, newKey(t), rotation.ScheduleConfig{Period: period * time.Second, Previous: 2, ClockSkew: time.Minute})
	k := periodKey(t, s, n)
	v := sealWith(t, k, "x")
	gone := int64(n+3) * period
	mustOpen(t, s.At(unix(gone+59, 0)), v, "x", k, true)
	mustNotOpen(t, s.At(unix(gone+60, 0)), v, testContext, crypto.ReasonUnknownKey)
	// The next period's key is accepted from ClockSkew before its start.
	next := periodKey(t, s, n+1)
	early := sealWith(t, next, "early")
	mustNotOpen(t, s.At(unix((n+1)*period-61, 0)), early, testContext, crypto.ReasonUnknownKey)
	mustOpen(t, s.At(unix((n+1)*period-60, 0)), early, "early", next, true)
}

// TestSchedulesAgreeWithinSkew builds two schedules from two parses of the
// same master key and gives them clocks up to ClockSkew apart around
// several period boundaries: whatever one seals, the other opens.
func TestSchedulesAgreeWithinSkew(t *testing.T) {
	t.Parallel()
	text := newKey(t).SecretText()
	m1, err := crypto.ParseKey(text)
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	m2, err := crypto.ParseKey(text)
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	for _, tt := range []struct {
		cfg  rotation.ScheduleConfig
		step time.Duration
	}{
		{rotation.ScheduleConfig{Period: time.Minute, Previous: 1, ClockSkew: 3 * time.Second}, time.Second},
		{rotation.ScheduleConfig{Period: time.Minute, Previous: 0, ClockSkew: 2500 * time.Millisecond}, 500 * time.Millisecond},
		{rotation.ScheduleConfig{Period: time.Hour, Previous: 2, ClockSkew: 0}, time.Second},
	} {
		t.Run(fmt.Sprintf("skew %v", tt.cfg.ClockSkew), func(t *testing.T) {
			a, b := newSchedule(t, m1, tt.cfg), newSchedule(t, m2, tt.cfg)
			period := int64(tt.cfg.Period / time.Second)
			skew := tt.cfg.ClockSkew
			for _, n := range []int64{0, -1, 29_000_000, 29_000_001, 29_000_017} {
				boundary := unix(n*period, 0)
				for _, frac := range []time.Duration{0, 250 * time.Millisecond} {
					for ta := boundary.Add(-skew + frac); !ta.After(boundary.Add(skew + frac)); ta = ta.Add(tt.step) {
						for d := -skew; d <= skew; d += tt.step {
							tb := ta.Add(d)
							ra, rb := a.At(ta), b.At(tb)
							va := sealRing(t, ra, "from a")
							if _, _, err := rb.Open(nil, va, testContext); err != nil {
								t.Fatalf("A at %v sealed with %v; B at A%+v cannot open it: %v", ta, ra.Primary(), d, err)
							}
							vb := sealRing(t, rb, "from b")
							if _, _, err := ra.Open(nil, vb, testContext); err != nil {
								t.Fatalf("B at A%+v sealed with %v; A at %v cannot open it: %v", d, rb.Primary(), ta, err)
							}
						}
					}
				}
			}
		})
	}
}

// TestScheduleMillisecondsApart: with no skew configured, an instance a
// millisecond past a boundary seals with the new period's key, and one a
// millisecond before it opens that: clocks that agree still differ by
// that much.
func TestScheduleMillisecondsApart(t *testing.T) {
	t.Parallel()
	m := newKey(t)
	cfg := rotation.ScheduleConfig{Period: time.Hour, Previous: 1}
	a, b := newSchedule(t, m, cfg), newSchedule(t, m, cfg)
	boundary := unix(29_000_000*3600, 0)
	for _, d := range []time.Duration{time.Nanosecond, time.Millisecond, 999 * time.Millisecond} {
		ra, rb := a.At(boundary), b.At(boundary.Add(-d))
		if ra.Primary().ID() == rb.Primary().ID() {
			t.Fatalf("the two sides of a boundary seal with the same key")
		}
		if _, _, err := rb.Open(nil, sealRing(t, ra, "after"), testContext); err != nil {
			t.Errorf("sealed at the boundary, opened %v before it: %v", d, err)
		}
	}
}

func TestScheduleRingSize(t *testing.T) {
	t.Parallel()
	const period = 60
	for prev := 0; prev <= maxKeys-3; prev++ {
		s := newSchedule(t, newKey(t), rotation.ScheduleConfig{Period: period * time.Second, Previous: prev})
		for _, now := range []time.Time{unix(0, 0), unix(-1, 0), unix(29_000_000*period, 0),
			unix(29_000_000*period-1, 0), unix(29_000_000*period+30, 0), unix(29_000_000*period, -time.Nanosecond)} {
			// In the last second of a period, the next period's key
			// opens too, whatever the skew.
			want := prev + 1
			if (now.Unix()%period+period)%period == period-1 {
				want++
			}
			if got := len(s.At(now).Entries()); got != want {
				t.Errorf("skew 0, Previous %d: ring at %v holds %d keys, want %d", prev, now, got, want)
			}
		}
	}

	// With a skew, a boundary within reach adds one key; the ring never
	// exceeds MaxKeys, even with the largest Previous and skew.
	s := newSchedule(t, newKey(t), rotation.ScheduleConfig{Period: period * time.Second, Previous: 2, ClockSkew: 10 * time.Second})
	for _, tt := range []struct {
		off  int64
		want int
	}{{0, 4}, {9, 4}, {10, 3}, {30, 3}, {49, 3}, {50, 4}, {59, 4}} {
		if got := len(s.At(unix(29_000_000*period+tt.off, 0)).Entries()); got != tt.want {
			t.Errorf("skew 10s, Previous 2: ring %ds into a period holds %d keys, want %d", tt.off, got, tt.want)
		}
	}
	widest := newSchedule(t, newKey(t), rotation.ScheduleConfig{Period: period * time.Second, Previous: maxKeys - 3, ClockSkew: 59 * time.Second})
	if got := len(widest.At(unix(29_000_000*period+30, 0)).Entries()); got != maxKeys {
		t.Errorf("widest schedule holds %d keys, want MaxKeys", got)
	}
}

func TestScheduleCachesRing(t *testing.T) {
	t.Parallel()
	const period, n = 3600, 491_000
	s := newSchedule(t, newKey(t), rotation.ScheduleConfig{Period: period * time.Second, Previous: 2, ClockSkew: time.Minute})
	r1 := s.At(unix(n*period+120, 0))
	r2 := s.At(unix(n*period+3000, 999*time.Millisecond))
	if r1 != r2 {
		t.Fatal("two instants of the same period (away from its boundaries) gave different rings")
	}
	r3 := s.At(unix((n+1)*period+120, 0))
	if r3 == r1 {
		t.Fatal("the ring after a boundary is the cached one")
	}
	if r3.Primary().Equal(r1.Primary()) {
		t.Fatal("the primary did not change at the boundary")
	}
	// The old primary is kept, decrypt-only, and is the same key.
	if e, ok := lookupEntry(r3, r1.Primary().ID()); !ok || e.State != rotation.DecryptOnly || !e.Key.Equal(r1.Primary()) {
		t.Fatal("the previous period's key is not decrypt-only after the boundary")
	}
	if s.At(unix((n+1)*period+3000, 0)) != r3 {
		t.Fatal("the new ring is not cached")
	}
	// Going back in time gives the old period's keys again.
	if back := s.At(unix(n*period+120, 0)); !entriesEqual(back.Entries(), r1.Entries()) {
		t.Fatal("returning to an earlier period gave a different ring")
	}
}

// TestScheduleEntryTimes checks AddedAt and DemotedAt against the period
// boundaries, near a boundary so that the next period's key is present.
func TestScheduleEntryTimes(t *testing.T) {
	t.Parallel()
	const period, n, prev = 600, 2_950_000, 3
	s := newSchedule(t, newKey(t), rotation.ScheduleConfig{Period: period * time.Second, Previous: prev, ClockSkew: 30 * time.Second})
	for _, now := range []time.Time{unix((n+1)*period-10, 0), unix(n*period+10, 0), unix(n*period+300, 0)} {
		r := s.At(now)
		seen := map[int64]bool{}
		for _, e := range r.Entries() {
			m := int64(-1)
			for c := int64(n - prev - 2); c <= n+2; c++ {
				if periodKey(t, s, c).ID() == e.Key.ID() {
					m = c
				}
			}
			if m < 0 {
				t.Fatalf("ring at %v holds a key of no nearby period", now)
			}
			seen[m] = true
			if want := unix(m*period, 0); !e.AddedAt.Equal(want) {
				t.Errorf("period %d key: AddedAt = %v, want the period start %v", m, e.AddedAt, want)
			}
			var want time.Time
			if m < n {
				want = unix((m+1)*period, 0)
			}
			if !e.DemotedAt.Equal(want) {
				t.Errorf("period %d key: DemotedAt = %v, want %v", m, e.DemotedAt, want)
			}
			if (e.State == rotation.Primary) != (m == n) {
				t.Errorf("period %d key: state %v, want primary only for period %d", m, e.State, n)
			}
			if m < n {
				// RetireAt works on schedule rings: the key's values are
				// dead MaxLifetime after the period ends.
				p := rotation.Policy{MaxLifetime: prev * period * time.Second}
				got, err := r.RetireAt(e.Key.ID(), p)
				if err != nil || !got.Equal(want.Add(p.MaxLifetime)) {
					t.Errorf("period %d key: RetireAt = %v, %v", m, got, err)
				}
			}
		}
		for m := int64(n - prev); m <= n; m++ {
			if !seen[m] {
				t.Errorf("ring at %v lacks the key of period %d", now, m)
			}
		}
	}
}

func TestSchedulePeriodKeys(t *testing.T) {
	t.Parallel()
	text := newKey(t).SecretText()
	m1, err := crypto.ParseKey(text)
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	m2, err := crypto.ParseKey(text)
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	cfg := rotation.ScheduleConfig{Period: time.Hour, Previous: 1}
	a, b := newSchedule(t, m1, cfg), newSchedule(t, m2, cfg)
	other := newSchedule(t, newKey(t), cfg)
	longer := newSchedule(t, m1, rotation.ScheduleConfig{Period: 2 * time.Hour, Previous: 1})

	ids := map[crypto.KeyID]string{}
	for _, n := range []int64{-2, -1, 0, 1, 2, 491_000, 491_001} {
		ka := periodKey(t, a, n)
		if kb := periodKey(t, b, n); !ka.Equal(kb) || ka.ID() != kb.ID() {
			t.Errorf("period %d: two schedules of the same master derive different keys", n)
		}
		if ka.Equal(m1) {
			t.Errorf("period %d: the period key is the master key", n)
		}
		for name, ko := range map[string]*crypto.Key{
			"another master":  periodKey(t, other, n),
			"a longer period": periodKey(t, longer, n),
		} {
			if ka.Equal(ko) || ka.ID() == ko.ID() {
				t.Errorf("period %d: %s derives the same key", n, name)
			}
		}
		if prevName, dup := ids[ka.ID()]; dup {
			t.Errorf("period %d has the key ID of %s", n, prevName)
		}
		ids[ka.ID()] = fmt.Sprintf("period %d", n)
	}
	// A value sealed under one period's key does not open under another's.
	v := sealWith(t, periodKey(t, a, 5), "x")
	if _, err := periodKey(t, a, 6).Open(nil, v, testContext); err == nil {
		t.Error("period 6's key opened a value of period 5")
	}
}

// A Schedule is a Source.
var _ rotation.Source = (*rotation.Schedule)(nil)

// TestScheduleDerivationLabel pins the derivation docs/FORMAT.md gives for
// period keys, with its example: a one-week period, at
// 2026-11-25T12:00:00Z, is period 2968, and periods before the epoch are
// negative.
func TestScheduleDerivationLabel(t *testing.T) {
	t.Parallel()
	master := newKey(t)
	s, err := rotation.NewSchedule(master, rotation.ScheduleConfig{Period: 7 * 24 * time.Hour, Previous: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at      time.Time
		purpose string
	}{
		{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), "rotation/period/604800/2968"},
		{time.Unix(0, 0), "rotation/period/604800/0"},
		{time.Unix(-1, 0), "rotation/period/604800/-1"},
	} {
		want, err := master.Derive(tt.purpose)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.At(tt.at).Primary(); !got.Equal(want) {
			t.Errorf("primary at %v is %v, want master.Derive(%q) = %v", tt.at, got, tt.purpose, want)
		}
	}
}
