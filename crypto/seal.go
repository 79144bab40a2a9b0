package crypto

import (
	"crypto/rand"
	"io"
	"sync"

	"github.com/crumbhq/crumb/internal/format"
)

const (
	// KeySize is the size of key material.
	KeySize = 32
	// Overhead is how many bytes sealing adds to a plaintext: a 6-byte
	// header (format version, chunk count, key ID), a 24-byte random nonce
	// and a 16-byte tag. At 192 bits, a random nonce repeats with
	// probability about q²/2¹⁹³ after q seals under one key: 2⁻⁹⁷ after
	// 2⁴⁸ seals. No counter is needed, and no usage limit applies in
	// practice.
	Overhead = format.Overhead
	// MaxPlaintext is the longest plaintext [Key.Seal] accepts: what fits
	// the longest value the format allows (ten 4096-character cookies).
	MaxPlaintext = format.MaxPlaintext
)

// Seal encrypts and authenticates plaintext under k with a fresh random
// nonce from crypto/rand, and appends the sealed value to dst:
//
//	version(1) ‖ chunks(1) = 1 ‖ key ID(4) ‖ nonce(24) ‖ ciphertext ‖ tag(16)
//
// The additional data is the 6-byte header followed by additionalData, so
// the value opens only with the same additionalData: make it name where
// the value is used (a cookie name, a purpose). dst and plaintext must not
// overlap. Seal fails only for a plaintext over MaxPlaintext bytes
// ([ErrTooLong]). Most users won't need this: package cookiesession seals
// sessions.
func (k *Key) Seal(dst, plaintext, additionalData []byte) ([]byte, error) {
	return k.seal(randReader{}, dst, 1, plaintext, additionalData)
}

// randReader reads from crypto/rand at call time, so that
// testing/cryptotest.SetGlobalRandom applies.
type randReader struct{}

func (randReader) Read(b []byte) (int, error) { return rand.Read(b) }

func (k *Key) seal(r io.Reader, dst []byte, chunks int, plaintext, additionalData []byte) ([]byte, error) {
	if len(plaintext) > MaxPlaintext || chunks < 1 || chunks > format.MaxChunks {
		return nil, ErrTooLong
	}
	n := len(dst)
	dst = format.Header{Chunks: chunks, KeyID: k.id}.Append(dst)
	dst = append(dst, make([]byte, format.NonceSize)...)
	nonce := dst[n+format.HeaderSize:]
	if err := readNonce(r, nonce); err != nil {
		return nil, err
	}
	ad := getAD(dst[n:n+format.HeaderSize], additionalData)
	out, err := k.material().aead.Seal(dst, nonce, plaintext, *ad)
	putAD(ad)
	if err != nil {
		return nil, err // unreachable: sizes checked above
	}
	return out, nil
}

// adPool holds the buffers that the additional data, header ‖
// additionalData, is assembled in: the AEAD reads it and keeps nothing.
var adPool = sync.Pool{New: func() any { return new([]byte) }}

// getAD returns header ‖ additionalData in a buffer from adPool; putAD
// returns it.
func getAD(header, additionalData []byte) *[]byte {
	b := adPool.Get().(*[]byte)
	*b = append(append((*b)[:0], header...), additionalData...)
	return b
}

func putAD(b *[]byte) {
	if cap(*b) <= 1024 {
		adPool.Put(b)
	}
}

// Open authenticates a sealed value under k and additionalData, and
// appends its plaintext to dst. It checks the length and header before any
// cryptography, refuses a value whose key ID is not k's without decrypting
// it, and runs the AEAD at most once. Every failure is an error matching
// [ErrInvalid], with no plaintext. dst and sealed must not overlap, except
// that dst may be sealed[30:30] (after the header and nonce) to decrypt in
// place.
func (k *Key) Open(dst, sealed, additionalData []byte) ([]byte, error) {
	h, ok := format.ParseHeader(sealed)
	if !ok {
		return nil, errMalformed
	}
	if h.KeyID != k.id {
		return nil, errUnknownKey
	}
	ad := getAD(sealed[:format.HeaderSize], additionalData)
	nonce := sealed[format.HeaderSize : format.HeaderSize+format.NonceSize]
	out, err := k.material().aead.Open(dst, nonce, sealed[format.HeaderSize+format.NonceSize:], *ad)
	putAD(ad)
	if err != nil {
		return nil, errUnauthentic
	}
	return out, nil
}
