package cookiesession

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/crumbhq/crumb/crypto"
)

// Errors for an incoming cookie that cannot become a session, given by
// [Session.Err] and logged to Config.Logger. The request itself never
// fails: the handler sees a fresh, empty session.
var (
	// ErrInvalid: the cookie is malformed, names an unknown key, fails
	// authentication, or holds a payload crumb does not accept. It is
	// crypto.ErrInvalid itself; crypto.ReasonOf tells the reasons apart
	// for logs and metrics.
	ErrInvalid = crypto.ErrInvalid
	// ErrExpired: the cookie authenticated, but its session is past its
	// deadline. Expiry is only checked after authentication, so a forged
	// "expired" cookie is ErrInvalid.
	ErrExpired = errors.New("cookiesession: session expired")
	// ErrRevoked: the session authenticated and is within its deadline, but
	// was issued before Config.NotBefore, or Config.Revoker rejected it.
	ErrRevoked = errors.New("cookiesession: session revoked")
)

// Errors returned by the Session API.
var (
	// ErrEncode is returned when a value cannot be stored, and the session
	// is unchanged: CBOR cannot encode it (a channel, a func); it would not
	// come back as stored (a NaN or an infinity, an integer outside int64,
	// a math/big.Int, a struct with fields but none exported, a struct
	// whose fields of one name hide each other, a value that does not
	// decode back into its own type); it nests deeper than six
	// levels of arrays, maps and structs; or it contains itself.
	ErrEncode = errors.New("cookiesession: value cannot be stored in a session")
	// ErrDecode is returned when a stored value does not decode into the
	// type asked for.
	ErrDecode = errors.New("cookiesession: stored value does not decode into the requested type")
)

// Errors returned by Commit, and logged by Handler.
var (
	// ErrTooLarge: the sealed session does not fit the cookie limits
	// (one cookie, or Config.MaxChunks of them within
	// Config.MaxHeaderBytes). No Set-Cookie is sent, so the browser keeps
	// its previous cookies; the error is then a [*TooLargeError]. Set and the other storing
	// functions return it, changing nothing, for a value that alone is
	// larger than any cookie.
	ErrTooLarge = errors.New("cookiesession: session too large for a cookie")
	// ErrLate: the handler used the session after the response headers
	// were written, where Handler can no longer act on it. A change then
	// is lost (so is one before a Hijack that needed a Set-Cookie), and a
	// first read of the request's session then personalises a response
	// that went out without Vary: Cookie. Handler logs it; the message
	// says which.
	ErrLate = errors.New("cookiesession: session used after the response headers were written")
)

// ErrNoSession is returned by the methods of a nil *Session, which is what
// FromContext gives a handler that is not wrapped by [Manager.Handler].
var ErrNoSession = errors.New("cookiesession: no session: wrap the handler with Manager.Handler")

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
		if ce := (*checkError)(nil); errors.As(err, &ce) && errors.Is(context.Cause(ctx), context.Canceled) {
			// The Revoker's re-check failed because the client went away
			// (its request was canceled): no response can carry the
			// cookie. A deadline (a timeout middleware) is not that: the
			// handler's response still goes out, without the save.
			logger.LogAttrs(ctx, slog.LevelDebug, "crumb: session not saved: the client went away", name, slog.Any("error", err))
			return
		}
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
