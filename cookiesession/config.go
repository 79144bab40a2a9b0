package cookiesession

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
)

// Config configures a [Manager]. Its zero value, with Keys set, is the
// secure choice: an HttpOnly, Secure, SameSite=Lax, host-only cookie named
// "__Host-sessionid" on Path "/", living two weeks after its last save.
// Every field is read once, by [New]; changing a Config afterwards has no
// effect.
type Config struct {
	// Keys supplies the keys that seal and open cookies: a fixed
	// *rotation.Keyring, a *rotation.Holder for keys swapped at run time, a
	// *rotation.Schedule for automatic rotation, or a *rotation.FileSource.
	// Required. A request reads them once, when its session is first used
	// (a request that never uses it does not read them), and opens and
	// seals with that keyring.
	Keys rotation.Source

	// Name is the cookie's base name (Django's SESSION_COOKIE_NAME).
	// Default "sessionid". crumb prefixes it with "__Host-" when the cookie
	// is Secure, has Path "/" and no Domain (so no subdomain or plain-HTTP
	// page can plant or overwrite it), else with "__Secure-" when it is
	// Secure. A Name that already starts with "__Host-" or "__Secure-" is
	// used as is, if the other settings allow that prefix.
	Name string
	// Domain is the cookie's Domain attribute (SESSION_COOKIE_DOMAIN).
	// Default none: a host-only cookie, which is safer; set it only to
	// share the session with subdomains.
	Domain string
	// Path is the cookie's Path (SESSION_COOKIE_PATH). Default "/".
	Path string
	// SameSite is the cookie's SameSite attribute (SESSION_COOKIE_SAMESITE):
	// http.SameSiteLaxMode (the default, for the zero value),
	// http.SameSiteStrictMode, or http.SameSiteNoneMode, which requires
	// Secure. http.SameSiteDefaultMode is refused: crumb always sends the
	// attribute, since browsers disagree on its absence.
	SameSite http.SameSite
	// Partitioned adds the Partitioned attribute (CHIPS), for a session
	// inside a cross-site iframe. It requires Secure.
	Partitioned bool

	// InsecureHTTP drops the Secure attribute (and with it the "__Host-"
	// prefix), so the cookie is also sent over plain HTTP, where anyone on
	// the network can read and replay it. Only for development on a
	// non-loopback plain-HTTP host: browsers treat http://localhost and
	// http://127.0.0.1 as secure, so local development does not need it.
	InsecureHTTP bool
	// InsecureScriptAccess drops the HttpOnly attribute
	// (SESSION_COOKIE_HTTPONLY=False), so page scripts, and any script an
	// attacker injects, can read the cookie.
	InsecureScriptAccess bool

	// Lifetime is how long a session lives after its last save, unless
	// Session.SetExpiry says otherwise (SESSION_COOKIE_AGE). Each save
	// starts it again, so it is also the default idle timeout. Default two
	// weeks; at least one second.
	Lifetime time.Duration
	// AbsoluteLifetime caps every session at its issue time plus
	// AbsoluteLifetime, however often it is saved or renewed: a user must
	// log in again at least this often. Zero means no cap. Django has no
	// equivalent.
	AbsoluteLifetime time.Duration
	// ExpireAtBrowserClose sends sessions without a custom expiry as
	// browser-session cookies (SESSION_EXPIRE_AT_BROWSER_CLOSE). The server
	// still ends them Lifetime after their last save.
	ExpireAtBrowserClose bool
	// RenewAfter turns on sliding renewal: a request that carries a
	// session last saved at least RenewAfter ago re-seals it, moving its
	// idle deadline forward, but a session saved more recently is left
	// alone, so an active user's cookie is rewritten at most once per
	// RenewAfter rather than on every response. A quarter of Lifetime is a
	// good choice; a nanosecond re-seals on every request, as Django's
	// SESSION_SAVE_EVERY_REQUEST does. It must be less than Lifetime; zero,
	// the default, turns renewal off: only saves restart the idle window.
	RenewAfter time.Duration
	// ClockSkew is how far instances' clocks may disagree. A session is
	// still accepted ClockSkew after its deadline, and one saved up to
	// ClockSkew in the future (at least a second: clocks that agree still
	// differ by milliseconds, and WebAssembly hosts' tick in them); a deny
	// entry (see [Revoker]) lasts twice
	// ClockSkew longer. Default 0.
	ClockSkew time.Duration
	// NotBefore rejects every session issued before it, with ErrRevoked:
	// a global logout that needs no key change. Zero means none.
	NotBefore time.Time

	// MaxCookieSize is the longest Set-Cookie header value crumb sends,
	// attributes included. A session that does not fit is not sent and
	// Commit returns a *TooLargeError; the browser keeps its previous
	// cookie. Default and maximum 4096, the size every browser must store
	// (RFC 6265 §6.1).
	MaxCookieSize int
	// MaxChunks turns on chunking when above 1: a session too large for
	// one cookie is split across up to MaxChunks cookies, named Name,
	// Name.1, ..., Name.(MaxChunks-1), each a complete cookie of at most
	// MaxCookieSize bytes with the same attributes. The chunk count is
	// sealed and authenticated, so a missing, extra, reordered or
	// duplicated chunk gives a fresh session (the cookies are then
	// deleted), never an error page. Every save expires the chunk names
	// it does not use, up to MaxChunks, so that a session that shrinks, or
	// that another tab wrote longer, leaves no orphans; Flush expires them
	// all. A cookie whose sealed count is above MaxChunks is refused, so
	// lowering MaxChunks ends the sessions that used more. Default 1 (no
	// chunking); at most 10.
	//
	// Chunked responses carry several Set-Cookie fields of up to 4 kB
	// each: a reverse proxy's buffer for response headers must hold them
	// (nginx: proxy_buffer_size, 4 or 8 kB by default).
	MaxChunks int
	// MaxHeaderBytes is the most the session's cookies may add to a
	// request's Cookie header: each chunk's "name=value" and the "; "
	// between them. A session that would need more is refused at save
	// with a *TooLargeError, so that it never pushes the request past a
	// server's or proxy's header limit (commonly 8 kB for the whole Cookie
	// line, other cookies included). Default 7168, which leaves 1 kB of an
	// 8 kB line to the site's other cookies; it matters only with
	// chunking, since one cookie is at most MaxCookieSize.
	MaxHeaderBytes int

	// Revoker, if set, is consulted for every session that opens, and told
	// about sessions that Flush and CycleKey end, with how long to deny
	// them. See [Revoker].
	Revoker Revoker

	// Logger receives what the client never sees. Default slog.Default(),
	// so that no failure goes unseen; slog.New(slog.DiscardHandler)
	// silences crumb.
	//
	//   - At Error level, every failure of [Manager.Handler] to save a
	//     session (ErrTooLarge, ErrRevoked, ErrLate, ErrConfig, a Revoker
	//     that could not check). [Manager.Commit] returns such a failure to
	//     its caller instead. A Revoker that could not check because the
	//     client went away (the request's context canceled) is logged at
	//     Debug: no response could carry the cookie.
	//   - At Debug level, every rejected cookie (ErrInvalid, ErrExpired,
	//     ErrRevoked; crypto.ReasonOf tells invalid ones apart), and every
	//     cookie not opened because the keys were missing or the Revoker
	//     could not check, each with an "error" attribute. Anyone can send
	//     bad cookies at any rate, and a missing store fails every request,
	//     so above Debug crumb logs summaries, at most once a minute each:
	//     at Warn, how many cookies were rejected since the last one and the
	//     last reason; at Error, how many were not opened, and the last
	//     error's text.
	//
	// Each record carries the cookie name; cookie values and keys are never
	// logged. A handler learns why its own request's cookie was rejected
	// from [Session.Err].
	Logger *slog.Logger

	// Clock returns the current time. Default time.Now. Tests inject one.
	Clock func() time.Time
}

// Defaults.
const (
	defaultName     = "sessionid"
	defaultLifetime = 14 * 24 * time.Hour
	// MaxCookieSize is the default and largest Config.MaxCookieSize.
	MaxCookieSize = 4096
	// maxMaxAge is the longest Max-Age browsers honour (RFC 6265bis §5.5).
	maxMaxAge = 400 * 24 * 60 * 60
	// maxAttr is the longest attribute value browsers honour.
	maxAttr = 1024
	// defaultMaxHeaderBytes is the default Config.MaxHeaderBytes.
	defaultMaxHeaderBytes = 7168
)

// ErrConfig is returned by New for a Config it cannot use.
var ErrConfig = errors.New("cookiesession: invalid config")

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// cookieName returns the name the cookie is sent under.
func cookieName(cfg *Config, secure bool) (string, error) {
	base := cfg.Name
	if base == "" {
		base = defaultName
	}
	lower := strings.ToLower(base)
	switch {
	case strings.HasPrefix(base, "__Host-"):
		if !secure || cfg.Path != "/" || cfg.Domain != "" {
			return "", configErr("name %q needs Secure, Path \"/\" and no Domain", base)
		}
		return base, nil
	case strings.HasPrefix(base, "__Secure-"):
		if !secure {
			return "", configErr("name %q needs Secure", base)
		}
		return base, nil
	case strings.HasPrefix(lower, "__host-") || strings.HasPrefix(lower, "__secure-"):
		// Browsers match prefixes case-insensitively; a near-miss would
		// look protected without being so.
		return "", configErr("name %q: write the prefix as \"__Host-\" or \"__Secure-\"", base)
	case secure && cfg.Path == "/" && cfg.Domain == "":
		return "__Host-" + base, nil
	case secure:
		return "__Secure-" + base, nil
	}
	return base, nil
}

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
	cfg   Config
	name  string
	names [format.MaxChunks]string // the cookie names of the chunks: name, name.1, ..., name.9
	ad    []byte                   // the tail of the additional data: label, cookie name
	now   func() time.Time
	lines lineParts // the fixed parts of the Set-Cookie lines

	lifetime, absolute, renewAfter, skew int64 // nanoseconds
	renews                               bool
	notBefore                            int64 // Unix nanoseconds

	stats     stats      // Manager.Stats
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
	if cfg.MaxChunks == 0 {
		cfg.MaxChunks = 1
	}
	if cfg.MaxChunks < 1 || cfg.MaxChunks > format.MaxChunks {
		return nil, configErr("MaxChunks %d must be between 1 and %d", cfg.MaxChunks, format.MaxChunks)
	}
	if cfg.MaxHeaderBytes == 0 {
		cfg.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	name, err := cookieName(&cfg, secure)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:        cfg,
		name:       name,
		names:      chunkNames(name),
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
	probe := m.cookie(m.cfg.MaxChunks-1, "x", 1, time.Unix(1, 0))
	if err := probe.Valid(); err != nil {
		return nil, configErr("cookie attributes: %v", err)
	}
	m.lines = m.lineParts()
	// A limit below the smallest session cookie would make every save
	// fail.
	line, header := m.smallestCookie()
	if line > cfg.MaxCookieSize {
		return nil, configErr("MaxCookieSize %d is below the smallest session cookie (%d bytes with these attributes): raise it to at least %d",
			cfg.MaxCookieSize, line, line)
	}
	if header > cfg.MaxHeaderBytes {
		return nil, configErr("MaxHeaderBytes %d is below the smallest session cookie (%d bytes of Cookie header): raise it to at least %d",
			cfg.MaxHeaderBytes, header, header)
	}
	buildModes()
	return m, nil
}

// smallestCookie returns the length of the shortest Set-Cookie line a save
// can send, an empty session (ID and times) as a browser-session cookie
// with no Max-Age nor Expires, and what that cookie adds to a request's
// Cookie header.
func (m *Manager) smallestCookie() (line, header int) {
	const empty = 1 + (1 + 1 + idLen) + 3*(1+8) // {1: ID, 2..4: times}
	n := textLen(empty)
	return m.lineLen(0, n, &times{}), len(m.name) + 1 + n
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

// cookie returns chunk i of the session cookie (0: the cookie itself) with
// value, Max-Age maxAge (0: none, negative: delete) and the configured
// attributes.
func (m *Manager) cookie(i int, value string, maxAge int, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name:        m.names[i],
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
