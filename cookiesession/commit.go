package cookiesession

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
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
	open := !st.loaded && (!st.plausible || m.renews)
	st.mu.Unlock()
	if open {
		st.load()
	}
	now := unixNano(m.now())

	st.mu.Lock()
	defer st.mu.Unlock()
	// A cookie that may be valid on another instance (its key is unknown
	// here, it was saved ahead of this clock, or the Revoker could not
	// check it) is left alone, unless the handler ended the session.
	if st.carried && st.empty() && (!st.keep || st.flushed) {
		m.deleteCookie(h)
		st.varied = true
		return nil
	}
	if st.accessed {
		h.vary()
		st.varied = true
	}
	due := st.fromCookie && m.renews && now-st.savedAt >= m.renewAfter
	if st.empty() || !(st.modified || st.reseal || due) || status >= 500 {
		return nil
	}
	// A re-seal that only moves the session to the primary key keeps its
	// times; anything else is a save. A session issued by an instance
	// whose clock is ahead of this one (within ClockSkew) is saved at its
	// issue time at the earliest, so that issued <= saved always holds.
	issuedAt, savedAt, deadline := st.issuedAt, st.savedAt, st.deadline
	if st.id == nil {
		issuedAt = now
	}
	if st.modified || due || !st.fromCookie {
		savedAt = max(now, issuedAt)
		deadline = m.deadline(st.expiry, issuedAt, savedAt)
	}
	if deadline <= now {
		// Expired by its own rule (a past ExpiresAt, IdleFor of zero or
		// less): never seal a dead session.
		if st.carried {
			m.deleteCookie(h)
			st.varied = true
		}
		return nil
	}
	id := st.id
	if id == nil {
		id = newID()
	}
	p := payload{
		ID: id, IssuedAt: issuedAt, SavedAt: savedAt, Deadline: deadline,
		Expiry: st.expiry.wire(), Subject: st.subject, Data: st.data, Value: st.value, Flashes: st.flashes, Ext: st.ext,
	}
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
			m.deleteCookie(h)
			st.varied = true
			return fmt.Errorf("%w: revoked during the request: %v", ErrRevoked, err)
		case err != nil:
			// The session could not be checked: it is not written back,
			// and the cookie the browser holds stays as it is.
			return fmt.Errorf("cookiesession: session not saved: %w", &checkError{err})
		}
	}
	c, err := m.seal(st.ring, st.expiry, &p, now)
	if err != nil {
		return err
	}
	if st.gen == gen {
		// The session as sealed is what this request sees from now on.
		st.id, st.issuedAt, st.savedAt, st.deadline = id, issuedAt, savedAt, deadline
	}
	h.setCookie(c)
	h.vary()
	h.noStore()
	st.varied = true
	return nil
}

// seal encodes and seals p and returns the Set-Cookie value.
func (m *Manager) seal(ring *rotation.Keyring, e Expiry, p *payload, now int64) (string, error) {
	pt := appendPayload(nil, p)
	// A payload that cannot fit one cookie is refused before sealing.
	if crypto.Overhead+len(pt) > format.MaxChunkLen/4*3 {
		return "", &TooLargeError{Size: len(m.name) + 1 + (4*(crypto.Overhead+len(pt))+2)/3, Limit: MaxCookieSize}
	}
	if ring == nil {
		return "", errNoKeyring
	}
	sealed, err := ring.Seal(nil, pt, m.ad)
	if err != nil {
		return "", err
	}
	value := format.Encode(sealed)
	var c *http.Cookie
	if m.browserSession(e) {
		c = m.cookie(value, 0, time.Time{})
	} else {
		// Max-Age, in whole seconds, never points past the sealed deadline
		// by a second or more, nor past what browsers honour.
		sec := now / int64(time.Second)
		age := int(min(max((p.Deadline-now)/int64(time.Second), 1), maxMaxAge))
		c = m.cookie(value, age, time.Unix(sec+int64(age), 0))
	}
	if err := c.Valid(); err != nil {
		return "", fmt.Errorf("cookiesession: refusing to send an invalid cookie: %v", err)
	}
	line := c.String()
	if n := len(c.Name) + len(c.Value); n > MaxCookieSize {
		return "", &TooLargeError{Size: n, Limit: MaxCookieSize}
	}
	if len(line) > m.cfg.MaxCookieSize {
		return "", &TooLargeError{Size: len(line), Limit: m.cfg.MaxCookieSize}
	}
	return line, nil
}

// deleteCookie adds the deletion of the session cookie to h: an empty value,
// Max-Age=0 and an Expires in 1970, with the cookie's own Path, Domain,
// Secure, HttpOnly, SameSite and Partitioned, so the browser matches it.
func (m *Manager) deleteCookie(h headerWriter) {
	h.setCookie(m.cookie("", -1, time.Unix(0, 0)).String())
	h.vary()
	h.noStore()
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
