package cookiesession

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

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
	// Required.
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
	// ClockSkew in the future; a deny entry (see [Revoker]) lasts twice
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

	// Revoker, if set, is consulted for every session that opens, and told
	// about sessions that Flush and CycleKey end, with how long to deny
	// them. See [Revoker].
	Revoker Revoker

	// Logger receives what the client never sees. Default slog.Default(),
	// so that no failure goes unseen; slog.New(slog.DiscardHandler)
	// silences crumb.
	//
	//   - At Error level, every failure to save a session (ErrTooLarge,
	//     ErrRevoked, ErrLate, ErrConfig, a Revoker that could not check).
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
