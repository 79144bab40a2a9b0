package rotation

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/crumbhq/crumb/crypto"
)

// ScheduleConfig configures automatic rotation. See [NewSchedule].
type ScheduleConfig struct {
	// Period is how long each derived key seals. It must be a whole number
	// of seconds, at least one minute. Changing it changes every key.
	Period time.Duration
	// Previous is how many earlier periods' keys still open values. Choose
	// it so that Previous × Period covers the longest session lifetime:
	// a value sealed at the very end of a period stays openable for at
	// least Previous periods.
	Previous int
	// ClockSkew is the largest clock difference between instances, less
	// than Period. Around a period boundary, an instance whose clock is
	// ahead seals with the next period's key: every instance accepts the
	// keys of the periods that any clock within ClockSkew calls current,
	// and the next period's key in the last second before it whatever
	// ClockSkew says (clocks that agree still differ by milliseconds).
	ClockSkew time.Duration
}

// A Schedule derives a key for every period from a master key and turns the
// time into a Keyring: the current period's key is primary; the keys of the
// Previous earlier periods, and of any period that a clock off by up to
// ClockSkew calls current, are decrypt-only.
//
// Key n is master.Derive("rotation/period/<seconds>/<n>"), where <seconds>
// is the period length and n counts periods since the Unix epoch. Any
// number of instances that share the master key therefore agree on every
// key without storage or coordination; rotation happens by itself at each
// boundary, and no key is used for longer than one period (plus the time
// its values live).
//
// The ring for the current period is built once and cached: a request pays
// for no key derivation, except the first one after a boundary.
type Schedule struct {
	cfg    ScheduleConfig
	master *crypto.Key
	period int64 // seconds
	prev   int64
	skew   int64 // seconds, rounded up
	cache  atomic.Pointer[scheduleRing]
}

type scheduleRing struct {
	lo, cur, hi int64         // period numbers
	keys        []*crypto.Key // keys[i] is the key of period lo+i
	ring        *Keyring
}

// NewSchedule returns the schedule for master and cfg, or an error matching
// [ErrKeyring] that says which setting is wrong.
func NewSchedule(master *crypto.Key, cfg ScheduleConfig) (*Schedule, error) {
	switch {
	case master == nil:
		return nil, fmt.Errorf("%w: no master key", ErrKeyring)
	case cfg.Period < time.Minute || cfg.Period%time.Second != 0:
		return nil, fmt.Errorf("%w: period %v must be whole seconds, at least 1m", ErrKeyring, cfg.Period)
	case cfg.ClockSkew < 0 || cfg.ClockSkew >= cfg.Period:
		return nil, fmt.Errorf("%w: clock skew %v must be at least 0 and less than the period", ErrKeyring, cfg.ClockSkew)
	case cfg.Previous < 0 || cfg.Previous > maxKeys-3:
		return nil, fmt.Errorf("%w: Previous %d must be between 0 and %d", ErrKeyring, cfg.Previous, maxKeys-3)
	}
	skew := int64((cfg.ClockSkew + time.Second - 1) / time.Second)
	return &Schedule{cfg: cfg, master: master, period: int64(cfg.Period / time.Second), prev: int64(cfg.Previous), skew: skew}, nil
}

// periodOf returns the period number of Unix time t (seconds), rounding
// towards minus infinity.
func (s *Schedule) periodOf(t int64) int64 {
	n := t / s.period
	if t%s.period < 0 {
		n--
	}
	return n
}

// Config returns the configuration the schedule was built with, so that
// the session layer can check that it covers its sessions' lifetimes.
func (s *Schedule) Config() ScheduleConfig { return s.cfg }

// periodKey returns the key of period n.
func (s *Schedule) periodKey(n int64) (*crypto.Key, error) {
	return s.master.Derive("rotation/period/" + strconv.FormatInt(s.period, 10) + "/" + strconv.FormatInt(n, 10))
}

// At returns the ring in force at now.
func (s *Schedule) At(now time.Time) *Keyring {
	t := now.Unix()
	cur := s.periodOf(t)
	lo := s.periodOf(t-s.skew) - s.prev
	// The next period's key opens a second before its period whatever
	// the skew: clocks that agree still differ by milliseconds, and a
	// value sealed by one just past the boundary must open on another
	// just before it (cookiesession allows the same second).
	hi := s.periodOf(t + max(s.skew, 1))
	if c := s.cache.Load(); c != nil && c.lo == lo && c.cur == cur && c.hi == hi {
		return c.ring
	}
	prev := s.cache.Load()
	keys := make([]*crypto.Key, 0, hi-lo+1)
	entries := make([]Entry, 0, hi-lo+1)
	for n := lo; n <= hi; n++ {
		k := prev.find(n)
		if k == nil {
			var err error
			if k, err = s.periodKey(n); err != nil {
				panic("rotation: deriving a period key: " + err.Error()) // HKDF-SHA256 cannot fail for 32 bytes
			}
		}
		keys = append(keys, k)
		e := Entry{Key: k, State: DecryptOnly, AddedAt: time.Unix(n*s.period, 0)}
		if n == cur {
			e.State = Primary
		} else if n < cur {
			e.DemotedAt = time.Unix((n+1)*s.period, 0)
		}
		entries = append(entries, e)
	}
	ring, err := FromEntries(entries)
	if err != nil {
		// Only a key ID collision between two period keys (chance about
		// 2⁻³²·maxKeys²) gets here. Fall back to sealing and opening with
		// the current key alone rather than failing every request.
		ring, _ = NewKeyring(entries[cur-lo].Key)
	}
	s.cache.Store(&scheduleRing{lo: lo, cur: cur, hi: hi, keys: keys, ring: ring})
	return ring
}

// find returns the cached key of period n, or nil.
func (c *scheduleRing) find(n int64) *crypto.Key {
	if c == nil || n < c.lo || n > c.hi {
		return nil
	}
	return c.keys[n-c.lo]
}
