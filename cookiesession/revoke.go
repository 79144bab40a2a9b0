package cookiesession

import (
	"context"
	"errors"
	"sync"
	"time"
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
	// the last CycleKey.
	IssuedAt time.Time
	// SavedAt is the session's last save.
	SavedAt time.Time
	// Expires is the session's deadline: it is valid up to and including
	// this second.
	Expires time.Time
}

// A Revoker gives a stateless session what only state can give: the end of
// one session, or of all of a user's sessions, before their deadline.
//
// Check is called for every session that opens, after authentication and
// expiry checks; a non-nil error rejects the session (reported as
// ErrRevoked, and the request continues with a fresh session). Use it for a
// per-subject cut-off ("log out everywhere", a password change: reject
// sessions of that subject issued before a time) or a deny-list of session
// IDs.
//
// Revoke is called when Session.Flush or Session.CycleKey ends a session
// that came from a cookie, with that session's ID and deadline, so that
// replayed copies of the old cookie stop working. Entries may be forgotten
// after info.Expires: the cookie is dead by then anyway.
//
// Before re-sealing a session that came from a cookie, crumb calls Check
// again, so that a session revoked by a concurrent request (a logout in
// another tab) is not written back to the browser.
//
// Both run on the request path with the request's context: keep them fast.
// Using a Revoker makes the request stateful, by choice.
type Revoker interface {
	Check(ctx context.Context, info Info) error
	Revoke(ctx context.Context, info Info) error
}

// ErrDenied is the error DenyList.Check returns for a revoked session.
var ErrDenied = errors.New("cookiesession: session is on the deny list")

// A DenyList is an in-memory [Revoker] for a single process: it remembers
// revoked session IDs until their deadline, and per-subject cut-off times.
// Several instances need a shared store instead (a database, Redis): write
// a Revoker over it in a few lines. The zero DenyList is ready to use and
// safe for concurrent use.
type DenyList struct {
	mu       sync.Mutex
	ids      map[string]time.Time // session ID → deadline
	subjects map[string]time.Time // subject → sessions issued before are revoked
}

var _ Revoker = (*DenyList)(nil)

// Check rejects revoked IDs and sessions issued before their subject's
// cut-off.
func (d *DenyList) Check(_ context.Context, info Info) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.ids[info.ID]; ok {
		return ErrDenied
	}
	if cut, ok := d.subjects[info.Subject]; ok && info.Subject != "" && info.IssuedAt.Before(cut) {
		return ErrDenied
	}
	return nil
}

// Revoke denies info.ID until info.Expires. Call Prune now and then to
// forget IDs whose deadline has passed.
func (d *DenyList) Revoke(_ context.Context, info Info) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids == nil {
		d.ids = make(map[string]time.Time)
	}
	d.ids[info.ID] = info.Expires
	return nil
}

// RevokeSubject rejects every session of subject issued before t: "log out
// everywhere", or the aftermath of a password change.
func (d *DenyList) RevokeSubject(subject string, t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.subjects == nil {
		d.subjects = make(map[string]time.Time)
	}
	d.subjects[subject] = t
}

// Prune forgets revoked IDs whose deadline is before now.
func (d *DenyList) Prune(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, until := range d.ids {
		if until.Before(now) {
			delete(d.ids, id)
		}
	}
}
