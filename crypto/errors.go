package crypto

import "errors"

// ErrInvalid is the one error for a sealed value that cannot be used: it is
// malformed, names a key the caller does not hold, or fails authentication.
// Every such failure matches it with [errors.Is], and its message is the same
// whatever the cause, so a client cannot learn which check failed. The cause
// is kept for the operator: see [ReasonOf].
var ErrInvalid = errors.New("crumb: invalid sealed value")

// ErrKey is returned when key material or a key's text form is malformed:
// a wrong length, a bad encoding, or a key ID that does not match the key.
// Its messages never contain key material.
var ErrKey = errors.New("crumb: invalid key")

// ErrWeakKey is returned for well-formed key material that crumb refuses to
// use because it is plainly not random (see [NewKey] for the rules: all
// bytes equal or counting in steps, text, too few distinct byte values), or
// is a sample key published in crumb's documentation, test vectors or
// examples. The message says which rule the material broke, never what it
// holds.
var ErrWeakKey = errors.New("crumb: refusing a weak key")

// ErrTooLong is returned by Seal for a plaintext longer than MaxPlaintext.
var ErrTooLong = errors.New("crumb: plaintext too long to seal")

// errRandom is returned by sealing when the randomness source fails,
// returns too few bytes, or returns an all-zero nonce. With crypto/rand it
// does not happen: Go crashes the program rather than return bad
// randomness. Tests inject failing sources.
var errRandom = errors.New("crumb: randomness source failed")

// Reason says why a value was rejected as [ErrInvalid]. It is for logs and
// metrics; never send it to the client.
type Reason uint8

const (
	// ReasonUnknown is the zero Reason, for errors that carry none.
	ReasonUnknown Reason = iota
	// ReasonMalformed: a wrong length, a byte outside the base64url
	// alphabet, non-canonical base64, an unknown version or a bad chunk
	// count. Checked before any key lookup or cryptography.
	ReasonMalformed
	// ReasonUnknownKey: the key ID names no key the caller holds. Nothing
	// was decrypted.
	ReasonUnknownKey
	// ReasonUnauthentic: the AEAD tag did not verify (tampering, a value
	// moved to another context, or a forgery).
	ReasonUnauthentic
	// ReasonPayload: the value authenticated, but its plaintext is not a
	// payload the caller accepts (set by higher layers such as
	// cookiesession).
	ReasonPayload
)

func (r Reason) String() string {
	switch r {
	case ReasonMalformed:
		return "malformed"
	case ReasonUnknownKey:
		return "unknown key"
	case ReasonUnauthentic:
		return "unauthentic"
	case ReasonPayload:
		return "bad payload"
	default:
		return "unknown"
	}
}

// invalidError is the concrete error behind ErrInvalid. Its Error method
// returns the same text for every reason.
type invalidError struct {
	reason Reason
}

func (e *invalidError) Error() string { return ErrInvalid.Error() }

// Is reports whether target is ErrInvalid.
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// ReasonOf returns the Reason carried by err, or ReasonUnknown if err does
// not match [ErrInvalid].
func ReasonOf(err error) Reason {
	// errors.As, by hand: it would allocate, and rejecting hostile input
	// should not.
	for err != nil {
		switch e := err.(type) {
		case *invalidError:
			return e.reason
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, err := range e.Unwrap() {
				if r := ReasonOf(err); r != ReasonUnknown {
					return r
				}
			}
			return ReasonUnknown
		default:
			return ReasonUnknown
		}
	}
	return ReasonUnknown
}

// Preallocated errors: rejecting hostile input should not allocate.
var (
	errMalformed   = &invalidError{reason: ReasonMalformed}
	errUnknownKey  = &invalidError{reason: ReasonUnknownKey}
	errUnauthentic = &invalidError{reason: ReasonUnauthentic}
	errPayload     = &invalidError{reason: ReasonPayload}
)

// Invalid returns the [ErrInvalid] error for reason r, for a layer above
// this one that rejects a value for its own reasons (ReasonPayload), or
// finds it malformed before it reaches a key, with the same uniform error.
// Most users won't need this.
func Invalid(r Reason) error {
	switch r {
	case ReasonMalformed:
		return errMalformed
	case ReasonUnknownKey:
		return errUnknownKey
	case ReasonUnauthentic:
		return errUnauthentic
	case ReasonPayload:
		return errPayload
	}
	return &invalidError{reason: r}
}
