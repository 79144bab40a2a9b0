package crypto

import (
	"io"

	"github.com/crumbhq/crumb/internal/testhook"
)

// Hooks for the tests in package crypto_test. They exist only in test
// builds.

// SealWith is [Key.Seal] with an injected randomness source and chunk
// count, so that tests can fix, observe and break the nonce.
func (k *Key) SealWith(r io.Reader, dst []byte, chunks int, plaintext, additionalData []byte) ([]byte, error) {
	return k.seal(r, dst, chunks, plaintext, additionalData)
}

// Opens returns how many AEAD opens k has run, through the hook the other
// packages' tests use, so that the hook itself is tested here.
func (k *Key) Opens() uint64 { return testhook.Opens(k) }

// NewKeyUnchecked is [NewKey] without the weak-key check, for the published
// sample keys of the test vectors: the hook the other packages' tests use.
func NewKeyUnchecked(secret []byte) (*Key, error) {
	k, err := testhook.NewKeyUnchecked(secret)
	if err != nil {
		return nil, err
	}
	return k.(*Key), nil
}

// SampleSecrets are the published sample keys that NewKey refuses.
var SampleSecrets = sampleSecrets

// ErrRandom is what sealing returns when the randomness source fails.
var ErrRandom = errRandom
