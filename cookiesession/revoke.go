package cookiesession

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/crumbhq/crumb/crypto"
)

// Info describes a sealed session, for revocation checks and logs. It holds
// no session data.
type Info struct {
	// ID is the session's random ID (see Session.ID).
	ID string
	// Subject is what the application set with Session.SetSubject, such
	// as a user ID; empty if unset.
	Subject string
	// IssuedAt is when the session ID was minted: at the first save, or at
	// the last CycleKey. It has nanosecond precision.
	IssuedAt time.Time
	// SavedAt is the session's last save.
	SavedAt time.Time
	// Expires is the session's deadline: it is valid before this instant.
	Expires time.Time
	// KeyID is the key that sealed the cookie the request carried; zero
	// for a session that came with no valid cookie. The response re-seals
	// a session under the primary key when this is not it.
	KeyID crypto.KeyID
}

// A Revoker gives a stateless session what only state can give: the end of
// one session, or of all of a user's sessions, before their deadline.
//
// Check is called for every session that opens, after authentication and
// expiry checks. It returns nil to accept the session, and an error
// matching [ErrRevoked] (wrap it: fmt.Errorf("%w: ...", ErrRevoked)) to
// reject it as revoked: the request continues with a fresh session, and
// the response deletes the cookie. Any other error means the check could
// not be made (a store that is down or slow): the session is not used for
// this request, but its cookie is kept, since it may well be valid; to
// fail open instead, return nil. Use Check for a per-subject cut-off ("log
// out everywhere", a password change: reject sessions of that subject
// issued before a time) or a deny-list of session IDs. Check must not use
// the session it is asked about: it has its Info.
//
// Revoke is called when Session.Flush or Session.CycleKey ends a session
// that came from a cookie, with that session's Info and until: Check must
// reject the ID at least until then, after which no copy of the session
// can be accepted anywhere. Copies of one session share its ID, and a
// stolen copy may have been renewed (saved again, moving its deadline)
// after the copy the logging-out request carried, so until is not that
// copy's deadline: it is the revocation time plus the longest window any
// copy may have (Config.Lifetime, or the session's own longer IdleFor or
// ExpiresAt) plus twice Config.ClockSkew (once for the clock that saved a
// copy, once for the clock that checks it), and never after the session's
// issue time plus Config.AbsoluteLifetime plus twice the skew. A session
// whose handlers change its rule to one longer than both, after a copy may
// have been taken, is covered only by Config.AbsoluteLifetime: set it.
//
// Before re-sealing a session that came from a cookie, and before
// CycleKey moves its contents to a new ID, crumb calls Check again, so
// that a session revoked by a concurrent request (a logout in another tab)
// is not written back to the browser.
//
// Both run on the request path with the request's context and with no lock
// of crumb's held: keep them fast. Using a Revoker makes the request
// stateful, by choice.
type Revoker interface {
	Check(ctx context.Context, info Info) error
	Revoke(ctx context.Context, info Info, until time.Time) error
}

// errDenied is the error DenyList.Check returns for a revoked session.
var errDenied = fmt.Errorf("%w: the session is on the deny list", ErrRevoked)

// A DenyList is an in-memory [Revoker] for a single process: it remembers
// revoked session IDs until the time Revoke is given, and per-subject
// cut-off times. Several instances need a shared store instead, whose
// entries live as long (a database row or a Redis key with that expiry).
// The zero DenyList is ready to use and safe for concurrent use.
type DenyList struct {
	mu       sync.Mutex
	ids      map[string]time.Time // session ID → denied until
	subjects map[string]time.Time // subject → sessions issued before are revoked
}

var _ Revoker = (*DenyList)(nil)

// Check rejects revoked IDs and sessions issued before their subject's
// cut-off, with an error matching ErrRevoked.
func (d *DenyList) Check(_ context.Context, info Info) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.ids[info.ID]; ok {
		return errDenied
	}
	if cut, ok := d.subjects[info.Subject]; ok && info.Subject != "" && info.IssuedAt.Before(cut) {
		return errDenied
	}
	return nil
}

// Revoke denies info.ID until until. Call Prune now and then to forget IDs
// whose time has passed.
func (d *DenyList) Revoke(_ context.Context, info Info, until time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids == nil {
		d.ids = make(map[string]time.Time)
	}
	if prev, ok := d.ids[info.ID]; !ok || until.After(prev) {
		d.ids[info.ID] = until
	}
	return nil
}

// RevokeSubject rejects every session of subject issued before t: "log out
// everywhere", or the aftermath of a password change. Sessions issued at
// or after t, such as the one the request that calls it cycles next, are
// not affected: issue times have nanosecond precision.
func (d *DenyList) RevokeSubject(subject string, t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.subjects == nil {
		d.subjects = make(map[string]time.Time)
	}
	d.subjects[subject] = t
}

// Prune forgets revoked IDs whose time has passed by now: no copy of them
// can be accepted any more. The times Revoke was given already include the
// Manager's clock skew; call Prune with the same clock.
func (d *DenyList) Prune(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, until := range d.ids {
		if until.Before(now) {
			delete(d.ids, id)
		}
	}
}

// revokeUntil returns how long a deny entry for a session with expiry e,
// issued at issuedAt, revoked at now, must last: until no copy of it can be
// accepted. See [Revoker].
func (m *Manager) revokeUntil(e Expiry, issuedAt, now int64) int64 {
	w := m.lifetime
	switch e.kind {
	case expIdle:
		w = max(w, e.value)
	case expAbsolute:
		w = max(w, subSat(e.value, now))
	}
	skew2 := addSat(m.skew, m.skew)
	until := addSat(addSat(now, w), skew2)
	if m.absolute > 0 {
		until = min(until, addSat(addSat(issuedAt, m.absolute), skew2))
	}
	return until
}
