package cookiesession

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// contextLabel starts the additional data of every session cookie, so that a
// value crumb seals for another purpose never opens as a session.
const contextLabel = "crumb/v1/cookiesession"

// maxCandidates bounds how many cookies of the session's name one request
// may make crumb look at. Browsers send several only when cookies with the
// same name exist for different paths or domains.
const maxCandidates = 4

// A Manager loads sessions from cookies and writes them back. Build one with
// [New] at start-up and share it: it is immutable and safe for concurrent
// use. Building it does no I/O.
type Manager struct {
	cfg     Config
	name    string
	context []byte // additional data: label, cookie name, purpose
	now     func() time.Time

	lifetime, absolute, renewAfter, skew int64 // nanoseconds
	renews                               bool
	notBefore                            int64 // Unix nanoseconds

	logLimit logLimiter // bounds how often rejected cookies are logged
}

// errNoKeyring is reported when Config.Keys returns no keyring at run time:
// cookies cannot be opened nor sessions saved, but requests go on. New
// refuses a source that returns none when it is built.
var errNoKeyring = fmt.Errorf("%w: Config.Keys returned no keyring", ErrConfig)

// New returns a Manager for cfg, or an error matching [ErrConfig] that says
// which setting is wrong.
func New(cfg Config) (*Manager, error) {
	if cfg.Keys == nil {
		return nil, configErr("Keys is required")
	}
	if v := reflect.ValueOf(cfg.Keys); v.Kind() == reflect.Pointer && v.IsNil() {
		// Such as the *Keyring of a failed rotation.FromEnv: caught here,
		// not by a nil dereference on the first request.
		return nil, configErr("Keys is a nil %T", cfg.Keys)
	}
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	if !strings.HasPrefix(cfg.Path, "/") || len(cfg.Path) > maxAttr {
		return nil, configErr("Path %q must start with \"/\" and be at most %d bytes", cfg.Path, maxAttr)
	}
	if len(cfg.Domain) > maxAttr {
		return nil, configErr("Domain is longer than %d bytes", maxAttr)
	}
	secure := !cfg.InsecureHTTP
	switch cfg.SameSite {
	case 0:
		cfg.SameSite = http.SameSiteLaxMode
	case http.SameSiteLaxMode, http.SameSiteStrictMode:
	case http.SameSiteNoneMode:
		if !secure {
			return nil, configErr("SameSite=None requires Secure (unset InsecureHTTP)")
		}
	default:
		return nil, configErr("SameSite must be Lax, Strict or None")
	}
	if cfg.Partitioned && !secure {
		return nil, configErr("Partitioned requires Secure (unset InsecureHTTP)")
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultLifetime
	}
	switch {
	case cfg.Lifetime < time.Second:
		return nil, configErr("Lifetime %v must be at least 1s", cfg.Lifetime)
	case cfg.AbsoluteLifetime < 0 || (cfg.AbsoluteLifetime > 0 && cfg.AbsoluteLifetime < time.Second):
		return nil, configErr("AbsoluteLifetime %v must be 0 or at least 1s", cfg.AbsoluteLifetime)
	case cfg.RenewAfter < 0 || cfg.RenewAfter >= cfg.Lifetime:
		return nil, configErr("RenewAfter %v must be at least 0 and less than Lifetime", cfg.RenewAfter)
	case cfg.ClockSkew < 0 || cfg.ClockSkew >= cfg.Lifetime:
		return nil, configErr("ClockSkew %v must be at least 0 and less than Lifetime", cfg.ClockSkew)
	}
	if cfg.MaxCookieSize == 0 {
		cfg.MaxCookieSize = MaxCookieSize
	}
	if cfg.MaxCookieSize < 128 || cfg.MaxCookieSize > MaxCookieSize {
		return nil, configErr("MaxCookieSize %d must be between 128 and %d", cfg.MaxCookieSize, MaxCookieSize)
	}
	name, err := cookieName(&cfg, secure)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:        cfg,
		name:       name,
		context:    crypto.Context(contextLabel, name, cfg.Purpose),
		now:        cfg.Clock,
		lifetime:   int64(cfg.Lifetime),
		absolute:   int64(cfg.AbsoluteLifetime),
		renewAfter: int64(cfg.RenewAfter),
		skew:       int64(cfg.ClockSkew),
		renews:     cfg.SaveEveryRequest || cfg.RenewAfter > 0,
	}
	if m.now == nil {
		m.now = time.Now
	}
	if !cfg.NotBefore.IsZero() {
		m.notBefore = unixNano(cfg.NotBefore)
	}
	// A source that has no keyring now would fail every request: such as a
	// rotation.Holder nobody stored a ring in.
	if cfg.Keys.Keyring(m.now()) == nil {
		return nil, configErr("Keys (%T) returned no keyring", cfg.Keys)
	}
	// Validate name, Domain and Path the way net/http will judge them, so
	// that nothing is silently dropped or altered when a cookie is sent.
	probe := m.cookie("x", 1, time.Unix(1, 0))
	if err := probe.Valid(); err != nil {
		return nil, configErr("cookie attributes: %v", err)
	}
	buildModes()
	return m, nil
}

// Name returns the name the session cookie is sent under, prefix included.
func (m *Manager) Name() string { return m.name }

// cookie returns the session cookie with value, Max-Age maxAge (0: none,
// negative: delete) and the configured attributes.
func (m *Manager) cookie(value string, maxAge int, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name:        m.name,
		Value:       value,
		Path:        m.cfg.Path,
		Domain:      m.cfg.Domain,
		MaxAge:      maxAge,
		Expires:     expires,
		Secure:      !m.cfg.InsecureHTTP,
		HttpOnly:    !m.cfg.InsecureScriptAccess,
		SameSite:    m.cfg.SameSite,
		Partitioned: m.cfg.Partitioned,
	}
}

// Load returns the session carried by the given Cookie header values, for
// code that has no *http.Request: serverless and edge handlers. Pass every
// Cookie header (HTTP/2 may split them), or the "name=value" strings of API
// Gateway's and Lambda function URLs' cookies list: both parse alike.
//
// Nothing is decrypted yet: the cookie is opened on the session's first use.
// A cookie that is missing, malformed, forged, expired or revoked gives an
// empty session; the reason goes to Config.OnError and Config.Logger. Load
// never fails.
func (m *Manager) Load(ctx context.Context, cookieHeaders ...string) *Session {
	r := &http.Request{Header: http.Header{"Cookie": cookieHeaders}}
	return m.newSession(ctx, r.CookiesNamed(m.name))
}

// LoadRequest is Load for an *http.Request, with the request's context.
// [Manager.Handler] calls it; use it directly in handlers that manage their
// session without the middleware, and pair it with [Manager.Save].
func (m *Manager) LoadRequest(r *http.Request) *Session {
	return m.newSession(r.Context(), r.CookiesNamed(m.name))
}

func (m *Manager) newSession(ctx context.Context, cookies []*http.Cookie) *Session {
	st := &state{m: m, ctx: ctx, ring: m.cfg.Keys.Keyring(m.now())}
	st.carried = len(cookies) > 0
	for _, c := range cookies[:min(len(cookies), maxCandidates)] {
		st.candidates = append(st.candidates, c.Value)
		if plausible(c.Value) {
			st.plausible = true
		}
	}
	return wrap(st)
}

// plausible reports, without cryptography, whether v can be a session
// cookie: a single-chunk crumb value of sensible length.
func plausible(v string) bool {
	if len(v) > crypto.MaxChunkLen {
		return false
	}
	h, err := crypto.PeekHeader(v)
	return err == nil && h.Chunks == 1
}

// errFuture rejects a cookie saved later than this instance's clock allows:
// it is authentic, and may be valid on an instance whose clock is ahead.
var errFuture = crypto.Invalid(crypto.ReasonPayload)

// open turns one cookie value into a session payload, checking, in order:
// length and encoding, key ID, authentication, payload, deadline,
// NotBefore and the Revoker. It returns the payload and whether the key
// that opened it is not the primary. It runs no lock of crumb's: the
// Revoker may take its time.
func (m *Manager) open(ctx context.Context, ring *rotation.Keyring, value string, now int64) (*payload, bool, error) {
	if len(value) > crypto.MaxChunkLen {
		return nil, false, crypto.Invalid(crypto.ReasonMalformed)
	}
	sealed, err := crypto.Decode(value) // checks alphabet, encoding and header
	if err != nil {
		return nil, false, err
	}
	if h, _ := crypto.ParseHeader(sealed); h.Chunks != 1 {
		return nil, false, crypto.Invalid(crypto.ReasonMalformed)
	}
	if ring == nil {
		return nil, false, errNoKeyring
	}
	pt, opened, err := ring.Open(nil, sealed, m.context)
	if err != nil {
		return nil, false, err
	}
	p, err := decodePayload(pt)
	if err != nil {
		return nil, false, err
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
		return nil, false, ErrExpired
	case p.SavedAt > addSat(now, m.skew):
		return nil, false, errFuture
	case p.IssuedAt < m.notBefore:
		return nil, false, fmt.Errorf("%w: issued before Config.NotBefore", ErrRevoked)
	}
	if m.cfg.Revoker != nil {
		if err := m.cfg.Revoker.Check(ctx, p.info()); err != nil {
			if errors.Is(err, ErrRevoked) {
				return nil, false, err
			}
			return nil, false, &checkError{err}
		}
	}
	return p, opened.Reseal, nil
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

func newID() []byte {
	id := make([]byte, idLen)
	rand.Read(id) // never fails: Go crashes the program instead
	return id
}

// What a report is about.
type reportKind uint8

const (
	rejected  reportKind = iota // an incoming cookie that did not become a session
	notOpened                   // the keys were missing: no cookie could be opened
	notSaved                    // a session that should have been saved was not
	lateUse                     // the session was used after the response headers went out
)

// report passes err to Config.OnError, and logs it to Config.Logger, or
// to slog.Default() when neither hook is set. Everything but a rejected
// cookie is logged at Error level; rejected cookies, which anyone can send
// at any rate, are logged at most once per logInterval, with the count of
// those left out. It runs with no lock of crumb's held.
func (m *Manager) report(ctx context.Context, err error, kind reportKind) {
	if m.cfg.OnError != nil {
		m.cfg.OnError(ctx, err)
	}
	logger := m.cfg.Logger
	if logger == nil {
		if m.cfg.OnError != nil {
			return
		}
		logger = slog.Default()
	}
	name := slog.String("cookie", m.name)
	switch kind {
	case notOpened:
		logger.LogAttrs(ctx, slog.LevelError, "crumb: session cookie not opened", name, slog.Any("error", err))
		return
	case notSaved:
		logger.LogAttrs(ctx, slog.LevelError, "crumb: session not saved", name, slog.Any("error", err))
		return
	case lateUse:
		logger.LogAttrs(ctx, slog.LevelError, "crumb: session used too late", name, slog.Any("error", err))
		return
	}
	skipped, ok := m.logLimit.allow(m.now())
	if !ok {
		return
	}
	attrs := []slog.Attr{name}
	if skipped > 0 {
		attrs = append(attrs, slog.Uint64("not_logged_before", skipped))
	}
	switch {
	case errors.Is(err, ErrExpired):
		logger.LogAttrs(ctx, slog.LevelInfo, "crumb: session cookie expired", attrs...)
	case errors.Is(err, ErrRevoked):
		logger.LogAttrs(ctx, slog.LevelWarn, "crumb: session cookie revoked", append(attrs, slog.Any("error", err))...)
	default:
		logger.LogAttrs(ctx, slog.LevelWarn, "crumb: session cookie rejected",
			append(attrs, slog.String("reason", crypto.ReasonOf(err).String()))...)
	}
}

// logInterval is the least time between two log lines about rejected
// cookies.
const logInterval = time.Minute

// logLimiter lets one event through per logInterval and counts the rest.
// It is safe for concurrent use.
type logLimiter struct {
	mu      sync.Mutex
	next    time.Time // when the next line may be logged
	skipped uint64    // events held back since the last line
}

// allow reports whether an event at now may be logged and, if so, how many
// were held back before it.
func (l *logLimiter) allow(now time.Time) (skipped uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.skipped++
		return 0, false
	}
	skipped, l.skipped, l.next = l.skipped, 0, now.Add(logInterval)
	return skipped, true
}
