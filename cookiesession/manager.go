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
	"github.com/crumbhq/crumb/internal/format"
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
	cfg  Config
	name string
	ad   []byte // the tail of the additional data: label, cookie name
	now  func() time.Time

	lifetime, absolute, renewAfter, skew int64 // nanoseconds
	renews                               bool
	notBefore                            int64 // Unix nanoseconds

	logLimit  logLimiter // bounds how often rejected cookies are logged
	failLimit logLimiter // and cookies not opened for want of keys or a Revoker
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
		cfg.Lifetime = defaultLifetime
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
		ad:         format.AdditionalData(contextLabel, name),
		now:        cfg.Clock,
		lifetime:   int64(cfg.Lifetime),
		absolute:   int64(cfg.AbsoluteLifetime),
		renewAfter: int64(cfg.RenewAfter),
		skew:       int64(cfg.ClockSkew),
		renews:     cfg.RenewAfter > 0,
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.cfg.Logger == nil {
		m.cfg.Logger = slog.Default()
	}
	if !cfg.NotBefore.IsZero() {
		m.notBefore = unixNano(cfg.NotBefore)
	}
	// A source that has no keyring now would fail every request: such as a
	// rotation.Holder nobody stored a ring in.
	if cfg.Keys.At(m.now()) == nil {
		return nil, configErr("Keys (%T) returned no keyring", cfg.Keys)
	}
	if err := m.checkSchedule(); err != nil {
		return nil, err
	}
	// Validate name, Domain and Path the way net/http will judge them, so
	// that nothing is silently dropped or altered when a cookie is sent.
	probe := m.cookie("x", 1, time.Unix(1, 0))
	if err := probe.Valid(); err != nil {
		return nil, configErr("cookie attributes: %v", err)
	}
	// A limit below the smallest session cookie would make every save
	// fail.
	if least := m.smallestCookie(); least > cfg.MaxCookieSize {
		return nil, configErr("MaxCookieSize %d is below the smallest session cookie (%d bytes with these attributes): raise it to at least %d",
			cfg.MaxCookieSize, least, least)
	}
	buildModes()
	return m, nil
}

// smallestCookie returns the length of the shortest Set-Cookie line a save
// can send: an empty session (ID and times) as a browser-session cookie,
// with no Max-Age nor Expires.
func (m *Manager) smallestCookie() int {
	const empty = 1 + (1 + 1 + idLen) + 3*(1+8) // {1: ID, 2..4: times}
	value := strings.Repeat("A", (4*(format.Overhead+empty)+2)/3)
	return len(m.cookie(value, 0, time.Time{}).String())
}

// checkSchedule checks that an automatic key schedule, if Config.Keys is
// one, agrees with the session timings: each period's key must still open
// a cookie it sealed for as long as the cookie lives, and the schedule
// must allow at least the clock skew the sessions do.
func (m *Manager) checkSchedule() error {
	s, ok := m.cfg.Keys.(*rotation.Schedule)
	if !ok {
		return nil
	}
	sc := s.Config()
	if sc.ClockSkew < m.cfg.ClockSkew {
		return configErr("the key schedule's ClockSkew (%v) is below Config.ClockSkew (%v): raise rotation.ScheduleConfig.ClockSkew to at least %v",
			sc.ClockSkew, m.cfg.ClockSkew, m.cfg.ClockSkew)
	}
	life := m.cookieLife()
	if covered := time.Duration(sc.Previous) * sc.Period; covered < life {
		return configErr("the key schedule keeps a key for %v after its period (Previous %d × Period %v), less than a cookie lives (%v, from Config.Lifetime and Config.AbsoluteLifetime): raise rotation.ScheduleConfig.Previous or Period, or lower Config.Lifetime",
			covered, sc.Previous, sc.Period, life)
	}
	return nil
}

// cookieLife is the longest a cookie stays valid after it is sealed, with
// the default expiry rule: Lifetime, or AbsoluteLifetime if shorter.
func (m *Manager) cookieLife() time.Duration {
	if a := m.cfg.AbsoluteLifetime; a > 0 && a < m.cfg.Lifetime {
		return a
	}
	return m.cfg.Lifetime
}

// Policy returns the timings of a staged key rotation for sessions of m:
// propagation as given, MaxLifetime the longest a cookie of m stays valid
// after it is sealed (Config.Lifetime, or Config.AbsoluteLifetime if
// shorter), and ClockSkew from the Config. Use it with
// rotation.Keyring.PromoteAt and RetireAt, so that the rotation and the
// sessions agree. Sessions whose handlers set a longer rule (IdleFor or
// ExpiresAt beyond Lifetime) need a Policy with a longer MaxLifetime.
func (m *Manager) Policy(propagation time.Duration) rotation.Policy {
	return rotation.Policy{Propagation: propagation, MaxLifetime: m.cookieLife(), ClockSkew: m.cfg.ClockSkew}
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
	r := &http.Request{Header: http.Header{"Cookie": cookieHeaders}}
	return m.newSession(ctx, r.CookiesNamed(m.name))
}

func (m *Manager) newSession(ctx context.Context, cookies []*http.Cookie) *Session {
	st := &state{m: m, ctx: ctx, ring: m.cfg.Keys.At(m.now())}
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
	if len(v) > format.MaxChunkLen {
		return false
	}
	h, ok := format.PeekHeader(v)
	return ok && h.Chunks == 1
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
	if len(value) > format.MaxChunkLen {
		return nil, false, crypto.Invalid(crypto.ReasonMalformed)
	}
	v, ok := format.Parse(value) // length, alphabet, header, canonical base64: once
	if !ok || v.Header.Chunks != 1 {
		return nil, false, crypto.Invalid(crypto.ReasonMalformed)
	}
	if ring == nil {
		return nil, false, errNoKeyring
	}
	pt, opened, err := ring.Open(v.Sealed[format.HeaderSize+format.NonceSize:format.HeaderSize+format.NonceSize], v.Sealed, m.ad)
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
	notOpened                   // the keys were missing, or the Revoker could not check: not the cookie's fault
	notSaved                    // a session that should have been saved was not
	lateUse                     // the session was used after the response headers went out
)

// report logs err to Config.Logger: see its documentation. It runs with no
// lock of crumb's held.
func (m *Manager) report(ctx context.Context, err error, kind reportKind) {
	logger := m.cfg.Logger
	name := slog.String("cookie", m.name)
	switch kind {
	case notOpened:
		// Every request fails alike until the keys or the store are back:
		// each is logged at Debug, and at Error once a minute.
		logger.LogAttrs(ctx, slog.LevelDebug, "crumb: session cookie not opened", name, slog.Any("error", err))
		if count, ok := m.failLimit.allow(m.now()); ok {
			logger.LogAttrs(ctx, slog.LevelError, "crumb: session cookies not opened", name,
				slog.Uint64("count", count), slog.String("last_error", err.Error()))
		}
		return
	case notSaved:
		logger.LogAttrs(ctx, slog.LevelError, "crumb: session not saved", name, slog.Any("error", err))
		return
	case lateUse:
		logger.LogAttrs(ctx, slog.LevelError, "crumb: session used after the response headers were written", name, slog.Any("error", err))
		return
	}
	reason := rejectionReason(err)
	logger.LogAttrs(ctx, slog.LevelDebug, "crumb: session cookie rejected", name, slog.String("reason", reason), slog.Any("error", err))
	if count, ok := m.logLimit.allow(m.now()); ok {
		logger.LogAttrs(ctx, slog.LevelWarn, "crumb: session cookies rejected", name,
			slog.Uint64("count", count), slog.String("last_reason", reason))
	}
}

// rejectionReason names the class of a rejection, for logs.
func rejectionReason(err error) string {
	switch {
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrRevoked):
		return "revoked"
	}
	return crypto.ReasonOf(err).String()
}

// logInterval is the least time between two log lines about rejected
// cookies.
const logInterval = time.Minute

// logLimiter counts events and lets a summary through at most once per
// logInterval. It is safe for concurrent use.
type logLimiter struct {
	mu    sync.Mutex
	next  time.Time // when the next summary may be logged
	count uint64    // events since the last summary, this one included
}

// allow counts an event at now and reports whether a summary may be
// logged, and of how many events.
func (l *logLimiter) allow(now time.Time) (count uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count++
	if now.Before(l.next) {
		return 0, false
	}
	count, l.count, l.next = l.count, 0, now.Add(logInterval)
	return count, true
}
