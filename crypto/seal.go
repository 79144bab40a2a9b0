package crypto

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"io"

	"github.com/crumbhq/crumb/internal/aead"
)

const (
	// Version is the format version: the first byte of every sealed value.
	// It fixes the whole suite (XChaCha20-Poly1305, HKDF-SHA256 labels,
	// header layout); nothing in a value selects an algorithm.
	Version = 0x01

	// KeySize is the size of key material.
	KeySize = 32
	// KeyIDSize is the size of a key ID.
	KeyIDSize = 4
	// HeaderSize is the size of the header: version, chunk count, key ID.
	HeaderSize = 2 + KeyIDSize
	// NonceSize is the size of the random XChaCha20-Poly1305 nonce. At 192
	// bits, a random nonce repeats with probability about q²/2¹⁹³ after q
	// seals under one key: 2⁻⁹⁷ after 2⁴⁸ seals. No counter is needed.
	NonceSize = aead.NonceSize
	// TagSize is the size of the Poly1305 tag.
	TagSize = aead.TagSize
	// Overhead is how many bytes sealing adds to a plaintext.
	Overhead = HeaderSize + NonceSize + TagSize

	// MaxChunks is the most cookies one sealed value may be split across.
	// The chunk count is the second header byte and is authenticated.
	MaxChunks = 10
	// MaxChunkLen is the longest text of one chunk (one cookie value).
	MaxChunkLen = 4096
	// MaxTextLen is the longest text form accepted by [Decode]. Longer input
	// is rejected before any decoding.
	MaxTextLen = MaxChunks * MaxChunkLen
	// MaxSealedLen is the longest sealed value, in bytes.
	MaxSealedLen = MaxTextLen / 4 * 3
	// MaxPlaintext is the longest plaintext [Key.Seal] accepts.
	MaxPlaintext = MaxSealedLen - Overhead
	// MinTextLen is the length of the shortest text form: an empty plaintext.
	MinTextLen = (Overhead*8 + 5) / 6
	// HeaderTextLen is the length of the text that encodes the header alone:
	// the header is 6 bytes, a whole number of base64 groups, so the first 8
	// characters of any text form decode to it by themselves.
	HeaderTextLen = HeaderSize / 3 * 4
)

// strictB64 is unpadded base64url that rejects non-canonical trailing bits.
// It still skips '\r' and '\n', so inputs are checked with isBase64URL first.
var strictB64 = base64.RawURLEncoding.Strict()

// Header is the clear, authenticated start of a sealed value.
type Header struct {
	// Chunks is how many cookies the value's text form is split across:
	// 1 for a value in a single cookie, at most MaxChunks.
	Chunks int
	// KeyID names the key that sealed the value.
	KeyID KeyID
}

func (h Header) append(dst []byte) []byte {
	dst = append(dst, Version, byte(h.Chunks))
	return append(dst, h.KeyID[:]...)
}

// ParseHeader returns the header of a sealed value. It checks that the value
// is long enough to hold a header, nonce and tag and no longer than
// MaxSealedLen, that the version is [Version] and that the chunk count is
// between 1 and MaxChunks. Any failure is an [ErrInvalid] with
// ReasonMalformed.
func ParseHeader(sealed []byte) (Header, error) {
	if len(sealed) < Overhead || len(sealed) > MaxSealedLen {
		return Header{}, errMalformed
	}
	return parseHeader(sealed)
}

func parseHeader(b []byte) (Header, error) {
	if b[0] != Version || b[1] < 1 || b[1] > MaxChunks {
		return Header{}, errMalformed
	}
	h := Header{Chunks: int(b[1])}
	copy(h.KeyID[:], b[2:HeaderSize])
	return h, nil
}

// PeekHeader returns the header of a value's text form after checking the
// text's length and alphabet, decoding only its first HeaderTextLen
// characters: no allocation, no key lookup, no cryptography. It tells a
// plausible sealed value from junk, and reads the chunk count before the
// other chunks are gathered.
func PeekHeader(text string) (Header, error) {
	if len(text) < MinTextLen || len(text) > MaxTextLen || len(text)%4 == 1 || !isBase64URL(text) {
		return Header{}, errMalformed
	}
	var b [HeaderSize]byte
	if n, err := strictB64.Decode(b[:], []byte(text[:HeaderTextLen])); err != nil || n != HeaderSize {
		return Header{}, errMalformed
	}
	return parseHeader(b[:])
}

// Seal encrypts and authenticates plaintext under k with a fresh random
// nonce from crypto/rand, and appends the sealed value to dst:
//
//	version(1) ‖ chunks(1) = 1 ‖ key ID(4) ‖ nonce(24) ‖ ciphertext ‖ tag(16)
//
// The additional data is the 6-byte header followed by context, so the value
// opens only under the same context: build context with [Context], naming at
// least where the value is used (a cookie name). dst and plaintext must not
// overlap. Seal fails only for a plaintext over MaxPlaintext bytes
// ([ErrTooLong]).
func (k *Key) Seal(dst, plaintext, context []byte) ([]byte, error) {
	return k.seal(randReader{}, dst, 1, plaintext, context)
}

// randReader reads from crypto/rand at call time, so that
// testing/cryptotest.SetGlobalRandom applies.
type randReader struct{}

func (randReader) Read(b []byte) (int, error) { return rand.Read(b) }

func (k *Key) seal(r io.Reader, dst []byte, chunks int, plaintext, context []byte) ([]byte, error) {
	if len(plaintext) > MaxPlaintext || chunks < 1 || chunks > MaxChunks {
		return nil, ErrTooLong
	}
	n := len(dst)
	dst = Header{Chunks: chunks, KeyID: k.id}.append(dst)
	dst = append(dst, make([]byte, NonceSize)...)
	nonce := dst[n+HeaderSize:]
	if err := readNonce(r, nonce); err != nil {
		return nil, err
	}
	ad := appendAD(dst[n:n+HeaderSize], context)
	out, err := k.material().aead.Seal(dst, nonce, plaintext, ad)
	if err != nil {
		return nil, err // unreachable: sizes checked above
	}
	return out, nil
}

// appendAD returns header ‖ context in a new slice.
func appendAD(header, context []byte) []byte {
	ad := make([]byte, 0, HeaderSize+len(context))
	ad = append(ad, header...)
	return append(ad, context...)
}

// Open authenticates a sealed value under k and context, and appends its
// plaintext to dst. It checks the length and header before any
// cryptography, refuses a value whose key ID is not k's without decrypting
// it, and runs the AEAD at most once. Every failure is an error matching
// [ErrInvalid], with no plaintext. dst and sealed must not overlap, except
// that dst may be sealed[HeaderSize+NonceSize:HeaderSize+NonceSize] to
// decrypt in place.
func (k *Key) Open(dst, sealed, context []byte) ([]byte, error) {
	h, err := ParseHeader(sealed)
	if err != nil {
		return nil, err
	}
	if h.KeyID != k.id {
		return nil, errUnknownKey
	}
	return k.open(dst, sealed, context)
}

// open runs the AEAD on a value whose length and header have been checked.
func (k *Key) open(dst, sealed, context []byte) ([]byte, error) {
	ad := appendAD(sealed[:HeaderSize], context)
	nonce := sealed[HeaderSize : HeaderSize+NonceSize]
	out, err := k.material().aead.Open(dst, nonce, sealed[HeaderSize+NonceSize:], ad)
	if err != nil {
		return nil, errUnauthentic
	}
	return out, nil
}

// Context encodes the fields that name where a sealed value is used (for a
// cookie: a fixed label, the cookie name, the application's purpose or
// tenant) as additional data. Each field is written as its length in
// unsigned LEB128 (uvarint) followed by its bytes, so no two lists of fields
// encode alike: ("ab", "c") and ("a", "bc") differ.
func Context(fields ...string) []byte {
	n := 0
	for _, f := range fields {
		n += binary.MaxVarintLen64 + len(f)
	}
	b := make([]byte, 0, n)
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// Encode returns the text form of a sealed value: unpadded base64url
// (RFC 4648 §5), whose alphabet A–Z a–z 0–9 - _ needs no quoting in a
// cookie.
func Encode(sealed []byte) string { return base64.RawURLEncoding.EncodeToString(sealed) }

// AppendEncode appends the text form of sealed to dst.
func AppendEncode(dst, sealed []byte) []byte {
	return base64.RawURLEncoding.AppendEncode(dst, sealed)
}

// Decode returns the sealed value of a text form. It rejects, before
// decoding, text shorter than MinTextLen or longer than MaxTextLen and any
// byte outside the base64url alphabet ('=', '+', '/', spaces, quotes, CR
// and LF included); it then decodes strictly, so non-canonical trailing
// bits are refused and Encode(Decode(s)) == s for every accepted s. It
// checks the header as [ParseHeader] does. Failures match [ErrInvalid].
func Decode(text string) ([]byte, error) {
	if _, err := PeekHeader(text); err != nil {
		return nil, err
	}
	b, err := strictB64.DecodeString(text)
	if err != nil {
		return nil, errMalformed
	}
	return b, nil
}

// isBase64URL reports whether every byte of s is in the unpadded base64url
// alphabet.
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
