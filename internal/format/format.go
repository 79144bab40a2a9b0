// Package format is crumb's wire format in one place: the sizes, the
// header, the text form and the additional data of a sealed value, as
// docs/FORMAT.md specifies them. It holds no keys and does no
// cryptography; package crypto seals and opens, and the session layer
// reads cookies with [Parse], which validates a text form once and hands
// the sealed bytes down.
//
// Functions report failure with a bool: every failure here is a malformed
// value, and the caller turns it into its own uniform error.
package format

import (
	"encoding/base64"
	"encoding/binary"
)

// Sizes, in bytes unless they say characters.
const (
	// Version is the format version: the first byte of every sealed value.
	// It fixes the whole suite (XChaCha20-Poly1305, HKDF-SHA256 labels,
	// header layout); nothing in a value selects an algorithm.
	Version = 0x01
	// KeyIDSize is the size of a key ID.
	KeyIDSize = 4
	// HeaderSize is the size of the header: version, chunk count, key ID.
	HeaderSize = 2 + KeyIDSize
	// NonceSize is the size of the random XChaCha20-Poly1305 nonce.
	NonceSize = 24
	// TagSize is the size of the Poly1305 tag.
	TagSize = 16
	// Overhead is what sealing adds to a plaintext.
	Overhead = HeaderSize + NonceSize + TagSize

	// MaxChunks is the most cookies one sealed value may be split across.
	MaxChunks = 10
	// MaxChunkLen is the longest text of one chunk (one cookie value), in
	// characters.
	MaxChunkLen = 4096
	// MaxTextLen is the longest text form, in characters.
	MaxTextLen = MaxChunks * MaxChunkLen
	// MaxSealedLen is the longest sealed value.
	MaxSealedLen = MaxTextLen / 4 * 3
	// MaxPlaintext is the longest plaintext that can be sealed.
	MaxPlaintext = MaxSealedLen - Overhead
	// MinTextLen is the length of the shortest text form, in characters:
	// that of an empty plaintext.
	MinTextLen = (Overhead*8 + 5) / 6
	// HeaderTextLen is the length of the text that encodes the header
	// alone: the header is 6 bytes, two whole base64 groups, so the first
	// 8 characters of any text form decode to it by themselves.
	HeaderTextLen = HeaderSize / 3 * 4
)

// Header is the clear, authenticated start of a sealed value.
type Header struct {
	// Chunks is how many cookies the value's text form is split across:
	// 1 for a value in a single cookie, at most MaxChunks.
	Chunks int
	// KeyID names the key that sealed the value.
	KeyID [KeyIDSize]byte
}

// Append appends the header's encoding to dst.
func (h Header) Append(dst []byte) []byte {
	dst = append(dst, Version, byte(h.Chunks))
	return append(dst, h.KeyID[:]...)
}

// ParseHeader returns the header of a sealed value after checking that the
// value is long enough to hold a header, nonce and tag and no longer than
// MaxSealedLen, that the version is Version and that the chunk count is
// between 1 and MaxChunks.
func ParseHeader(sealed []byte) (Header, bool) {
	if len(sealed) < Overhead || len(sealed) > MaxSealedLen {
		return Header{}, false
	}
	return parseHeader(sealed)
}

func parseHeader(b []byte) (Header, bool) {
	if b[0] != Version || b[1] < 1 || b[1] > MaxChunks {
		return Header{}, false
	}
	h := Header{Chunks: int(b[1])}
	copy(h.KeyID[:], b[2:HeaderSize])
	return h, true
}

// strict is unpadded base64url that rejects non-canonical trailing bits.
// It still skips '\r' and '\n', so texts are checked with validText first.
var strict = base64.RawURLEncoding.Strict()

// PeekHeader returns the header of a text form after checking the text's
// length and alphabet, decoding only its first HeaderTextLen characters: no
// allocation, no key lookup, no cryptography. It tells a plausible sealed
// value from junk, and reads the chunk count before the other chunks are
// gathered.
func PeekHeader(text string) (Header, bool) {
	if !validText(text) {
		return Header{}, false
	}
	return HeaderOf(text)
}

// HeaderOf returns the header that a text form, or the first chunk of a
// chunked one, begins with, checking and decoding only its first
// HeaderTextLen characters. It reads the chunk count of a chunked value
// before the other chunks are looked up; the whole text is validated by
// [Parse] once they are gathered.
func HeaderOf(first string) (Header, bool) {
	if len(first) < HeaderTextLen {
		return Header{}, false
	}
	var b [HeaderSize]byte
	for i := range HeaderTextLen {
		if !alphabet[first[i]] {
			return Header{}, false
		}
	}
	if n, err := strict.Decode(b[:], []byte(first[:HeaderTextLen])); err != nil || n != HeaderSize {
		return Header{}, false
	}
	return parseHeader(b[:])
}

// SealChunks seals plaintext under key, a *crypto.Key, exactly as its Seal
// method does but with chunks as the header's chunk count: the value whose
// text form the session layer splits across chunks cookies. plaintext may
// also sit exactly where its ciphertext goes, at dst[len(dst)+Overhead-
// TagSize:], to seal in place. Package crypto sets it when it is
// initialised.
var SealChunks func(key any, dst []byte, chunks int, plaintext, additionalData []byte) ([]byte, error)

// EncodedLen returns the length of the text form of a sealed value of n
// bytes.
func EncodedLen(n int) int { return base64.RawURLEncoding.EncodedLen(n) }

// Value is a text form that Parse accepted.
type Value struct {
	Header Header
	// Sealed is the decoded value: header, nonce, ciphertext and tag.
	Sealed []byte
}

// Parse validates a text form once, with the checks docs/FORMAT.md gives
// (length, alphabet, header, strict and canonical decoding, length of the
// result), and returns the header and the sealed bytes, ready to open with
// the key the header names. The strict decoder checks the alphabet as it
// goes, all but '\r' and '\n', which it skips: a text holding one
// decodes to fewer bytes than its length gives, which is checked. So
// Encode(Parse(s).Sealed) == s for every accepted s.
func Parse(text string) (Value, bool) { return ParseInto(nil, text) }

// ParseInto is Parse, decoding into dst's spare capacity when it is
// enough, so that a caller can reuse a buffer.
func ParseInto(dst []byte, text string) (Value, bool) {
	if !ValidLength(len(text)) {
		return Value{}, false
	}
	h, ok := HeaderOf(text)
	if !ok {
		return Value{}, false
	}
	n := strict.DecodedLen(len(text))
	b := dst[:0]
	if cap(b) < n {
		b = make([]byte, n)
	}
	b = b[:n]
	m, err := strict.Decode(b, []byte(text))
	if err != nil || m != n || m < Overhead {
		return Value{}, false // a skipped '\r' or '\n' makes it shorter
	}
	return Value{Header: h, Sealed: b}, true
}

// ValidLength reports whether n characters can be a text form.
func ValidLength(n int) bool { return n >= MinTextLen && n <= MaxTextLen && n%4 != 1 }

// validText checks a text form's length and alphabet.
func validText(text string) bool {
	if !ValidLength(len(text)) {
		return false
	}
	for i := 0; i < len(text); i++ {
		if !alphabet[text[i]] {
			return false
		}
	}
	return true
}

// alphabet marks the bytes of the unpadded base64url alphabet.
var alphabet = func() (a [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		a[c] = true
	}
	return a
}()

// Encode returns the text form of a sealed value: unpadded base64url
// (RFC 4648 §5), whose alphabet A–Z a–z 0–9 - _ needs no quoting in a
// cookie.
func Encode(sealed []byte) string { return base64.RawURLEncoding.EncodeToString(sealed) }

// AppendEncode appends the text form of sealed to dst.
func AppendEncode(dst, sealed []byte) []byte {
	return base64.RawURLEncoding.AppendEncode(dst, sealed)
}

// AdditionalData encodes the fields that name where a sealed value is used
// (for a cookie: a fixed label and the cookie name) as the tail of its
// additional data. Each field is written as its length in unsigned LEB128
// (uvarint) followed by its bytes, so no two lists of fields encode alike:
// ("ab", "c") and ("a", "bc") differ.
func AdditionalData(fields ...string) []byte {
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
