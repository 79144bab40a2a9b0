package cookiesession

import (
	"errors"
	"fmt"

	"github.com/crumbhq/crumb/crypto"
)

// Errors reported to Config.OnError and Config.Logger when an incoming
// cookie cannot become a session. The request itself never fails: the
// handler sees a fresh, empty session.
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
	// ErrEncode is returned when a value cannot be stored: CBOR cannot
	// encode it (a channel, a func, a NaN, a big.Int), or it nests deeper
	// than crumb's decoder accepts. The session is unchanged.
	ErrEncode = errors.New("cookiesession: value cannot be stored in a session")
	// ErrDecode is returned when a stored value does not decode into the
	// type asked for.
	ErrDecode = errors.New("cookiesession: stored value does not decode into the requested type")
)

// Errors returned by Commit and Save, and reported by Handler.
var (
	// ErrTooLarge: the sealed session does not fit in one cookie. No
	// Set-Cookie is sent, so the browser keeps its previous cookie. The
	// error is a [*TooLargeError].
	ErrTooLarge = errors.New("cookiesession: session too large for a cookie")
	// ErrLateChange: the handler changed the session after the response
	// headers were sent. The change was not saved.
	ErrLateChange = errors.New("cookiesession: session changed after the response headers were written; the change is lost")
)

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
