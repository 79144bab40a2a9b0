package crypto

import "fmt"

// InsecureTestKey returns the key for secret like [NewKey], but without
// refusing weak keys or the sample keys published with crumb. It exists so
// that test vectors, which use published keys on purpose, can be checked
// through the public API. Never use it for a key that protects anything.
func InsecureTestKey(secret []byte) (*Key, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("%w: key material must be %d bytes, got %d", ErrKey, KeySize, len(secret))
	}
	return newKey(secret)
}
