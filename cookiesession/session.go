package cookiesession

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/crumbhq/crumb/rotation"
	"github.com/fxamacker/cbor/v2"
)

// A Session is one request's view of a user's session: Django's
// request.session for Go. Get one from [FromContext] inside [Manager.Handler],
// or from [Manager.Load] and [Manager.LoadRequest].
//
// The incoming cookie is opened lazily, by the first method that needs the
// data: a request that never touches its session costs no decryption.
// Every data method marks the session accessed (the response then varies
// on Cookie); methods that change it mark it modified (the response then
// carries a new cookie). Values are stored as CBOR: read them back with
// [Get], [Pop] and [SetDefault], typed by the caller, with no registration.
//
// A Session is safe for concurrent use by the goroutines of one request.
// The methods of a nil *Session, which FromContext returns outside
// Handler, do nothing and return [ErrNoSession] where they return an error.
//
// Printing a Session (with fmt, log or log/slog, in any position) shows its
// ID and number of keys, never the cookie, which is a bearer credential,
// nor the data.
type Session struct {
	// All state sits behind a pointer: reflection-based printers, which
	// cannot call Session's methods on a *Session held in an unexported
	// field, then print an address rather than the cookie and the data.
	*state
}

// state is a Session's state.
type state struct {
	m    *Manager
	ctx  context.Context
	ring *rotation.Keyring // the keys of this request

	loadOnce sync.Once // opens the cookie, with no lock held
	mu       sync.Mutex

	// Everything below is guarded by mu.

	// The request's cookies.
	candidates []string // values of cookies with the session's name
	carried    bool     // the request carried the session cookie
	plausible  bool     // some candidate may be a valid cookie
	loaded     bool     // candidates have been opened (or given up on)
	keep       bool     // a rejected candidate may be valid on another instance: never delete it

	// The session.
	id       []byte // nil until the first save
	issuedAt int64  // Unix nanoseconds
	savedAt  int64
	deadline int64 // as sealed in the incoming cookie, or by this request's save
	expiry   Expiry
	subject  string
	data     map[string]cbor.RawMessage
	value    cbor.RawMessage
	flashes  []cbor.RawMessage

	fromCookie bool // id, issuedAt, savedAt and deadline came from a valid cookie
	reseal     bool // the cookie was sealed under a non-primary key
	accessed   bool
	modified   bool
	flushed    bool // Flush ended the session: the cookie goes, whatever keep says

	committed  bool
	varied     bool   // the commit sent Vary: Cookie
	lateAccess bool   // read after a commit that sent no Vary: Cookie
	gen        uint64 // counts changes, to detect changes after commit
	commitGen  uint64
}

// load opens the incoming cookie, once, with no lock held: the Revoker's
// Check and the reporting hooks are the application's code. Concurrent
// callers wait for the first; the hooks that report rejected cookies run
// after the session is loaded, so they may use it.
func (s *state) load() {
	var errs []error
	s.loadOnce.Do(func() {
		s.mu.Lock()
		candidates := s.candidates
		s.mu.Unlock()
		now := unixNano(s.m.now())
		var p *payload
		var reseal, keep bool
		for _, v := range candidates {
			var err error
			if p, reseal, err = s.m.open(s.ctx, s.ring, v, now); err == nil {
				break
			}
			errs = append(errs, err)
			keep = keep || mayLiveElsewhere(err)
		}
		s.mu.Lock()
		s.loaded, s.keep = true, keep
		if p != nil {
			s.id, s.issuedAt, s.savedAt, s.deadline = p.ID, p.IssuedAt, p.SavedAt, p.Deadline
			if p.Expiry != nil {
				s.expiry, _ = p.Expiry.expiry()
			}
			s.subject, s.data, s.value, s.flashes = p.Subject, p.Data, p.Value, p.Flashes
			s.fromCookie, s.reseal = true, reseal
		}
		s.mu.Unlock()
	})
	for _, err := range errs { // only the caller that loaded has any
		kind := rejected
		if errors.Is(err, errNoKeyring) {
			kind = notOpened
		}
		s.m.report(s.ctx, err, kind)
	}
}

// use opens the session if needed, locks it and marks it accessed. It
// reports false, locking nothing, for a nil session. Callers unlock.
func (s *Session) use() bool {
	if s == nil || s.state == nil {
		return false
	}
	s.load()
	s.mu.Lock()
	if s.committed && !s.varied && s.carried {
		s.lateAccess = true
	}
	s.accessed = true
	return true
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
	if !s.loaded && s.plausible {
		return false
	}
	return s.id == nil && len(s.data) == 0 && s.value == nil && len(s.flashes) == 0 &&
		s.expiry.kind == expDefault && s.subject == ""
}

// IsEmpty reports whether the session holds nothing: no data, no ID, no
// custom expiry and no unopened cookie that may be valid. It never opens the
// cookie and does not mark the session accessed.
func (s *Session) IsEmpty() bool {
	if s == nil || s.state == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.empty()
}

// Accessed reports whether the session has been used in this request.
func (s *Session) Accessed() bool {
	if s == nil || s.state == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accessed
}

// Modified reports whether the session has changed in this request, so that
// the response will carry a new cookie.
func (s *Session) Modified() bool {
	if s == nil || s.state == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modified
}

// MarkModified makes the response carry a freshly sealed cookie, as
// Django's session.modified = True does. Django needs it after changing a
// nested value in place; crumb never hands out stored values, only decoded
// copies, so store a changed value back with Set instead (which marks the
// session modified). MarkModified is for forcing a save, such as to renew
// an idle window.
func (s *Session) MarkModified() {
	if !s.use() {
		return
	}
	defer s.mu.Unlock()
	s.change()
}

// ID returns the session's ID: 22 URL-safe characters (128 random bits)
// sealed inside the cookie, stable across saves, renewed by CycleKey. It
// is safe to log and to key server-side records on; it is not the cookie
// value, and a client cannot choose it. A session never saved has no ID
// (""). Reading it opens the session.
func (s *Session) ID() string {
	if !s.use() {
		return ""
	}
	defer s.mu.Unlock()
	return encodeID(s.id)
}

func encodeID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// Info returns the session's ID, subject and times. For a session not yet
// saved, the times are zero. It opens the session.
func (s *Session) Info() Info {
	if !s.use() {
		return Info{}
	}
	defer s.mu.Unlock()
	return s.info()
}

func (s *state) info() Info {
	i := Info{ID: encodeID(s.id), Subject: s.subject}
	if s.id != nil {
		i.IssuedAt, i.SavedAt, i.Expires = time.Unix(0, s.issuedAt), time.Unix(0, s.savedAt), time.Unix(0, s.deadline)
	}
	return i
}

// Subject returns what SetSubject stored.
func (s *Session) Subject() string {
	if !s.use() {
		return ""
	}
	defer s.mu.Unlock()
	return s.subject
}

// SetSubject records who the session belongs to, typically a user ID at
// login. It is sealed with the session and passed to Config.Revoker, so an
// application can end all of one user's sessions. It returns an error
// matching [ErrEncode], and changes nothing, if subject is not valid UTF-8.
func (s *Session) SetSubject(subject string) error {
	if !s.use() {
		return ErrNoSession
	}
	defer s.mu.Unlock()
	if err := checkText("subject", subject); err != nil {
		return err
	}
	if s.subject != subject {
		s.subject = subject
		s.change()
	}
	return nil
}

// Set stores value under key (Django's s[key] = value) and marks the
// session modified, even if the value is unchanged. The value is encoded
// at once: Set returns an error matching [ErrEncode], and changes nothing,
// if it cannot be stored (see ErrEncode), or if key is not valid UTF-8.
func (s *Session) Set(key string, value any) error {
	if s == nil || s.state == nil {
		return ErrNoSession
	}
	raw, err := encodeValue(value)
	if err == nil {
		err = checkText("key", key)
	}
	s.use()
	defer s.mu.Unlock()
	if err != nil {
		return err
	}
	if s.data == nil {
		s.data = make(map[string]cbor.RawMessage)
	}
	s.data[key] = raw
	s.change()
	return nil
}

// Update stores every entry of values (Django's update) and marks the
// session modified, even when values is empty. If any value cannot be
// encoded, nothing is stored.
func (s *Session) Update(values map[string]any) error {
	if s == nil || s.state == nil {
		return ErrNoSession
	}
	raws := make(map[string]cbor.RawMessage, len(values))
	var firstErr error
	for k, v := range values {
		raw, err := encodeValue(v)
		if err == nil {
			err = checkText("key", k)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		raws[k] = raw
	}
	s.use()
	defer s.mu.Unlock()
	if firstErr != nil {
		return firstErr
	}
	if s.data == nil && len(raws) > 0 {
		s.data = make(map[string]cbor.RawMessage, len(raws))
	}
	maps.Copy(s.data, raws)
	s.change()
	return nil
}

// Delete removes key (Django's del s[key]) and reports whether it was
// there. The session is marked modified only if it was.
func (s *Session) Delete(key string) bool {
	if !s.use() {
		return false
	}
	defer s.mu.Unlock()
	if _, ok := s.data[key]; !ok {
		return false
	}
	delete(s.data, key)
	s.change()
	return true
}

// Has reports whether key is set (Django's key in s).
func (s *Session) Has(key string) bool {
	if !s.use() {
		return false
	}
	defer s.mu.Unlock()
	_, ok := s.data[key]
	return ok
}

// Len returns the number of keys.
func (s *Session) Len() int {
	if !s.use() {
		return 0
	}
	defer s.mu.Unlock()
	return len(s.data)
}

// Keys returns the keys, sorted.
func (s *Session) Keys() []string {
	if !s.use() {
		return nil
	}
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.data))
}

// Values returns the values in key order, each decoded into Go's generic
// types: string, int64, float64, bool, []byte, []any, and map[string]any
// for maps whose keys are all strings (map[any]any otherwise, such as for
// structs stored with integer field keys). Use [Get] for typed values.
func (s *Session) Values() ([]any, error) {
	items, keys, err := s.items()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(keys))
	for i, k := range keys {
		vals[i] = items[k]
	}
	return vals, nil
}

// Items returns the keys and values as a new map, values decoded as by
// Values.
func (s *Session) Items() (map[string]any, error) {
	items, _, err := s.items()
	return items, err
}

func (s *Session) items() (map[string]any, []string, error) {
	if !s.use() {
		return nil, nil, ErrNoSession
	}
	data := maps.Clone(s.data)
	s.mu.Unlock()
	keys := slices.Sorted(maps.Keys(data))
	items := make(map[string]any, len(keys))
	for _, k := range keys {
		v, err := decodeAny(data[k])
		if err != nil {
			return nil, nil, err
		}
		items[k] = v
	}
	return items, keys, nil
}

// Clear removes all data, the typed value, flashes, the subject and any
// custom expiry, keeping the ID (Django's clear). The emptied session is
// saved, not deleted, so its ID lives on; use Flush to end a session.
func (s *Session) Clear() {
	if !s.use() {
		return
	}
	defer s.mu.Unlock()
	s.clear()
	s.change()
}

func (s *state) clear() {
	s.data, s.value, s.flashes, s.subject, s.expiry = nil, nil, nil, "", DefaultExpiry
}

// Flush ends the session, as at logout (Django's flush): it clears
// everything and drops the ID, so the response deletes the cookie. With a
// Config.Revoker, the old session ID is revoked for as long as any copy of
// it could be accepted (see [Revoker]), so a stolen copy of the cookie
// stops working too; without one, copies stay valid until their deadline,
// as with every stateless cookie. The error is the Revoker's; the session
// is flushed either way.
func (s *Session) Flush() error {
	if !s.use() {
		return ErrNoSession
	}
	rev := s.m.cfg.Revoker
	revoke := rev != nil && s.fromCookie
	info := s.info()
	until := s.m.revokeUntil(s.expiry, s.issuedAt, unixNano(s.m.now()))
	s.clear()
	s.id, s.fromCookie, s.reseal, s.flushed = nil, false, false, true
	s.change()
	s.mu.Unlock()
	if !revoke {
		return nil
	}
	return rev.Revoke(s.ctx, info, time.Unix(0, until))
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
// revoked its ID meanwhile (a logout in another tab), its contents are not
// carried into a new ID. The session is then emptied, as a revoked cookie
// gives an empty session, and CycleKey returns an error matching
// [ErrRevoked]; what the handler stores next starts a fresh session. A
// per-subject cut-off set before the call does not stop it: "log out
// everywhere else" is RevokeSubject(subject, now) followed by CycleKey.
func (s *Session) CycleKey() error {
	if !s.use() {
		return ErrNoSession
	}
	rev := s.m.cfg.Revoker
	if rev == nil || !s.fromCookie {
		s.cycle()
		s.mu.Unlock()
		return nil
	}
	info := s.info()
	old := s.id
	now := unixNano(s.m.now())
	until := s.m.revokeUntil(s.expiry, s.issuedAt, now)
	s.mu.Unlock()

	// Check the session as it is about to be re-issued: its ID and
	// subject, issued now. A revocation of the ID (a logout elsewhere)
	// rejects it; a subject cut-off set before now does not, so that "log
	// out everywhere else" (RevokeSubject at t, then CycleKey) keeps this
	// session. The Revoker runs with no lock held; another goroutine of
	// this request may change the session meanwhile, so the outcome
	// applies only if the session is still the one checked.
	reissued := info
	reissued.IssuedAt = time.Unix(0, now)
	if err := rev.Check(s.ctx, reissued); err != nil {
		s.mu.Lock()
		if string(s.id) == string(old) {
			s.clear()
			s.id, s.fromCookie, s.reseal = nil, false, false
			s.change()
		}
		s.mu.Unlock()
		return fmt.Errorf("%w: revoked during the request: %v", ErrRevoked, err)
	}
	err := rev.Revoke(s.ctx, info, time.Unix(0, until))
	s.mu.Lock()
	if string(s.id) == string(old) {
		s.cycle()
	}
	s.mu.Unlock()
	return err
}

// cycle gives the session a new ID and issue time. Callers hold s.mu.
func (s *state) cycle() {
	s.id = newID()
	s.issuedAt = unixNano(s.m.now())
	s.fromCookie = false
	s.change()
}

// SetExpiry sets the session's own expiry rule; see [Expiry]. Setting
// DefaultExpiry marks the session modified only if it had a custom expiry.
func (s *Session) SetExpiry(e Expiry) {
	if !s.use() {
		return
	}
	defer s.mu.Unlock()
	e = e.resolve(unixNano(s.m.now()))
	if e.kind == expDefault && s.expiry.kind == expDefault {
		return
	}
	s.expiry = e
	s.change()
}

// ExpiryAge returns how long the session would live if saved now (Django's
// get_expiry_age): Config.Lifetime for the default and browser-close forms,
// the idle window for IdleFor, and the time left, negative once past, for a
// fixed deadline. Config.AbsoluteLifetime caps it.
func (s *Session) ExpiryAge() time.Duration {
	if !s.use() {
		return 0
	}
	defer s.mu.Unlock()
	now := unixNano(s.m.now())
	return time.Duration(s.deadlineIfSaved(now) - now)
}

// ExpiryDate returns the deadline the session would have if saved now
// (Django's get_expiry_date): now plus its idle window, or its fixed
// deadline, capped by Config.AbsoluteLifetime. The session is valid before
// that instant.
func (s *Session) ExpiryDate() time.Time {
	if !s.use() {
		return time.Time{}
	}
	defer s.mu.Unlock()
	return time.Unix(0, s.deadlineIfSaved(unixNano(s.m.now())))
}

func (s *state) deadlineIfSaved(now int64) int64 {
	issued := s.issuedAt
	if s.id == nil {
		issued = now
	}
	return s.m.deadline(s.expiry, issued, now)
}

// ExpireAtBrowserClose reports whether the session's cookie is a
// browser-session cookie (Django's get_expire_at_browser_close): with no
// custom expiry, Config.ExpireAtBrowserClose; otherwise whether the expiry
// is BrowserClose.
func (s *Session) ExpireAtBrowserClose() bool {
	if !s.use() {
		return false
	}
	defer s.mu.Unlock()
	return s.m.browserSession(s.expiry)
}

// The test cookie, Django's way of checking that the browser accepts
// cookies: set it on one response and test for it on the next.
const (
	testCookieKey   = "testcookie"
	testCookieValue = "worked"
)

// SetTestCookie stores Django's test value ("testcookie" = "worked").
func (s *Session) SetTestCookie() {
	_ = s.Set(testCookieKey, testCookieValue) // a string always encodes
}

// TestCookieWorked reports whether the test value came back.
func (s *Session) TestCookieWorked() bool {
	v, _, err := Get[string](s, testCookieKey)
	return err == nil && v == testCookieValue
}

// DeleteTestCookie removes the test value.
func (s *Session) DeleteTestCookie() { s.Delete(testCookieKey) }

// String describes the session without its cookie or data: its ID, or
// that it is new or not yet opened, and how many keys it holds. It does
// not open the session.
func (s *Session) String() string {
	if s == nil || s.state == nil {
		return "cookiesession.Session(nil)"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.loaded && s.plausible:
		return "cookiesession.Session{not opened}"
	case s.id == nil:
		return fmt.Sprintf("cookiesession.Session{new, %d keys}", len(s.data))
	}
	return fmt.Sprintf("cookiesession.Session{ID %s, %d keys}", encodeID(s.id), len(s.data))
}

// GoString is String, so that %#v does not print the state either.
func (s *Session) GoString() string { return s.String() }

// Format writes String for every verb and flag.
func (s *Session) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue makes log/slog log String.
func (s *Session) LogValue() slog.Value { return slog.StringValue(s.String()) }

var (
	_ fmt.Stringer   = (*Session)(nil)
	_ fmt.Formatter  = (*Session)(nil)
	_ slog.LogValuer = (*Session)(nil)
)
