package cookiesession

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/textproto"
	"strings"
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

// readCookies reads the session's cookies from the request's Cookie
// header values exactly as net/http's Request.Cookies does (pairs
// separated by ";", spaces trimmed, a value in double quotes unquoted, a
// value with other than cookie octets skipped, no cookies at all past
// 3000), in one pass with no allocation. The same pass notes whether each
// value is in the text form's alphabet, so opening it checks no character
// twice.
func (st *state) readCookies(headers []string) {
	if !withinMaxCookies(headers) {
		return
	}
	m := st.m
	for _, line := range headers {
		for len(line) > 0 {
			var name, value string
			name, value, line = nextCookie(line, m.name)
			if name == "" {
				continue
			}
			if name == m.name {
				st.addCandidate(value)
				continue
			}
			if octets, _ := classify(value); !octets {
				continue // net/http skips it
			}
			if i := chunkIndex(name, m.name); i > 0 {
				st.headers = headers // read again if the chunks are needed
				st.chunksSeen = max(st.chunksSeen, i+1)
			}
		}
	}
}

// addCandidate keeps value, a value of the session cookie, if there is
// room. Its characters are checked later, when they matter, and once: a
// value net/http would skip (not cookie octets) is then no candidate and
// was not carried. Only when a fifth value comes are the kept ones
// checked now, to make room for it, so that the candidates are always the
// first values net/http would give.
func (st *state) addCandidate(value string) {
	if st.nCandidates == len(st.candidates) {
		n := 0
		for i := range st.nCandidates {
			if st.class(i)&octetBit != 0 {
				st.candidates[n], st.classes[n] = st.candidates[i], st.classes[i]
				n++
			}
		}
		st.nCandidates = n
		if n == len(st.candidates) {
			if octets, _ := classify(value); octets {
				st.extraCarried = true
			}
			return
		}
	}
	st.candidates[st.nCandidates], st.classes[st.nCandidates] = value, 0
	st.nCandidates++
}

// class returns the class of candidate i (octetBit, textBit), computing
// it on first use.
func (st *state) class(i int) byte {
	if st.classes[i]&classKnown == 0 {
		c := byte(classKnown)
		if octets, text := classify(st.candidates[i]); octets {
			c |= octetBit
			if text {
				c |= textBit
			}
		}
		st.classes[i] = c
	}
	return st.classes[i]
}

// carriedCookie reports whether the request carried the session cookie:
// a value of its name that net/http reads. Callers hold st.mu, or own st.
func (st *state) carriedCookie() bool {
	if st.extraCarried {
		return true
	}
	for i := range st.nCandidates {
		if st.class(i)&octetBit != 0 {
			return true
		}
	}
	return false
}

// isPlausible reports whether some candidate may be a valid session
// cookie, judging by its characters and header alone. Callers hold st.mu.
func (st *state) isPlausible() bool {
	for i := range st.nCandidates {
		if st.class(i)&textBit != 0 && st.m.plausible(st.candidates[i]) {
			return true
		}
	}
	return false
}

// withinMaxCookies reports whether headers hold no more cookies than
// net/http reads.
func withinMaxCookies(headers []string) bool {
	size := 0
	for _, line := range headers {
		size += len(line)
	}
	if size < 2*maxCookies {
		return true // each cookie but the last takes a character and a ";"
	}
	n := 0
	for _, line := range headers {
		n += strings.Count(line, ";") + 1
	}
	return n <= maxCookies
}

// nextCookie splits the first pair off a Cookie header line, as net/http
// does, and returns the rest of the line. It returns an empty name, and
// does not trim the value, for a cookie whose name does not start with
// prefix.
func nextCookie(line, prefix string) (name, value, rest string) {
	part, rest, _ := strings.Cut(line, ";")
	name, value, _ = strings.Cut(part, "=")
	name = textproto.TrimString(name)
	if !strings.HasPrefix(name, prefix) {
		return "", "", rest
	}
	value = textproto.TrimString(value)
	if len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	return name, value, rest
}

// chunkCookies returns the chunk cookies of the session that the request
// carried, reading its Cookie headers again: only a request that carries
// chunks pays for this.
func (st *state) chunkCookies() chunkSet {
	var set chunkSet
	m := st.m
	for _, line := range st.headers {
		for len(line) > 0 {
			var name, value string
			name, value, line = nextCookie(line, m.name)
			i := chunkIndex(name, m.name)
			if i == 0 {
				continue
			}
			if octets, _ := classify(value); !octets {
				continue
			}
			set.values[i] = value
			set.count[i] = min(set.count[i]+1, 2)
			set.carried = max(set.carried, i+1)
		}
	}
	return set
}

// maxCookies is net/http's limit on the cookies of one request (the
// default of GODEBUG httpcookiemaxnum): a request with more has none.
const maxCookies = 3000

// classify reports whether every byte of v is a cookie octet that net/http
// accepts in a value, and whether every byte is in the alphabet of the
// text form (unpadded base64url), in one pass.
func classify(v string) (octets, text bool) {
	acc := byte(octetBit | textBit)
	for i := 0; i < len(v); i++ {
		acc &= byteClass[v[i]]
	}
	return acc&octetBit != 0, acc&textBit != 0
}

const (
	octetBit   = 1 << iota // a byte net/http accepts in a cookie value
	textBit                // a byte of unpadded base64url
	classKnown             // for a candidate: its class has been computed
)

var byteClass = func() (c [256]byte) {
	for b := 0x20; b < 0x7f; b++ {
		if b != '"' && b != ';' && b != '\\' {
			c[b] = octetBit
		}
	}
	for _, b := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		c[b] |= textBit
	}
	return c
}()

// chunkIndex returns i if name is name.i of a chunk of the session cookie
// base (1 to 9), or 0.
func chunkIndex(name, base string) int {
	if len(name) != len(base)+2 || name[len(base)] != '.' || name[len(base)+1] < '1' || name[len(base)+1] > '9' {
		return 0
	}
	return int(name[len(base)+1] - '0')
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
	case p.SavedAt > addSat(now, m.skew):
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
