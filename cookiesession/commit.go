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
	"github.com/crumbhq/crumb/rotation"
)

// Commit decides what the response must say about s, once its status is
// known, and returns the header fields to add to it: Set-Cookie, Vary and
// Cache-Control. It is the one implementation behind [Manager.Handler] and
// [Manager.Save]; serverless and edge handlers call it directly and add the
// fields with [MergeHeader], or copy them into their response type.
//
// The rules are Django's, made stricter:
//
//   - If the request carried the session cookie and the session is now
//     empty (flushed, or the cookie was bad), the cookie is deleted.
//   - Otherwise, if the session was accessed, the response varies on
//     Cookie.
//   - A non-empty session is sealed into a new cookie if it was modified,
//     was opened with a key that is no longer primary (re-sealed under the
//     primary, its times kept), or is due for renewal (Config.RenewAfter,
//     Config.SaveEveryRequest); but not for a status of 500 or more. A
//     session past its deadline is deleted instead.
//   - Every response that sets or deletes the cookie varies on Cookie and
//     is marked Cache-Control: no-store, so no shared cache keeps it.
//
// A session is committed once; later calls return nothing, and changes
// made after the first call are not saved. The error is non-nil when a
// session that should have been saved was not: it is too large (a
// [*TooLargeError]; no Set-Cookie is sent, so the browser keeps its
// previous cookie), or a concurrent request revoked it (ErrRevoked).
func (m *Manager) Commit(s *Session, status int) (http.Header, error) {
	st := s.state()
	if st == nil {
		return nil, ErrNoSession
	}
	st.mu.Lock()
	if st.committed {
		st.mu.Unlock()
		return nil, nil
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
	h := http.Header{}
	// A cookie that may be valid on another instance (its key is unknown
	// here, it was saved ahead of this clock, or the Revoker could not
	// check it) is left alone, unless the handler ended the session.
	if st.carried && st.empty() && (!st.keep || st.flushed) {
		m.deleteCookie(h)
		st.varied = true
		return h, nil
	}
	if st.accessed {
		h.Set("Vary", "Cookie")
		st.varied = true
	}
	due := st.fromCookie && m.renews && now-st.savedAt >= m.renewAfter
	if st.empty() || !(st.modified || st.reseal || due) || status >= 500 {
		return h, nil
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
		return h, nil
	}
	id := st.id
	if id == nil {
		id = newID()
	}
	p := payload{
		ID: id, IssuedAt: issuedAt, SavedAt: savedAt, Deadline: deadline,
		Expiry: st.expiry.wire(), Subject: st.subject, Data: st.data, Value: st.value, Flashes: st.flashes,
	}
	gen := st.gen
	if rev := m.cfg.Revoker; st.fromCookie && rev != nil {
		// Do not write back a session that a concurrent request (a logout
		// in another tab) revoked while this one ran. The Revoker runs
		// with no lock held, so what is sealed is a copy taken now: a
		// change made meanwhile is late, and reported as such.
		info := st.info()
		p.Data, p.Flashes = maps.Clone(p.Data), slices.Clone(p.Flashes)
		st.mu.Unlock()
		err := rev.Check(st.ctx, info)
		st.mu.Lock()
		switch {
		case errors.Is(err, ErrRevoked):
			m.deleteCookie(h)
			st.varied = true
			return h, fmt.Errorf("%w: revoked during the request: %v", ErrRevoked, err)
		case err != nil:
			// The session could not be checked: it is not written back,
			// and the cookie the browser holds stays as it is.
			return h, fmt.Errorf("cookiesession: session not saved: %w", &checkError{err})
		}
	}
	c, err := m.seal(st.ring, st.expiry, &p, now)
	if err != nil {
		return h, err
	}
	if st.gen == gen {
		// The session as sealed is what this request sees from now on.
		st.id, st.issuedAt, st.savedAt, st.deadline = id, issuedAt, savedAt, deadline
	}
	h.Add("Set-Cookie", c)
	h.Set("Vary", "Cookie")
	h.Set("Cache-Control", "no-store")
	st.varied = true
	return h, nil
}

// seal encodes and seals p and returns the Set-Cookie value.
func (m *Manager) seal(ring *rotation.Keyring, e Expiry, p *payload, now int64) (string, error) {
	pt, err := encMode.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrEncode, err) // unreachable: values were encoded by Set
	}
	// A payload that cannot fit one cookie is refused before sealing.
	if crypto.Overhead+len(pt) > crypto.MaxChunkLen/4*3 {
		return "", &TooLargeError{Size: len(m.name) + 1 + (4*(crypto.Overhead+len(pt))+2)/3, Limit: MaxCookieSize}
	}
	if ring == nil {
		return "", errNoKeyring
	}
	sealed, err := ring.Seal(nil, pt, m.context)
	if err != nil {
		return "", err
	}
	value := crypto.Encode(sealed)
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
func (m *Manager) deleteCookie(h http.Header) {
	h.Add("Set-Cookie", m.cookie("", -1, time.Unix(0, 0)).String())
	h.Set("Vary", "Cookie")
	h.Set("Cache-Control", "no-store")
}

// Save commits s as for a successful response and adds the resulting header
// fields to w's header. Call it before the handler writes the status or
// body. It is for handlers that use [Manager.LoadRequest] rather than
// [Manager.Handler]; under Handler the session is saved automatically.
func (m *Manager) Save(w http.ResponseWriter, s *Session) error {
	h, err := m.Commit(s, http.StatusOK)
	MergeHeader(w.Header(), h)
	return err
}

// MergeHeader adds the fields returned by [Manager.Commit] to dst: every
// Set-Cookie; "Cookie" to Vary unless dst already varies on it (or on *);
// "no-store" to Cache-Control unless dst already has it. Existing values
// are kept: a no-store directive overrides any caching they allow.
func MergeHeader(dst, fields http.Header) {
	for _, c := range fields["Set-Cookie"] {
		dst.Add("Set-Cookie", c)
	}
	if fields.Get("Vary") != "" && !hasToken(dst["Vary"], "Cookie") && !hasToken(dst["Vary"], "*") {
		dst.Add("Vary", "Cookie")
	}
	if fields.Get("Cache-Control") != "" && !hasToken(dst["Cache-Control"], "no-store") {
		dst.Add("Cache-Control", "no-store")
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
