package cookiesession

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
)

// Load returns the session carried by the given Cookie header values, for
// code that serves requests without [Manager.Handler]: serverless and edge
// handlers, or a net/http handler that manages its session itself (pass
// r.Header["Cookie"]...). Pass every Cookie header (HTTP/2 may split
// them), or the "name=value" strings of API Gateway's and Lambda function
// URLs' cookies list: both parse alike. Pair it with [Manager.Commit].
//
// Nothing is decrypted yet: the cookie is opened on the session's first
// use. A cookie that is missing, malformed, forged, expired or revoked
// gives an empty session, and [Session.Err] says why. Load never fails.
func (m *Manager) Load(ctx context.Context, cookieHeaders ...string) *Session {
	return m.newSession(ctx, cookieHeaders)
}

// newSession returns the session of a request with the given Cookie
// header values.
func (m *Manager) newSession(ctx context.Context, cookieHeaders []string) *Session {
	b := new(sessionBox)
	m.initState(&b.st, ctx, cookieHeaders)
	b.st.spare = &b.c
	b.s.bind(&b.st)
	return &b.s
}

// initState sets up the zero state st for a request with the given
// Cookie header values: the values of the session cookie, and its chunks,
// read in one pass with no allocation. Nothing else happens until the
// session is used: the keys and the clock are read then.
func (m *Manager) initState(st *state, ctx context.Context, cookieHeaders []string) {
	st.m, st.ctx = m, ctx
	st.readCookies(cookieHeaders)
}

// plausible reports, without cryptography, whether v, a value in the
// alphabet of the text form, can be a session cookie: a crumb value of
// sensible length, in no more chunks than Config.MaxChunks.
func (m *Manager) plausible(v string) bool {
	h, ok := format.HeaderOf(v)
	if !ok || len(v) > format.MaxChunkLen || h.Chunks > m.cfg.MaxChunks {
		return false
	}
	return h.Chunks > 1 || format.ValidLength(len(v))
}

// errFuture rejects a cookie saved later than this instance's clock allows:
// it is authentic, and may be valid on an instance whose clock is ahead.
var errFuture = crypto.Invalid(crypto.ReasonPayload)

// minFuture is the least a cookie may have been saved in the future of
// this instance's clock, whatever Config.ClockSkew says: clocks of
// instances that agree to the millisecond still differ by some, and those
// of WebAssembly hosts tick in milliseconds (Cloudflare's Workers' stand
// still during a request), so a cookie saved natively and read at the
// edge within the same millisecond would otherwise be refused. A second
// more of life is all a cookie can gain by it.
const minFuture = int64(time.Second)

// origin says where an opened session came from.
type origin struct {
	rotation.Opened     // the key that opened it, and whether it is not the primary
	chunks          int // how many cookies it came in
}

// open turns one cookie value, with the chunks it names from chunks,
// into a session payload, checking, in order: chunk count, length and
// encoding, key ID, authentication, payload, deadline, NotBefore and the
// Revoker. It runs no lock of crumb's: the Revoker may take its time.
//
// The session is decoded into c, which open clears first: the caller's
// spare content, or nil for a new one.
func (m *Manager) open(ctx context.Context, ring *rotation.Keyring, value string, chunks *chunkSet, now int64, c *content) (*content, origin, error) {
	text, n, err := m.assemble(value, chunks)
	if err != nil {
		return nil, origin{}, err
	}
	if ring == nil {
		return nil, origin{}, errNoKeyring
	}
	pt, opened, err := openText(ring, text, n, m.ad)
	if err != nil {
		return nil, origin{}, err
	}
	if c == nil {
		c = new(content)
	}
	*c = content{}
	p := &c.payload
	if err := decodePayload(pt, p); err != nil {
		return nil, origin{}, err
	}
	e := Expiry{}
	if p.Expiry != nil {
		e, _ = p.Expiry.expiry()
	}
	// The sealed deadline binds; the current configuration may only
	// shorten it (a lowered Lifetime or a new AbsoluteLifetime applies to
	// live sessions at once).
	p.Deadline = min(p.Deadline, m.deadline(e, p.IssuedAt, p.SavedAt))
	switch {
	case now >= addSat(p.Deadline, m.skew):
		return nil, origin{}, ErrExpired
	case p.SavedAt > addSat(now, max(m.skew, minFuture)):
		return nil, origin{}, errFuture
	case p.IssuedAt < m.notBefore:
		return nil, origin{}, fmt.Errorf("%w: issued before Config.NotBefore", ErrRevoked)
	}
	if m.cfg.Revoker != nil {
		info := p.info()
		info.KeyID = opened.KeyID
		if err := m.cfg.Revoker.Check(ctx, info); err != nil {
			if errors.Is(err, ErrRevoked) {
				return nil, origin{}, err
			}
			return nil, origin{}, &checkError{err}
		}
	}
	return c, origin{opened, n}, nil
}

// mayLiveElsewhere reports whether a cookie rejected with err may still be
// valid on another instance (one holding a key this one lacks, or whose
// clock is ahead), so that the response must leave it alone. Tampered,
// malformed, expired and revoked cookies are dead everywhere.
func mayLiveElsewhere(err error) bool {
	var ce *checkError
	return crypto.ReasonOf(err) == crypto.ReasonUnknownKey || err == errFuture || errors.Is(err, errNoKeyring) || errors.As(err, &ce)
}

// checkError is a Revoker.Check failure other than a revocation (a store
// that is down or slow): the session is not used for this request, and
// its cookie is kept.
type checkError struct{ err error }

func (e *checkError) Error() string {
	return "cookiesession: Revoker.Check failed; the session is not used for this request: " + e.err.Error()
}

func (e *checkError) Unwrap() error { return e.err }

func (p *payload) info() Info {
	return Info{
		ID:       encodeID(p.ID),
		Subject:  p.Subject,
		IssuedAt: time.Unix(0, p.IssuedAt),
		SavedAt:  time.Unix(0, p.SavedAt),
		Expires:  time.Unix(0, p.Deadline),
	}
}

func newID() []byte {
	id := make([]byte, idLen)
	rand.Read(id) // never fails: Go crashes the program instead
	return id
}
