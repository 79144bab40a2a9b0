package cookiesession_test

import (
	"errors"
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
