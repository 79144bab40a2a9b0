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
// use. Building it does no key derivation and no I/O.
type Manager struct {
	cfg     Config
	name    string
	context []byte // additional data: label, cookie name, purpose
	now     func() time.Time

	lifetime, absolute, renewAfter, skew int64 // seconds
	renews                               bool
	notBefore                            int64
}

// errNoKeyring is reported when Config.Keys returns no keyring, as a zero
// rotation.Holder does: cookies cannot be opened nor sessions saved, but
// requests go on.
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
		lifetime:   seconds(cfg.Lifetime),
		absolute:   seconds(cfg.AbsoluteLifetime),
		renewAfter: seconds(cfg.RenewAfter),
		skew:       seconds(cfg.ClockSkew + time.Second - 1),
		renews:     cfg.SaveEveryRequest || cfg.RenewAfter > 0,
	}
	if m.now == nil {
		m.now = time.Now
	}
	if !cfg.NotBefore.IsZero() {
		// Round up: issue times are whole seconds, and a session issued in
		// the cut-off's own second may have been issued before it.
		m.notBefore = cfg.NotBefore.Unix()
		if cfg.NotBefore.Nanosecond() != 0 {
			m.notBefore++
		}
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
	s := &Session{m: m, ctx: ctx, ring: m.cfg.Keys.Keyring(m.now())}
	s.carried = len(cookies) > 0
	for _, c := range cookies[:min(len(cookies), maxCandidates)] {
		s.candidates = append(s.candidates, c.Value)
		if plausible(c.Value) {
			s.plausible = true
		}
	}
	return s
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

// open turns one cookie value into a session payload, checking, in order:
// length and encoding, key ID, authentication, payload, deadline,
// NotBefore and the Revoker. It returns the payload and whether the key
// that opened it is not the primary.
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
	deadline := min(p.Deadline, m.deadline(e, p.IssuedAt, p.SavedAt))
	p.Deadline = deadline
	switch {
	case now > deadline+m.skew:
		return nil, false, ErrExpired
	case p.SavedAt > now+m.skew:
		return nil, false, crypto.Invalid(crypto.ReasonPayload) // saved in the future
	case p.IssuedAt < m.notBefore:
		return nil, false, fmt.Errorf("%w: issued before Config.NotBefore", ErrRevoked)
	}
	if m.cfg.Revoker != nil {
		if err := m.cfg.Revoker.Check(ctx, p.info()); err != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrRevoked, err)
		}
	}
	return p, opened.Reseal, nil
}

func (p *payload) info() Info {
	return Info{
		ID:       encodeID(p.ID),
		Subject:  p.Subject,
		IssuedAt: time.Unix(p.IssuedAt, 0),
		SavedAt:  time.Unix(p.SavedAt, 0),
		Expires:  time.Unix(p.Deadline, 0),
	}
}

func newID() []byte {
	id := make([]byte, idLen)
	rand.Read(id) // never fails: Go crashes the program instead
	return id
}

// report passes a rejected cookie or a failed commit to the hooks.
func (m *Manager) report(ctx context.Context, err error, commit bool) {
	if m.cfg.OnError != nil {
		m.cfg.OnError(ctx, err)
	}
	if m.cfg.Logger == nil {
		return
	}
	switch {
	case commit:
		m.cfg.Logger.LogAttrs(ctx, slog.LevelError, "crumb: session not saved", slog.String("cookie", m.name), slog.Any("error", err))
	case errors.Is(err, ErrExpired):
		m.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "crumb: session cookie expired", slog.String("cookie", m.name))
	case errors.Is(err, ErrRevoked):
		m.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "crumb: session cookie revoked", slog.String("cookie", m.name), slog.Any("error", err))
	default:
		m.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "crumb: session cookie rejected", slog.String("cookie", m.name),
			slog.String("reason", crypto.ReasonOf(err).String()))
	}
}
