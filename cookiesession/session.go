package cookiesession

import (
	"context"
	"encoding/base64"
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
type Session struct {
	m    *Manager
	ctx  context.Context
	ring *rotation.Keyring // the keys of this request

	mu sync.Mutex // guards everything below

	// The request's cookies.
	candidates []string // values of cookies with the session's name
	carried    bool     // the request carried the session cookie
	plausible  bool     // some candidate may be a valid cookie
	loaded     bool     // candidates have been opened (or given up on)

	// The session.
	id       []byte // nil until the first save
	issuedAt int64
	savedAt  int64
	deadline int64 // as sealed in the incoming cookie
	expiry   Expiry
	subject  string
	data     map[string]cbor.RawMessage
	value    cbor.RawMessage
	flashes  []cbor.RawMessage

	fromCookie bool // id, issuedAt, savedAt and deadline came from a valid cookie
	reseal     bool // the cookie was sealed under a non-primary key
	accessed   bool
	modified   bool

	committed bool
	gen       uint64 // counts changes, to detect changes after commit
	commitGen uint64
}

// load opens the incoming cookie once. Callers hold s.mu.
func (s *Session) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	now := s.m.now().Unix()
	for _, v := range s.candidates {
		p, reseal, err := s.m.open(s.ctx, s.ring, v, now)
		if err != nil {
			s.m.report(s.ctx, err, false)
			continue
		}
		s.id, s.issuedAt, s.savedAt, s.deadline = p.ID, p.IssuedAt, p.SavedAt, p.Deadline
		if p.Expiry != nil {
			s.expiry, _ = p.Expiry.expiry()
		}
		s.subject, s.data, s.value, s.flashes = p.Subject, p.Data, p.Value, p.Flashes
		s.fromCookie, s.reseal = true, reseal
		return
	}
}

// use opens the session if needed and marks it accessed. Callers hold s.mu.
func (s *Session) use() {
	s.load()
	s.accessed = true
}

// change marks the session modified. Callers hold s.mu.
func (s *Session) change() {
	s.modified = true
	s.gen++
}

// empty reports whether the session has no content and no ID, without
// opening the cookie: an unopened plausible cookie counts as content, as a
// session key does in Django. Callers hold s.mu.
func (s *Session) empty() bool {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.empty()
}

// Accessed reports whether the session has been used in this request.
func (s *Session) Accessed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accessed
}

// Modified reports whether the session has changed in this request, so that
// the response will carry a new cookie.
func (s *Session) Modified() bool {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	s.change()
}

// ID returns the session's ID: 22 URL-safe characters (128 random bits)
// sealed inside the cookie, stable across saves, renewed by CycleKey. It
// is safe to log and to key server-side records on; it is not the cookie
// value, and a client cannot choose it. A session never saved has no ID
// (""). Reading it opens the session.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	return encodeID(s.id)
}

func encodeID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// Info returns the session's ID, subject and times. For a session not yet
// saved, the times are zero. It opens the session.
func (s *Session) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	return s.info()
}

func (s *Session) info() Info {
	i := Info{ID: encodeID(s.id), Subject: s.subject}
	if s.id != nil {
		i.IssuedAt, i.SavedAt, i.Expires = time.Unix(s.issuedAt, 0), time.Unix(s.savedAt, 0), time.Unix(s.deadline, 0)
	}
	return i
}

// Subject returns what SetSubject stored.
func (s *Session) Subject() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	return s.subject
}

// SetSubject records who the session belongs to, typically a user ID at
// login. It is sealed with the session and passed to Config.Revoker, so an
// application can end all of one user's sessions. It returns an error
// matching [ErrEncode], and changes nothing, if subject is not valid UTF-8.
func (s *Session) SetSubject(subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
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
// if CBOR cannot encode it or crumb could not read it back, or if key is
// not valid UTF-8.
func (s *Session) Set(key string, value any) error {
	raw, err := encodeValue(value)
	if err == nil {
		err = checkText("key", key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	if _, ok := s.data[key]; !ok {
		return false
	}
	delete(s.data, key)
	s.change()
	return true
}

// Has reports whether key is set (Django's key in s).
func (s *Session) Has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	_, ok := s.data[key]
	return ok
}

// Len returns the number of keys.
func (s *Session) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	return len(s.data)
}

// Keys returns the keys, sorted.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	keys := slices.Sorted(maps.Keys(s.data))
	items := make(map[string]any, len(keys))
	for _, k := range keys {
		v, err := decodeAny(s.data[k])
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	s.clear()
	s.change()
}

func (s *Session) clear() {
	s.data, s.value, s.flashes, s.subject, s.expiry = nil, nil, nil, "", DefaultExpiry
}

// Flush ends the session, as at logout (Django's flush): it clears
// everything and drops the ID, so the response deletes the cookie. With a
// Config.Revoker, the old session ID is revoked until its deadline, so a
// stolen copy of the cookie stops working too; without one, copies stay
// valid until their deadline, as with every stateless cookie. The error is
// the Revoker's; the session is flushed either way.
func (s *Session) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	err := s.revoke()
	s.clear()
	s.id, s.fromCookie, s.reseal = nil, false, false
	s.change()
	return err
}

// CycleKey gives the session a new ID and issue time, keeping its data and
// custom expiry (Django's cycle_key). Call it whenever privilege changes,
// such as at login, to defeat session fixation. With a Config.Revoker, the
// old ID is revoked, so the previous cookie stops working. A new ID starts
// a new session: Config.AbsoluteLifetime counts from now. The error is the
// Revoker's; the key is cycled either way.
func (s *Session) CycleKey() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	err := s.revoke()
	s.id = newID()
	s.issuedAt = s.m.now().Unix()
	s.fromCookie = false
	s.change()
	return err
}

// revoke tells the Revoker that the session from the cookie ends.
func (s *Session) revoke() error {
	if s.m.cfg.Revoker == nil || !s.fromCookie {
		return nil
	}
	return s.m.cfg.Revoker.Revoke(s.ctx, s.info())
}

// SetExpiry sets the session's own expiry rule; see [Expiry]. Setting
// DefaultExpiry marks the session modified only if it had a custom expiry.
func (s *Session) SetExpiry(e Expiry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	e = e.resolve(s.m.now())
	if e.kind == expDefault && s.expiry.kind == expDefault {
		return
	}
	s.expiry = e
	s.change()
}

// ExpiryAge returns how long the session would live if saved now (Django's
// get_expiry_age): Config.Lifetime for the default and browser-close forms,
// the idle window for IdleFor, and the time left, floored to whole seconds
// and negative once past, for a fixed deadline. Config.AbsoluteLifetime
// caps it.
func (s *Session) ExpiryAge() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	now := s.m.now().Unix()
	return time.Duration(s.deadlineIfSaved(now)-now) * time.Second
}

// ExpiryDate returns the deadline the session would have if saved now
// (Django's get_expiry_date): now plus its idle window, or its fixed
// deadline, capped by Config.AbsoluteLifetime. The session is valid up to
// and including that second.
func (s *Session) ExpiryDate() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	return time.Unix(s.deadlineIfSaved(s.m.now().Unix()), 0)
}

func (s *Session) deadlineIfSaved(now int64) int64 {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
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
