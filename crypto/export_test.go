package crypto

import "io"

// Hooks for the tests in package crypto_test. They exist only in test
// builds.

// SealWith is [Key.Seal] with an injected randomness source and chunk
// count, so that tests can fix, observe and break the nonce.
func (k *Key) SealWith(r io.Reader, dst []byte, chunks int, plaintext, context []byte) ([]byte, error) {
	return k.seal(r, dst, chunks, plaintext, context)
}

// NewKeyUnchecked is [NewKey] without the weak-key check, for the published
// sample keys of the test vectors.
var NewKeyUnchecked = newKey

// SampleSecrets are the published sample keys that NewKey refuses.
var SampleSecrets = sampleSecrets
