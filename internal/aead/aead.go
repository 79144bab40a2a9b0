// Package aead is the one AEAD construction crumb uses: XChaCha20-Poly1305
// from golang.org/x/crypto, behind length checks that turn every input the
// x/crypto implementation would panic on into an error.
//
// x/crypto panics on a nonce that is not 24 bytes and on oversized inputs,
// because for it those are programmer errors. In crumb, nonces and
// ciphertexts come from cookies, which are attacker input, so the checks
// happen here, before x/crypto is called, and no caller ever needs recover.
package aead

import (
	"crypto/cipher"
	"errors"
	"sync/atomic"

	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// KeySize is the size of an XChaCha20-Poly1305 key.
	KeySize = chacha20poly1305.KeySize
	// NonceSize is the size of an XChaCha20-Poly1305 nonce. Nonces this long
	// may be chosen at random: see the package crypto documentation.
	NonceSize = chacha20poly1305.NonceSizeX
	// TagSize is the size of the Poly1305 authentication tag.
	TagSize = chacha20poly1305.Overhead
	// MaxPlaintext is the largest plaintext Seal accepts. It is far below
	// the x/crypto limit (2^38-64 bytes); cookies are never this large.
	MaxPlaintext = 1 << 20
)

var (
	// ErrOpen is returned by Open for any input that does not authenticate,
	// whatever the reason: a wrong nonce size, a short or long ciphertext,
	// or a bad tag.
	ErrOpen = errors.New("aead: message authentication failed")
	// ErrSeal is returned by Seal for a wrong nonce size or an oversized
	// plaintext.
	ErrSeal = errors.New("aead: invalid input to Seal")
)

// AEAD is XChaCha20-Poly1305 under one key. It is safe for concurrent use.
type AEAD struct {
	c     cipher.AEAD
	opens atomic.Uint64 // AEAD opens run, for tests to count
}

// New returns the AEAD for a 32-byte key. It fails for any other key length
// and when the process runs in FIPS 140-only mode, where x/crypto refuses
// XChaCha20-Poly1305.
func New(key []byte) (*AEAD, error) {
	if len(key) != KeySize {
		return nil, errors.New("aead: key must be 32 bytes")
	}
	c, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	return &AEAD{c: c}, nil
}

// Seal appends the ciphertext and tag of plaintext to dst. The nonce must be
// NonceSize bytes and never repeat under one key. dst and plaintext may
// alias exactly or not at all.
func (a *AEAD) Seal(dst, nonce, plaintext, ad []byte) ([]byte, error) {
	if len(nonce) != NonceSize || len(plaintext) > MaxPlaintext {
		return nil, ErrSeal
	}
	return a.c.Seal(dst, nonce, plaintext, ad), nil
}

// Opens returns how many times Open has reached the AEAD of a: tests of
// every layer count them to prove that a value costs at most one.
func (a *AEAD) Opens() uint64 { return a.opens.Load() }

// Open authenticates ciphertext (which ends with the tag) and appends the
// plaintext to dst. It returns ErrOpen, and no plaintext, for any failure.
func (a *AEAD) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != NonceSize || len(ciphertext) < TagSize || len(ciphertext) > MaxPlaintext+TagSize {
		return nil, ErrOpen
	}
	a.opens.Add(1)
	out, err := a.c.Open(dst, nonce, ciphertext, ad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
