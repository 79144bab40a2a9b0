package crypto

import "io"

// Hooks for the tests in package crypto_test. They exist only in test
// builds.

// SealWith is [Key.Seal] with an injected randomness source and chunk
// count, so that tests can fix, observe and break the nonce.
func (k *Key) SealWith(r io.Reader, dst []byte, chunks int, plaintext, additionalData []byte) ([]byte, error) {
	return k.seal(r, dst, chunks, plaintext, additionalData)
}

// Opens returns how many AEAD opens k has run.
func (k *Key) Opens() uint64 { return k.material().aead.Opens() }

// NewKeyUnchecked is [NewKey] without the weak-key check, for the published
// sample keys of the test vectors.
var NewKeyUnchecked = newKey

// SampleSecrets are the published sample keys that NewKey refuses.
var SampleSecrets = sampleSecrets

// ErrRandom is what sealing returns when the randomness source fails.
var ErrRandom = errRandom
