package cookiesession

import (
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/crumbhq/crumb/internal/format"
)

// Commit decides what the response must say about s, once its status is
// known, and adds the header fields that say it to dst: Set-Cookie, Vary
// and Cache-Control. It is the one implementation of these rules: Handler
// calls it with the ResponseWriter's header; a net/http handler without
// Handler calls it the same way, before it writes the status; serverless
// and edge handlers pass a fresh http.Header and copy the fields into
// their response type.
//
// The rules are Django's, made stricter:
//
//   - If the request carried the session cookie and the session is now
//     empty (flushed, or the cookie was bad), the cookie is deleted;
//     except a cookie that may be valid on another instance (sealed by a
//     key this one lacks, saved ahead of its clock, or not checked because
//     the Revoker failed), which is left alone unless Flush ended the
//     session.
//   - Otherwise, if the session was accessed, the response varies on
//     Cookie.
//   - A non-empty session is sealed into a new cookie if it was modified,
//     was opened with a key that is no longer primary (re-sealed under the
//     primary, its times kept), or is due for renewal (Config.RenewAfter);
//     but not for a status of 500 or more. A session past its deadline is
//     deleted instead.
//   - Every response that sets or deletes the cookie varies on Cookie and
//     is marked Cache-Control: no-store, so no shared cache keeps it.
//
// Fields dst already has are kept: Vary gains Cookie unless it already
// names it (or *), Cache-Control gains no-store unless it has it.
//
// A session is committed once; later calls add nothing, and changes made
// after the first call are not saved. The error is non-nil when a session
// that should have been saved was not, and no Set-Cookie is added, so the
// browser keeps its previous cookie: it is too large (a [*TooLargeError]),
// a concurrent request revoked it (ErrRevoked), the Revoker could not
// check it, or there are no keys (ErrConfig). s nil gives ErrNoSession.
func (m *Manager) Commit(s *Session, status int, dst http.Header) error {
	st := s.state()
	if st == nil {
		return ErrNoSession
	}
	return m.commit(st, status, headerWriter{dst})
}

// headerWriter adds Commit's fields to a header, keeping what it has.
type headerWriter struct{ h http.Header }

func (w headerWriter) setCookie(line string) { w.h["Set-Cookie"] = append(w.h["Set-Cookie"], line) }

func (w headerWriter) vary() {
	if v := w.h["Vary"]; !hasToken(v, "Cookie") && !hasToken(v, "*") {
		w.h["Vary"] = append(v, "Cookie")
	}
}

func (w headerWriter) noStore() {
	if v := w.h["Cache-Control"]; !hasToken(v, "no-store") {
		w.h["Cache-Control"] = append(v, "no-store")
	}
}

// saved adds the fields of a saved session to the header: its Set-Cookie
// lines, Vary: Cookie and Cache-Control: no-store, in one allocation when
// the header has none of them yet.
func (w headerWriter) saved(lines []string) {
	if w.h["Set-Cookie"] != nil || w.h["Vary"] != nil || w.h["Cache-Control"] != nil {
		for _, line := range lines {
			w.setCookie(line)
		}
		w.vary()
		w.noStore()
		return
	}
	f := make([]string, len(lines)+2)
	n := copy(f, lines)
	f[n], f[n+1] = "Cookie", "no-store"
	w.h["Set-Cookie"], w.h["Vary"], w.h["Cache-Control"] = f[:n:n], f[n:n+1:n+1], f[n+1:n+2:n+2]
}

// commit is Commit for a session that is not nil.
func (m *Manager) commit(st *state, status int, h headerWriter) error {
	st.mu.Lock()
	if st.committed {
		st.mu.Unlock()
		return nil
	}
	st.committed, st.commitGen = true, st.gen
	// Open now if the cookie is unopened: to see whether a session is due
	// for renewal, or (at no cryptographic cost) to report cookies that
	// cannot be sessions.
	open := !st.loaded && (!st.isPlausible() || m.renews)
	st.mu.Unlock()
	if open {
		st.load()
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	// A cookie that may be valid on another instance (its key is unknown
	// here, it was saved ahead of this clock, or the Revoker could not
	// check it) is left alone, unless the handler ended the session.
	if st.carriedCookie() && st.empty() && (!st.keep || st.flushed) {
		m.deleteCookies(st, h, 0)
		st.varied = true
		return nil
	}
	if st.accessed {
		// Added as the function returns, with the other fields when the
		// session is saved.
		defer h.vary()
		st.varied = true
	}
	// The clock is read only for a session that may need sealing.
	if st.empty() || !(st.modified || st.reseal || (st.fromCookie && m.renews)) || status >= 500 {
		m.deleteOrphans(st, h)
		return nil
	}
	t := m.now()
	now := unixNano(t)
	due := st.fromCookie && m.renews && now-st.SavedAt >= m.renewAfter
	if !(st.modified || st.reseal || due) {
		m.deleteOrphans(st, h)
		return nil
	}
	issuedAt, savedAt, deadline := st.times(now, st.modified || due || !st.fromCookie)
	if deadline <= now {
		// Expired by its own rule (a past ExpiresAt, IdleFor of zero or
		// less): never seal a dead session.
		if st.carriedCookie() {
			m.deleteCookies(st, h, 0)
			st.varied = true
		}
		return nil
	}
	id := st.ID
	if id == nil {
		// A new session: its ID lives in its content. Nothing else holds
		// it until it is stored below.
		rand.Read(st.idBuf[:]) // never fails: Go crashes the program instead
		id = st.idBuf[:]
	}
	p := st.toSeal(id, issuedAt, savedAt, deadline)
	gen := st.gen
	if rev := m.cfg.Revoker; st.fromCookie && rev != nil {
		// Do not write back a session that a concurrent request (a logout
		// in another tab) revoked while this one ran. The Revoker runs
		// with no lock held, so what is sealed is a copy taken now: a
		// change made meanwhile is late, and reported as such.
		info := st.info()
		p.Data, p.Flashes, p.Ext = maps.Clone(p.Data), slices.Clone(p.Flashes), slices.Clone(p.Ext)
		st.mu.Unlock()
		err := rev.Check(st.ctx, info)
		st.mu.Lock()
		switch {
		case errors.Is(err, ErrRevoked):
			m.deleteCookies(st, h, 0)
			st.varied = true
			return fmt.Errorf("%w: revoked during the request: %v", ErrRevoked, err)
		case err != nil:
			// The session could not be checked: it is not written back,
			// and the cookie the browser holds stays as it is.
			return fmt.Errorf("cookiesession: session not saved: %w", &checkError{err})
		}
	}
	var room [format.MaxChunks]string
	ring := st.keyring(t)
	lines, err := m.seal(room[:0], ring, st.expiry, &p, now)
	if err != nil {
		return err
	}
	m.stats.key(ring.Primary().ID()).sealed.Add(1)
	if st.reseal {
		m.stats.key(st.keyID).resealed.Add(1)
	}
	if st.gen == gen {
		// The session as sealed is what this request sees from now on.
		st.ID, st.IssuedAt, st.SavedAt, st.Deadline = id, issuedAt, savedAt, deadline
	}
	h.saved(lines)
	m.deleteCookies(st, h, len(lines))
	st.varied = true
	return nil
}

// times returns the times the session carries if it is sealed at now: a
// save starts its idle window again, a re-seal that only moves it to the
// primary key keeps them. A session issued by an instance whose clock is
// ahead of this one (within ClockSkew, or a second) is saved at its issue
// time at the earliest, so that issued <= saved always holds. Called with
// st.mu held.
func (st *state) times(now int64, save bool) (issuedAt, savedAt, deadline int64) {
	issuedAt, savedAt, deadline = st.IssuedAt, st.SavedAt, st.Deadline
	if st.ID == nil {
		issuedAt = now
	}
	if save {
		savedAt = max(now, issuedAt)
		deadline = st.m.deadline(st.expiry, issuedAt, savedAt)
	}
	return issuedAt, savedAt, deadline
}

// toSeal returns the payload that seals the session with the given ID
// and times. Called with st.mu held.
func (st *state) toSeal(id []byte, issuedAt, savedAt, deadline int64) payload {
	return payload{
		ID: id, IssuedAt: issuedAt, SavedAt: savedAt, Deadline: deadline,
		Expiry: st.expiry.wire(), Subject: st.Subject, Data: st.Data, RawData: st.RawData, Value: st.Value, Flashes: st.Flashes, Ext: st.Ext,
	}
}

// hasToken reports whether a comma-separated header field holds token,
// compared case-insensitively.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(part, "=")
			if strings.EqualFold(strings.TrimSpace(name), token) {
				return true
			}
		}
	}
	return false
}
