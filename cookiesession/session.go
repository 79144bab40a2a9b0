package cookiesession

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
	"github.com/fxamacker/cbor/v2"
)

// A Session is one request's view of a user's session: Django's
// request.session for Go. Get one from [FromContext] inside [Manager.Handler],
// or from [Manager.Load] in code that serves requests without it.
//
// The incoming cookie is opened lazily, by the first method that needs the
// data: a request that never touches its session costs no decryption.
// Every data method marks the session accessed (the response then varies
// on Cookie); methods that change it mark it modified (the response then
// carries a new cookie). Values are stored as CBOR: read them back with
// [Get] and [Pop], typed by the caller, with no registration.
//
// A Session is safe for concurrent use by the goroutines of one request.
// The methods of a nil *Session, which FromContext returns outside
// Handler, do nothing and return [ErrNoSession] where they return an error.
//
// Printing a Session (with fmt, log or log/slog, in any position) shows its
// ID and number of keys, never the cookie, which is a bearer credential,
// nor the data.
type Session struct {
	// The state is captured by a closure: fmt and other reflection-based
	// printers, which cannot call Session's methods on a Session value or
	// on one held in an unexported field, print a func as an address in
	// every position and never reach what it captured.
	get func() *state
}

// bind makes s the Session of st.
func (s *Session) bind(st *state) { s.get = func() *state { return st } }

// sessionBox is a Session and its state in one allocation.
type sessionBox struct {
	st state
	s  Session
	c  content // the state's spare: Load's sessions are almost always used
}

// state returns the session's state, or nil for a nil Session.
func (s *Session) state() *state {
	if s == nil || s.get == nil {
		return nil
	}
	return s.get()
}

// state is a Session's state.
type state struct {
	m   *Manager
	ctx context.Context

	loadOnce sync.Once // opens the cookie, with no lock held
	mu       sync.Mutex

	// Everything below is guarded by mu.

	ring    *rotation.Keyring // the keys of this request, from its first use of them
	ringSet bool

	// The request's cookies.
	candidates   [maxCandidates]string // values of cookies with the session's name
	classes      [maxCandidates]byte   // their classes, once known: see state.class
	nCandidates  int
	extraCarried bool     // the request carried more values of the session cookie than it has room for
	plausibility byte     // 0 not yet known, 1 no candidate is plausible, 2 one is: see state.isPlausible
	headers      []string // its Cookie headers, if it carried chunks
	chunksSeen   int      // one more than the highest index of a chunk cookie it carried
	loaded       bool     // candidates have been opened (or given up on)
	keep         bool     // a rejected candidate may be valid on another instance: never delete it
	loadErr      error    // why no candidate became the session, if one was carried

	// The session: nil until it is used, or opened from a cookie, so that
	// a request that never touches its session does not allocate one.
	*content
	// spare is where the content goes when it is needed, if it was
	// allocated with the state; nil to allocate it then. Only load, before
	// the content is set, and newContent use it.
	spare *content

	fromCookie bool         // ID, IssuedAt, SavedAt and Deadline came from a valid cookie
	keyID      crypto.KeyID // the key that sealed that cookie
	chunks     int          // how many cookies it came in
	reseal     bool         // the cookie was sealed under a non-primary key
	accessed   bool
	modified   bool
	flushed    bool // Flush ended the session: the cookie goes, whatever keep says

	committed  bool
	varied     bool   // the commit sent Vary: Cookie
	lateAccess bool   // read after a commit that sent no Vary: Cookie
	gen        uint64 // counts changes, to detect changes after commit
	commitGen  uint64
}

// content is what a session holds. Its payload fields are the session as
// sealed in the incoming cookie, or as this request changed it (ID nil
// until the first save; Deadline as sealed, or by this request's save);
// its Expiry field is not used once the cookie is read: expiry is.
type content struct {
	payload
	idBuf  [idLen]byte // the ID of a session this request starts
	expiry Expiry
	// loadedExpiry is the rule the cookie came with, which copies of it
	// share whatever this request sets.
	loadedExpiry Expiry
}

// load opens the incoming cookie, once, with no lock held: the Revoker's
// Check and the reporting hooks are the application's code. Concurrent
// callers wait for the first; the hooks that report rejected cookies run
// after the session is loaded, so they may use it.
func (s *state) load() {
	var errs []error
	s.loadOnce.Do(func() {
		s.mu.Lock()
		none := s.nCandidates == 0
		if none {
			s.loaded = true // nothing to open: no clock, no keys
		}
		s.mu.Unlock()
		if none {
			return
		}
		t := s.m.now()
		now := unixNano(t)
		s.mu.Lock()
		candidates := s.candidates[:s.nCandidates]
		var chunks chunkSet
		if s.chunksSeen > 0 {
			chunks = s.chunkCookies()
		}
		ring := s.keyring(t)
		s.mu.Unlock()
		var c *content
		var from origin
		var keep bool
		var parsed [maxCandidates]bool // the text form decoded: all its characters are in the alphabet
		for i, v := range candidates {
			var err error
			c, from, err = s.m.open(s.ctx, ring, v, &chunks, now, s.spare)
			parsed[i] = err == nil || (crypto.ReasonOf(err) != crypto.ReasonMalformed && !errors.Is(err, errNoKeyring))
			if err == nil {
				s.m.stats.key(from.KeyID).opened.Add(1)
				break
			}
			if crypto.ReasonOf(err) == crypto.ReasonMalformed {
				if octets, _ := classify(v); !octets {
					continue // net/http skips it: no cookie, nothing to report
				}
			}
			s.m.stats.rejected(v, err)
			errs = append(errs, err)
			keep = keep || mayLiveElsewhere(err)
		}
		s.mu.Lock()
		for i, ok := range parsed {
			if ok {
				s.classes[i] = classKnown | octetBit | textBit
			}
		}
		s.loaded, s.keep = true, keep
		if c == nil && len(errs) > 0 {
			s.loadErr = errs[0]
		}
		if c != nil {
			if c.Expiry != nil {
				c.expiry, _ = c.Expiry.expiry()
			}
			c.loadedExpiry = c.expiry
			s.content = c
			if c == s.spare {
				s.spare = nil
			}
			s.fromCookie, s.reseal, s.keyID, s.chunks = true, from.Reseal, from.KeyID, from.chunks
		}
		s.mu.Unlock()
	})
	for _, err := range errs { // only the caller that loaded has any
		kind := rejected
		var ce *checkError
		if errors.Is(err, errNoKeyring) || errors.As(err, &ce) {
			kind = notOpened
		}
		s.m.report(s.ctx, err, kind)
	}
}

// newContent returns the spare content, or a new one. Callers hold s.mu,
// after load.
func (s *state) newContent() *content {
	if c := s.spare; c != nil {
		s.spare = nil
		*c = content{}
		return c
	}
	return new(content)
}

// keyring returns the keys of this request: Config.Keys at the time of
// their first use, the same from then on. Callers hold s.mu.
func (s *state) keyring(now time.Time) *rotation.Keyring {
	if !s.ringSet {
		s.ring, s.ringSet = s.m.cfg.Keys.At(now), true
	}
	return s.ring
}

// isModified reports whether the session changed in this request.
func (s *state) isModified() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modified
}

// use opens the session if needed, locks it and marks it accessed. It
// returns nil, locking nothing, for a nil session. Callers unlock st.mu.
func (s *Session) use() *state {
	st := s.state()
	if st == nil {
		return nil
	}
	st.load()
	st.mu.Lock()
	if st.content == nil {
		st.content = st.newContent()
	}
	if st.committed && !st.varied && st.carriedCookie() {
		st.lateAccess = true
	}
	st.accessed = true
	return st
}

// dataMap returns the session's data as a map, building it from the
// cookie's encoding on first need. Callers hold the state's mu.
func (c *content) dataMap() map[string]cbor.RawMessage {
	if c.RawData != nil {
		c.Data, c.RawData = c.RawData.build(), nil
	}
	return c.Data
}

// lookup returns the value stored under key, without building the map.
// Callers hold the state's mu.
func (c *content) lookup(key string) (cbor.RawMessage, bool) {
	if c == nil {
		return nil, false
	}
	if c.RawData != nil {
		return c.RawData.get(key)
	}
	v, ok := c.Data[key]
	return v, ok
}

// dataLen returns how many keys the session holds. Callers hold the
// state's mu.
func (c *content) dataLen() int {
	switch {
	case c == nil:
		return 0
	case c.RawData != nil:
		return c.RawData.len()
	}
	return len(c.Data)
}

// change marks the session modified. Callers hold s.mu.
func (s *state) change() {
	s.modified = true
	s.gen++
}

// empty reports whether the session has no content and no ID, without
// opening the cookie: an unopened plausible cookie counts as content, as a
// session key does in Django. Callers hold s.mu.
func (s *state) empty() bool {
	if !s.loaded && s.isPlausible() {
		return false
	}
	if s.content == nil {
		return true
	}
	return s.ID == nil && s.dataLen() == 0 && s.Value == nil && len(s.Flashes) == 0 &&
		s.expiry.kind == expDefault && s.Subject == ""
}

// IsEmpty reports whether the session holds nothing: no data, no ID, no
// custom expiry and no unopened cookie that may be valid. It never opens the
// cookie and does not mark the session accessed.
func (s *Session) IsEmpty() bool {
	st := s.state()
	if st == nil {
		return true
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.empty()
}

// Err reports why the cookie the request carried did not become its
// session, or nil if it did or there was none. It opens the session. The
// error matches ErrInvalid (malformed, forged, sealed by a key this
// instance lacks: crypto.ReasonOf says which), ErrExpired or ErrRevoked, or
// none of them for a failure that is not the cookie's (missing keys, a
// Revoker that could not check); its message is for logs. To tell the
// user, match the class: "your session expired, please log in again" for
// ErrExpired, for instance.
func (s *Session) Err() error {
	st := s.use()
	if st == nil {
		return ErrNoSession
	}
	defer st.mu.Unlock()
	return st.loadErr
}

// Accessed reports whether the session has been used in this request.
func (s *Session) Accessed() bool {
	st := s.state()
	if st == nil {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.accessed
}

// Modified reports whether the session has changed in this request, so that
// the response will carry a new cookie.
func (s *Session) Modified() bool {
	st := s.state()
	if st == nil {
		return false
	}
	return st.isModified()
}

// MarkModified makes the response carry a freshly sealed cookie, as
// Django's session.modified = True does. Django needs it after changing a
// nested value in place; crumb never hands out stored values, only decoded
// copies, so store a changed value back with Set instead (which marks the
// session modified). MarkModified is for forcing a save, such as to renew
// an idle window.
func (s *Session) MarkModified() {
	st := s.use()
	if st == nil {
		return
	}
	defer st.mu.Unlock()
	st.change()
}

// ID returns the session's ID: 22 URL-safe characters (128 random bits)
// sealed inside the cookie, stable across saves, renewed by CycleKey. It
// is safe to log and to key server-side records on; it is not the cookie
// value, and a client cannot choose it. A session never saved has no ID
// (""). Reading it opens the session.
func (s *Session) ID() string {
	st := s.use()
	if st == nil {
		return ""
	}
	defer st.mu.Unlock()
	return encodeID(st.ID)
}

func encodeID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// Info returns the session's ID, subject and times. For a session not yet
// saved, the times are zero. It opens the session.
func (s *Session) Info() Info {
	st := s.use()
	if st == nil {
		return Info{}
	}
	defer st.mu.Unlock()
	return st.info()
}

func (s *state) info() Info {
	i := Info{ID: encodeID(s.ID), Subject: s.Subject, KeyID: s.keyID}
	if s.ID != nil {
		i.IssuedAt, i.SavedAt, i.Expires = time.Unix(0, s.IssuedAt), time.Unix(0, s.SavedAt), time.Unix(0, s.Deadline)
	}
	return i
}

// Subject returns what SetSubject stored.
func (s *Session) Subject() string {
	st := s.use()
	if st == nil {
		return ""
	}
	defer st.mu.Unlock()
	return st.Subject
}

// SetSubject records who the session belongs to, typically a user ID at
// login. It is sealed with the session and passed to Config.Revoker, so an
// application can end all of one user's sessions. It returns an error
// matching [ErrEncode], and changes nothing, if subject is not valid UTF-8.
func (s *Session) SetSubject(subject string) error {
	st := s.use()
	if st == nil {
		return ErrNoSession
	}
	defer st.mu.Unlock()
	if err := checkText("subject", subject); err != nil {
		return err
	}
	if st.Subject != subject {
		st.Subject = subject
		st.change()
	}
	return nil
}

// Set stores value under key (Django's s[key] = value) and marks the
// session modified, even if the value is unchanged. The value is encoded
// at once: Set returns an error matching [ErrEncode], and changes nothing,
// if it cannot be stored (see ErrEncode), or if key is not valid UTF-8;
// one matching [ErrTooLarge] if it is too large for any cookie.
func (s *Session) Set(key string, value any) error {
	if s.state() == nil {
		return ErrNoSession
	}
	raw, err := encodeValue(value)
	if err == nil {
		err = checkText("key", key)
	}
	st := s.use()
	defer st.mu.Unlock()
	if err != nil {
		return err
	}
	data := st.dataMap()
	if data == nil {
		data = make(map[string]cbor.RawMessage)
		st.Data = data
	}
	data[key] = raw
	st.change()
	return nil
}

// Delete removes key (Django's del s[key]) and reports whether it was
// there. The session is marked modified only if it was.
func (s *Session) Delete(key string) bool {
	st := s.use()
	if st == nil {
		return false
	}
	defer st.mu.Unlock()
	if _, ok := st.lookup(key); !ok {
		return false
	}
	delete(st.dataMap(), key)
	st.change()
	return true
}

// Has reports whether key is set (Django's key in s).
func (s *Session) Has(key string) bool {
	st := s.use()
	if st == nil {
		return false
	}
	defer st.mu.Unlock()
	_, ok := st.lookup(key)
	return ok
}

// Len returns the number of keys.
func (s *Session) Len() int {
	st := s.use()
	if st == nil {
		return 0
	}
	defer st.mu.Unlock()
	return st.dataLen()
}

// Keys returns the keys, sorted.
func (s *Session) Keys() []string {
	st := s.use()
	if st == nil {
		return nil
	}
	defer st.mu.Unlock()
	return slices.Sorted(maps.Keys(st.dataMap()))
}

// Items returns the keys and values as a new map (Django's items), each
// value decoded into Go's generic types: string, int64, float64, bool,
// []byte, []any, and map[string]any for maps whose keys are all strings
// (map[any]any otherwise, such as for structs stored with integer field
// keys). It is for showing a session, on a debugging page say; use [Get]
// for typed values.
func (s *Session) Items() (map[string]any, error) {
	st := s.use()
	if st == nil {
		return nil, ErrNoSession
	}
	data := maps.Clone(st.dataMap())
	st.mu.Unlock()
	items := make(map[string]any, len(data))
	for k, raw := range data {
		v, err := decodeAny(raw)
		if err != nil {
			return nil, err
		}
		items[k] = v
	}
	return items, nil
}

// Clear removes all data, the typed value, flashes, the subject and any
// custom expiry, keeping the ID (Django's clear). The emptied session is
// saved, not deleted, so its ID lives on; use Flush to end a session.
func (s *Session) Clear() {
	st := s.use()
	if st == nil {
		return
	}
	defer st.mu.Unlock()
	st.clear()
	st.change()
}

func (s *state) clear() {
	s.Data, s.RawData, s.Value, s.Flashes, s.Subject, s.expiry, s.Ext = nil, nil, nil, nil, "", DefaultExpiry, nil
}

// revokeUntil returns how long a Revoker must deny the session's ID if it
// ends now: see Manager.revokeUntil. The rule the cookie came with counts
// as much as the current one, so that changing the rule (Clear, SetExpiry)
// before the end cannot shorten the denial. Callers hold s.mu.
func (s *state) revokeUntil(now int64) int64 {
	return max(s.m.revokeUntil(s.expiry, s.IssuedAt, now), s.m.revokeUntil(s.loadedExpiry, s.IssuedAt, now))
}

// Flush ends the session, as at logout (Django's flush): it clears
// everything and drops the ID, so the response deletes the cookie. With a
// Config.Revoker, the old session ID is revoked for as long as any copy of
// it could be accepted (see [Revoker]), so a stolen copy of the cookie
// stops working too; without one, copies stay valid until their deadline,
// as with every stateless cookie. The error is the Revoker's; the session
// is flushed either way.
func (s *Session) Flush() error {
	st := s.use()
	if st == nil {
		return ErrNoSession
	}
	rev := st.m.cfg.Revoker
	revoke := rev != nil && st.fromCookie
	info := st.info()
	until := st.revokeUntil(unixNano(st.m.now()))
	st.clear()
	st.ID, st.fromCookie, st.reseal, st.flushed = nil, false, false, true
	st.change()
	st.mu.Unlock()
	if !revoke {
		return nil
	}
	return rev.Revoke(st.ctx, info, time.Unix(0, until))
}

// CycleKey gives the session a new ID and issue time, keeping its data and
// custom expiry (Django's cycle_key). Call it whenever privilege changes,
// such as at login, to defeat session fixation. A new ID starts a new
// session: Config.AbsoluteLifetime counts from now.
//
// With a Config.Revoker, the old ID is revoked, so the previous cookie
// stops working; the error is then the Revoker's, and the key is cycled
// either way. But first the session is checked again, as it is about to be
// re-issued (its ID and subject, issued now): if a concurrent request
// revoked its ID meanwhile (a logout in another tab), or the check itself
// fails, its contents are not carried into a new ID. The session is then
// emptied, as a revoked cookie gives an empty session, and CycleKey
// returns the error (matching [ErrRevoked] for a revocation); what the
// handler stores next starts a fresh session. A per-subject cut-off set
// before the call does not stop it: "log out everywhere else" is
// RevokeSubject(subject, now) followed by CycleKey.
func (s *Session) CycleKey() error {
	st := s.use()
	if st == nil {
		return ErrNoSession
	}
	rev := st.m.cfg.Revoker
	if rev == nil || !st.fromCookie {
		st.cycle()
		st.mu.Unlock()
		return nil
	}
	info := st.info()
	old := st.ID
	now := unixNano(st.m.now())
	until := st.revokeUntil(now)
	st.mu.Unlock()

	// Check the session as it is about to be re-issued: its ID and
	// subject, issued now. A revocation of the ID (a logout elsewhere)
	// rejects it; a subject cut-off set before now does not, so that "log
	// out everywhere else" (RevokeSubject at t, then CycleKey) keeps this
	// session. The Revoker runs with no lock held; another goroutine of
	// this request may change the session meanwhile, so the outcome
	// applies only if the session is still the one checked.
	reissued := info
	reissued.IssuedAt = time.Unix(0, now)
	if err := rev.Check(st.ctx, reissued); err != nil {
		st.mu.Lock()
		if string(st.ID) == string(old) {
			st.clear()
			st.ID, st.fromCookie, st.reseal = nil, false, false
			st.change()
		}
		st.mu.Unlock()
		if errors.Is(err, ErrRevoked) {
			return fmt.Errorf("%w: revoked during the request: %v", ErrRevoked, err)
		}
		return fmt.Errorf("cookiesession: CycleKey could not check the session, so it starts a fresh one: %w", err)
	}
	err := rev.Revoke(st.ctx, info, time.Unix(0, until))
	st.mu.Lock()
	if string(st.ID) == string(old) {
		st.cycle()
	}
	st.mu.Unlock()
	return err
}

// cycle gives the session a new ID and issue time. Callers hold s.mu.
func (s *state) cycle() {
	s.ID = newID()
	s.IssuedAt = unixNano(s.m.now())
	s.fromCookie = false
	s.change()
}

// SetExpiry sets the session's own expiry rule; see [Expiry]. Setting
// DefaultExpiry marks the session modified only if it had a custom expiry.
func (s *Session) SetExpiry(e Expiry) {
	st := s.use()
	if st == nil {
		return
	}
	defer st.mu.Unlock()
	e = e.resolve(unixNano(st.m.now()))
	if e.kind == expDefault && st.expiry.kind == expDefault {
		return
	}
	st.expiry = e
	st.change()
}

// ExpiryDate returns the deadline the session would have if saved now
// (Django's get_expiry_date; subtract now for get_expiry_age): now plus its
// idle window, or its fixed deadline, capped by Config.AbsoluteLifetime.
// The session is valid before that instant.
func (s *Session) ExpiryDate() time.Time {
	st := s.use()
	if st == nil {
		return time.Time{}
	}
	defer st.mu.Unlock()
	return time.Unix(0, st.deadlineIfSaved(unixNano(st.m.now())))
}

func (s *state) deadlineIfSaved(now int64) int64 {
	issued := s.IssuedAt
	if s.ID == nil {
		issued = now
	}
	return s.m.deadline(s.expiry, issued, max(now, issued))
}

// String describes the session without its cookie or data: its ID, or
// that it is new or not yet opened, and how many keys it holds. It does
// not open the session.
func (s *Session) String() string {
	st := s.state()
	if st == nil {
		return "cookiesession.Session(nil)"
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case !st.loaded && st.isPlausible():
		return "cookiesession.Session{not opened}"
	case st.content == nil || st.ID == nil:
		return fmt.Sprintf("cookiesession.Session{new, %d keys}", st.dataLen())
	}
	return fmt.Sprintf("cookiesession.Session{ID %s, %d keys}", encodeID(st.ID), st.dataLen())
}

// Format writes String for every verb and flag, %#v included, so that
// fmt, log and log/slog print a *Session as String says.
func (s *Session) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

var (
	_ fmt.Stringer  = (*Session)(nil)
	_ fmt.Formatter = (*Session)(nil)
)
