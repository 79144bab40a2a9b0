package cookiesession

import (
	"math"
	"time"
)

// An Expiry is a session's own expiry rule, set with [Session.SetExpiry]. It
// takes Django's set_expiry forms, but as distinct constructors, because a
// Go time.Duration cannot say whether it means "of inactivity" or "from
// now":
//
//	Django                          crumb
//	set_expiry(None)                SetExpiry(DefaultExpiry)
//	set_expiry(0)                   SetExpiry(BrowserClose)
//	set_expiry(300)                 SetExpiry(IdleFor(5 * time.Minute))
//	set_expiry(timedelta(hours=1))  SetExpiry(ExpiresIn(time.Hour))
//	set_expiry(datetime)            SetExpiry(ExpiresAt(t))
//
// Unlike Django's, every form is enforced by the server from the sealed
// payload, not only by the browser's Max-Age. Config.AbsoluteLifetime caps
// them all. The zero Expiry is DefaultExpiry.
type Expiry struct {
	kind  expiryKind
	value int64 // idle and in: nanoseconds; absolute: Unix nanoseconds
}

type expiryKind uint8

const (
	expDefault      expiryKind = iota
	expBrowserClose            // on the wire: kind 1, value 0
	expIdle                    // on the wire: kind 2, value = nanoseconds
	expAbsolute                // on the wire: kind 3, value = Unix nanoseconds
	expIn                      // never on the wire: resolved to expAbsolute by SetExpiry
)

var (
	// DefaultExpiry removes a custom expiry: the session follows
	// Config.Lifetime and Config.ExpireAtBrowserClose again.
	DefaultExpiry = Expiry{}
	// BrowserClose makes the cookie a browser-session cookie (no Max-Age,
	// no Expires). The server still ends the session Config.Lifetime after
	// its last save, because browsers that restore sessions keep such
	// cookies alive indefinitely.
	BrowserClose = Expiry{kind: expBrowserClose}
)

// IdleFor ends the session d after its last save; with Config.RenewAfter,
// after d without a request. A d of zero or
// less expires the session at once: the response deletes the cookie.
func IdleFor(d time.Duration) Expiry {
	return Expiry{kind: expIdle, value: int64(d)}
}

// ExpiresIn ends the session at a fixed deadline, d after the moment
// SetExpiry is called (Django's timedelta form). Saves do not move it.
func ExpiresIn(d time.Duration) Expiry {
	return Expiry{kind: expIn, value: int64(d)}
}

// ExpiresAt ends the session at the fixed deadline t (Django's datetime
// form). A t at or before now expires the session at once.
func ExpiresAt(t time.Time) Expiry {
	return Expiry{kind: expAbsolute, value: unixNano(t)}
}

// resolve turns the relative ExpiresIn form into an absolute deadline.
func (e Expiry) resolve(now int64) Expiry {
	if e.kind == expIn {
		return Expiry{kind: expAbsolute, value: addSat(now, e.value)}
	}
	return e
}

func (e Expiry) wire() *expiryWire {
	if e.kind == expDefault {
		return nil
	}
	return &expiryWire{Kind: uint8(e.kind), Value: e.value}
}

// expiry converts the wire form back, reporting whether it is one a
// writer may seal: kind 1 with value 0, kind 2 with a positive window,
// kind 3 with a deadline at or after the epoch.
func (w *expiryWire) expiry() (Expiry, bool) {
	switch expiryKind(w.Kind) {
	case expBrowserClose:
		return BrowserClose, w.Value == 0
	case expIdle:
		return Expiry{kind: expIdle, value: w.Value}, w.Value > 0
	case expAbsolute:
		return Expiry{kind: expAbsolute, value: w.Value}, w.Value >= 0
	}
	return Expiry{}, false
}

// window returns the idle window of a session with expiry e under m: the
// time from a save to the deadline, for every form but the absolute one.
func (m *Manager) window(e Expiry) int64 {
	if e.kind == expIdle {
		return e.value
	}
	return m.lifetime
}

// deadline returns the Unix nanosecond at which a session saved at
// savedAt, issued at issuedAt, with expiry e, ends under m's current
// rules: it is valid while now < deadline.
func (m *Manager) deadline(e Expiry, issuedAt, savedAt int64) int64 {
	d := addSat(savedAt, m.window(e))
	if e.kind == expAbsolute {
		d = e.value
	}
	if m.absolute > 0 {
		d = min(d, addSat(issuedAt, m.absolute))
	}
	return d
}

// browserSession reports whether a cookie for expiry e dies with the
// browser (Django's get_expire_at_browser_close).
func (m *Manager) browserSession(e Expiry) bool {
	if e.kind == expDefault {
		return m.cfg.ExpireAtBrowserClose
	}
	return e.kind == expBrowserClose
}

// addSat returns a+b, saturating at the int64 range instead of wrapping:
// a huge IdleFor or ExpiresIn means "a very long time", never "the past".
func addSat(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}

// subSat returns a-b, saturating as addSat does.
func subSat(a, b int64) int64 {
	if b == math.MinInt64 {
		return addSat(addSat(a, math.MaxInt64), 1)
	}
	return addSat(a, -b)
}

// unixNano is t as Unix nanoseconds, saturating outside the years
// 1678–2262 that int64 nanoseconds cover.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)
