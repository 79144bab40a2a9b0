package cookiesession

import (
	"errors"
	"fmt"

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
	// a math/big.Int, a struct with fields but none exported, a value that
	// does not decode back into its own type); it nests deeper than six
	// levels of arrays, maps and structs; or it contains itself.
	ErrEncode = errors.New("cookiesession: value cannot be stored in a session")
	// ErrDecode is returned when a stored value does not decode into the
	// type asked for.
	ErrDecode = errors.New("cookiesession: stored value does not decode into the requested type")
)

// Errors returned by Commit, and logged by Handler.
var (
	// ErrTooLarge: the sealed session does not fit in one cookie. No
	// Set-Cookie is sent, so the browser keeps its previous cookie; the
	// error is then a [*TooLargeError]. Set and the other storing
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

// TooLargeError reports a session whose cookie would exceed the limit.
type TooLargeError struct {
	// Size is the length of the Set-Cookie header value that would have
	// been sent, or of the cookie's name and value where that is the
	// larger excess.
	Size int
	// Limit is the limit it exceeds (Config.MaxCookieSize, or 4096 for
	// name and value).
	Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%v: %d bytes, limit %d", ErrTooLarge, e.Size, e.Limit)
}

// Is reports whether target is ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }
